"""Care proceedings: pre-proceedings, the family court and its hearing capacity.

Pre-proceedings work lasts an exponential time (shortened by strong legal services);
a family group conference, where offered, may find family carers and divert the case
from court. Otherwise an application is issued and the case needs a number of hearings
(1 + Poisson), each after a preparation interval (evidence, expert assessments; shortened
by strong legal services and compressed where a time limit applies) and each waiting
for the court: a single first-come-first-served list whose service time is the hearing
length in court days spread over the court days a week available to this LA's cases.
A child already looked after when the application is made (voluntarily, or after
emergency protection) is looked after on an interim care order for the whole of the
proceedings (stage ``interim_care``); a child at home is removed on an interim care order
at the first hearing with chance ``interim_removal_share`` (``looked_after_started``,
``interim``). Looked after on an interim order is looked after, as in the national
return.

The case ends (``proceedings_ended``) with a care order, with a placement order (the
plan is adoption: with chance ``placement_order_share`` of orders, and only for a child
below ``care.adoption_max_age``), with special guardianship or another order placing
the child with family (chance ``family_order_share`` of orders; the child leaves care
and children's services), or the child stays or returns home with a child-in-need plan
(chance ``1 - order_share``). A child at home who gets a care or placement order starts
to be looked after then (``order``).

Without a time limit (``time_limit_weeks = 0``, the 2010 baseline) each preparation
interval is exponential with mean ``interval_days / legal_quality``, read when the
interval starts (so better legal services also speed cases already in court).

A time limit (the 26 weeks of the Children and Families Act 2014) is a target, not a
guarantee. Each case issued under it is timetabled at issue, from its own number of
hearings: every interval is ``min_interval_days`` (what a hearing needs whatever the
timetable: notice, the filing of statements and expert reports) plus a compressible
remainder, exponential with mean ``interval_days / legal_quality - min_interval_days``
(at least 0). Where the case's expected preparation (its hearings' intervals, plus the
court time of its hearings) exceeds the limit, the remainder's mean is squeezed by one
factor so that it fits exactly; never below the minimum. A case that cannot fit is
given an extension (``extension_granted``, detail ``minimum``: its minimum intervals
alone exceed the limit; it gets as many extensions of ``extension_weeks`` as it needs),
and a case that does not fit needs one with chance ``extension_share`` (detail
``evidence``: further expert evidence), in which case it is timetabled to the limit plus
``extension_weeks`` instead. The timetable sets means, not dates: preparation still
varies around it, and queueing for the court is not compressed, so a case can still
overrun. Under a limit, pre-proceedings work lasts ``pre_proceedings_frontload`` times
longer (the Public Law Outline front-loads assessments before issue), at the same
workload weight. Cases issued before a limit starts keep their untimetabled intervals
(the limit of 2014 applied to applications issued after it came into force).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy
from simpy.events import Timeout

from sim.clock import YEAR
from sim.model.child import INTERIM, NOT_LOOKED_AFTER, ORDER, PLACEMENT

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.child import Child
    from sim.model.simulation import Model


class Court:
    """Pre-proceedings work and the family court for one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self.resource = simpy.Resource(model.env, capacity=1)
        self.rng = model.rng.court
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        legal = p["court.legal_quality"]
        #: time limit on proceedings (calendar days; 0: none)
        self.limit_days = p["court.time_limit_weeks"] * 7.0
        self.pre_days = p["court.pre_proceedings_days"] / legal
        if self.limit_days > 0:  # the Public Law Outline front-loads work before issue
            self.pre_days *= p["court.pre_proceedings_frontload"]
        self.fgc_share = p["court.fgc_share"]
        self.fgc_diversion = p["court.fgc_diversion"]
        self.hearings_mean = p["court.hearings_mean"]
        #: mean preparation interval between hearings (calendar days), before any timetable
        self.interval_days = p["court.interval_days"] / legal
        #: part of every interval no timetable compresses (calendar days)
        self.min_interval = p["court.min_interval_days"]
        self.extension_share = p["court.extension_share"]
        #: length of one extension of the limit (calendar days)
        self.extension_days = p["court.extension_weeks"] * 7.0
        #: calendar days of court time per court day of hearing
        self.day_factor = 7.0 / p["court.sitting_days_per_week"]
        self.hearing_days = p["court.hearing_days"]
        self.final_days = p["court.final_hearing_days"]
        self.order_share = p["court.order_share"]
        self.family_share = p["court.family_order_share"]
        self.placement_share = p["court.placement_order_share"]
        self.adoption_days = p["care.adoption_max_age"] * YEAR
        self.interim_share = p["court.interim_removal_share"]

    def pre_proceedings(self, m: Model, child: Child):
        """Step: pre-proceedings work, perhaps a family group conference, then court."""
        rng = self.rng
        m.log(child, "pre_proceedings_started", "pre_proceedings")
        m.workforce.reweight(child, "proceedings")
        yield Timeout(m.env, rng.exponential(self.pre_days))
        if rng.random() < self.fgc_share:
            m.log(child, "fgc_held")
            if rng.random() < self.fgc_diversion:
                child.tier = 2
                m.log(child, "diverted")
                return m.protection.cin_plan
        return self.proceedings

    def timetable(self, m: Model, child: Child, n: int) -> tuple[float, float]:
        """The timetable of a case of ``n`` hearings issued under the time limit.

        Returns ``(floor, spread)`` in calendar days: each preparation interval of the
        case lasts ``floor + Exponential(mean=spread)``, where ``floor`` is the minimum
        interval and ``spread`` the (perhaps squeezed) mean of the compressible remainder.
        The case's target is the limit less the court time of its own hearings; an
        expected preparation ``n * (floor + remainder)`` above it is squeezed to it, or to
        the limit plus an extension (logged ``extension_granted`` now) where the hearings'
        minimum intervals alone exceed the target (``minimum``: as many extensions as it
        takes) or, with chance ``extension_share``, the case needs further expert
        evidence (``evidence``: one extension). Draws one uniform from the court stream
        for every case (so scenarios with a limit stay aligned whatever the case needs).
        """
        floor = self.min_interval
        remainder = max(self.interval_days - floor, 0.0)
        evidence = self.rng.random() < self.extension_share
        hearing_time = ((n - 1) * self.hearing_days + self.final_days) * self.day_factor
        target = self.limit_days - hearing_time
        need = n * (floor + remainder)  # the case's expected preparation, unsqueezed
        if need <= target:
            return floor, remainder
        minimum = n * floor
        ext = self.extension_days
        if minimum > target:
            if ext > 0:
                target += math.ceil((minimum - target) / ext) * ext
            target = max(target, minimum)
            m.log(child, "extension_granted", detail="minimum")
        elif evidence and ext > 0:
            target += ext
            m.log(child, "extension_granted", detail="evidence")
        if need <= target:
            return floor, remainder
        return floor, remainder * (target - minimum) / (need - minimum)

    def proceedings(self, m: Model, child: Child):
        """Step: care proceedings from application to final hearing."""
        rng = self.rng
        env = m.env
        prot = m.protection
        if child.legal != NOT_LOOKED_AFTER:  # already looked after: an interim order
            child.legal = INTERIM
            m.log(child, "care_application", "interim_care")
        else:
            m.log(child, "care_application", "proceedings")
        if child.post < 0 and not child.ticket:  # in proceedings when the run starts
            yield from prot._allocate(m, child, "proceedings", urgent=True)
        n = 1 + rng.poisson(self.hearings_mean - 1.0)
        timetable = self.timetable(m, child, n) if self.limit_days > 0 else None
        for i in range(n):
            if timetable is None:  # no limit: read the interval now (exactly as in 2010)
                yield Timeout(env, rng.exponential(self.interval_days))
            else:
                yield Timeout(env, timetable[0] + rng.exponential(timetable[1]))
            length = self.final_days if i == n - 1 else self.hearing_days
            with self.resource.request() as req:
                yield req
                yield Timeout(env, rng.exponential(length * self.day_factor))
            m.log(child, "hearing")
            if i == 0 and child.legal == NOT_LOOKED_AFTER and i < n - 1 and (
                    rng.random() < self.interim_share):
                prot.accommodate(child, INTERIM, "interim_care")
        u = rng.random()
        in_care = child.legal != NOT_LOOKED_AFTER
        if u < self.order_share:
            v = u / self.order_share  # uniform again, within the orders
            if v < self.family_share:
                m.log(child, "proceedings_ended", detail="family")
                if in_care:
                    prot._leave(child, "family")
                else:
                    m.workforce.release(child)
                    child.tier = 0
                    child.known = -1
                    m.log(child, "closed", "left")
                return None
            young = env._now - child.birth < self.adoption_days
            placement = young and rng.random() < self.placement_share
            legal = PLACEMENT if placement else ORDER
            m.log(child, "proceedings_ended", "looked_after" if in_care else None,
                  detail="placement" if placement else "order")
            if in_care:
                child.legal = legal
            else:
                prot.accommodate(child, legal)
            return prot.looked_after
        child.tier = 2
        m.log(child, "proceedings_ended", detail="home")
        if in_care:
            m.log(child, "looked_after_ended", detail="home")
            prot.leave_care(child)
            child.returned = env._now
        return prot.cin_plan
