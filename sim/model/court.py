"""Care proceedings: pre-proceedings, the family court and its hearing capacity.

Pre-proceedings work lasts an exponential time (shortened by strong legal services);
a family group conference, where offered, may find family carers and divert the case
from court. Otherwise an application is issued and the case needs a number of hearings
(1 + Poisson), each after a preparation interval (evidence, expert assessments; shortened
by strong legal services and compressed where a time limit applies) and each waiting
for the court: a single first-come-first-served list whose service time is the hearing
length in court days spread over the court days a week available to this LA's cases.
The case ends with a care order (the child is looked after) or the child returns home
with a child-in-need plan.

A time limit (``time_limit_weeks``) compresses preparation so that expected
preparation takes at most 80% of the limit; court queueing is not compressed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy
from simpy.events import Timeout

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
        self.w_proceedings = p["weights.proceedings"]

    def pre_proceedings(self, m: Model, child: Child):
        """Step: pre-proceedings work, perhaps a family group conference, then court."""
        rng = self.rng
        m.log(child, "pre_proceedings_started", "pre_proceedings")
        m.workforce.reweight(child, self.w_proceedings)
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
        m.log(child, "care_application", "proceedings")
        if child.post < 0 and not child.ticket:  # in proceedings when the run starts
            yield from m.protection._allocate(m, child, self.w_proceedings)
        n = 1 + rng.poisson(self.hearings_mean - 1.0)
        for i in range(n):
            yield Timeout(env, rng.exponential(self.interval_days))
            length = self.final_days if i == n - 1 else self.hearing_days
            with self.resource.request() as req:
                yield req
                yield Timeout(env, rng.exponential(length * self.day_factor))
            m.log(child, "hearing")
        if rng.random() < self.order_share:
            child.care_order = True
            m.log(child, "proceedings_ended", detail="order")
            return m.protection.looked_after
        child.tier = 2
        m.log(child, "proceedings_ended", detail="home")
        return m.protection.cin_plan
