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

A time limit (``time_limit_weeks``) compresses preparation so that expected
preparation takes at most 80% of the limit; court queueing is not compressed.
"""

from __future__ import annotations

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
        self.pre_days = p["court.pre_proceedings_days"] / legal
        self.fgc_share = p["court.fgc_share"]
        self.fgc_diversion = p["court.fgc_diversion"]
        self.hearings_mean = p["court.hearings_mean"]
        self.interval_days = p["court.interval_days"] / legal
        limit = p["court.time_limit_weeks"] * 7.0
        expected_prep = self.hearings_mean * self.interval_days
        if limit > 0 and expected_prep > 0.8 * limit:
            self.interval_days *= 0.8 * limit / expected_prep
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
        for i in range(n):
            yield Timeout(env, rng.exponential(self.interval_days))
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
