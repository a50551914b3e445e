"""Child protection: decisions, section 47, conferences, plans and children looked after.

Decision after an assessment on the judged tier: 0 closes the case; 1 closes it and
signposts early help; 2 starts a child-in-need plan; 3 starts a strategy discussion and
a section 47 enquiry (run as a core assessment unless one was just done; under the
flexible policy, as a single assessment with no enforced deadline), then, where the
enquiry's signal of need reaches ``icpc_threshold`` (concerns substantiated), an initial
child protection conference no sooner than 15 working days after the strategy
discussion; below it, a child judged tier 2 or 3 gets a child-in-need plan. The
conference (a multi-agency view: noise between the assessment's and ``conference_sd``)
decides a child protection plan (judged 3), a child-in-need plan (2) or closure.

Plans take the worker's time (the case's workload weight). Between reviews, help works
(need falls one tier) with hazard ``(help_base_rate + help_efficacy x direct hours a month
on the case x expertise) / (complexity x tier)``: other agencies on the plan help whatever
the worker's time, and deeper or more complex need takes longer to shift. The worker's
part is reduced by ``continuity_penalty`` in the first ``relationship_months``
with a new worker; need may also rise (``escalation_on_plan``).

Reviews come ``first_review_months`` after the start, then every
``review_interval_months``. A review is multi-agency: its noise is the mean of the
worker's (which falls with the direct hours the current worker has spent on the case, so
a new worker, or none, judges worse) and ``conference_sd``. A child protection plan
changes only on strong evidence, either way: with a signal of need at the urgent
threshold it may go to pre-proceedings after ``proceedings_after_months`` or the child
may be accommodated (looked after, section 20); it ends only when the signal falls as
far below tier 3's cut point (2.5) as the urgent threshold lies above it, stepping down
to a child-in-need plan if the child is judged tier 2 and closing if lower. A child-in-
need plan escalates to section 47 on strong evidence only (a child judged tier 3 on
weaker evidence stays on the plan), closes when judged tier 1 or lower, and, with chance
``cin_step_down_share`` at each review, closes while still judged tier 2 (stepped down
to targeted services, or the family disengages; the need goes back to the community).

Children looked after leave care with a constant hazard (lower under a care order); on
leaving, need falls by two tiers (an assumption) and the case closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simpy.events import Timeout

from sim.clock import MONTH, YEAR, working_days_to_days
from sim.model.front_door import classify
from sim.model.workforce import WEEKS_PER_MONTH

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.child import Child
    from sim.model.simulation import Model


class Protection:
    """Section 47, conferences, plans and looked-after children of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self.rng = model.rng.help
        self.drng = model.rng.decisions
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        self.icpc_days = working_days_to_days(p["protection.icpc_timescale_wd"])
        self.conf_sd = p["protection.conference_sd"]
        self.icpc_threshold = p["protection.icpc_threshold"]
        self.first_review = p["protection.first_review_months"] * MONTH
        self.review_interval = p["protection.review_interval_months"] * MONTH
        self.efficacy = p["protection.help_efficacy"] / MONTH
        self.base_help = p["protection.help_base_rate"] / YEAR
        self.penalty = p["protection.continuity_penalty"]
        self.relationship = p["protection.relationship_months"] * MONTH
        self.esc = p["protection.escalation_on_plan"] / YEAR
        self.step_down = p["protection.cin_step_down_share"]
        self.accommodate = p["protection.accommodation_share"]
        self.proceed = p["protection.proceedings_share"]
        self.proceed_after = p["protection.proceedings_after_months"] * MONTH
        self.lac_exit = p["protection.looked_after_exit_rate"] / YEAR
        self.order_exit = p["protection.care_order_exit_rate"] / YEAR
        self.escalate_threshold = p["front_door.urgent_threshold"]
        self.core_effort = p["assessment.core_effort_hours"]
        self.ia_effort = p["assessment.initial_effort_hours"]
        self.w = {
            "s47": p["weights.s47"],
            "cin_plan": p["weights.cin_plan"],
            "cp_plan": p["weights.cp_plan"],
            "looked_after": p["weights.looked_after"],
        }

    # -- decisions ----------------------------------------------------------------------
    def after_assessment(self, child: Child, judged: int, quality: float, *, core_done: bool):
        """Next step after an assessment judged ``judged`` with ``quality``."""
        if judged <= 1:
            self.close(child, to_early_help=judged == 1)
            return None
        if judged == 2:
            return self.cin_plan
        child.quality = quality if core_done else -1.0  # section 47 reuses a full assessment
        return self.strategy

    def close(self, child: Child, *, to_early_help: bool = False, helped: bool = False) -> None:
        """Close the case: release the worker; signpost early help or leave services."""
        m = self.m
        m.workforce.release(child)
        if to_early_help and child.tier >= 1:
            m.log(child, "closed", "community")
            m.community.early_help(child, m.env._now)
        else:
            m.community.leave_services(child, "closed", helped=helped)

    def _allocate(self, m: Model, child: Child, weight: float):
        if child.post >= 0 or child.ticket:
            m.workforce.reweight(child, weight)
            return
        ev = m.workforce.allocate(child, weight)
        if ev is not None:
            yield ev
        m.log(child, "allocated")

    # -- section 47 ---------------------------------------------------------------------
    def strategy(self, m: Model, child: Child):
        """Step: strategy discussion, section 47 enquiry and initial conference."""
        carried = child.quality
        child.quality = -1.0
        m.log(child, "strategy_discussion", "s47")
        due = m.env._now + self.icpc_days
        yield from self._allocate(m, child, self.w["s47"])
        a = m.assessment
        if carried >= 0:
            quality = carried
        elif a.flexible:  # the enquiry is one assessment, as long as the case needs
            m.log(child, "assessment_started")
            quality, detail = yield from a.work(
                m, child, a._effort(child, a.ia_effort + self.core_effort),
                m.env._now + a.guide, False)
            m.log(child, "assessment_done", detail=detail)
        else:
            m.log(child, "core_assessment_started")
            quality, detail = yield from a.work(
                m, child, a._effort(child, self.core_effort), m.env._now + a.core_deadline, True)
            m.log(child, "core_assessment_done", detail=detail)
        signal = child.tier + a.drng.normal(a.signal_sd(quality))
        child.known = judged = classify(signal)
        if judged <= 1:
            self.close(child, to_early_help=judged == 1)
            return None
        if signal < self.icpc_threshold:  # concerns not substantiated enough for a conference
            return self.cin_plan
        if due > m.env._now:
            yield Timeout(m.env, due - m.env._now)
        sd = 0.5 * a.signal_sd(quality) + 0.5 * self.conf_sd
        child.known = classify(child.tier + self.drng.normal(sd))
        m.log(child, "icpc")
        if child.known == 3:
            return self.cp_plan
        if child.known == 2:
            return self.cin_plan
        self.close(child, to_early_help=child.known == 1)
        return None

    # -- plans --------------------------------------------------------------------------
    def _help_interval(self, m: Model, child: Child, until: float):
        """Help and escalation until time ``until`` (days): tier changes as they happen."""
        wf = m.workforce
        env = m.env
        rng = self.rng
        esc = self.esc
        while True:
            now = env._now
            tier = child.tier
            if tier > 0:
                monthly = wf.direct_hours_per_week(child) * WEEKS_PER_MONTH
                worker = self.efficacy * monthly * wf.expertise(child)
                if now - child.worker_since < self.relationship:
                    worker *= 1.0 - self.penalty
                h = (self.base_help + worker) / (child.complexity * tier)
            else:
                h = 0.0
            e = esc if tier < 3 else 0.0
            total = h + e
            dt = rng.exponential(1.0 / total) if total > 0 else until
            if now + dt >= until:
                if until > now:
                    yield Timeout(env, until - now)
                return
            yield Timeout(env, dt)
            if rng.random() * total < h:
                child.tier -= 1
                m.log(child, "improved")
            else:
                child.tier += 1
                m.log(child, "escalated")

    def _review(self, m: Model, child: Child) -> tuple[float, float]:
        """Review a plan: return the signal of need and the strong-evidence threshold.

        Quality = direct hours the current worker has spent on the case (its present
        monthly rate times the months since taking the case) relative to a core
        assessment's effort, times expertise, capped at 1: a worker new to the case, or
        none, judges worse. A review is multi-agency (the core group or review
        conference): its noise sd is the mean of the worker's and ``conference_sd``.
        """
        wf = m.workforce
        a = m.assessment
        months = (m.env._now - child.worker_since) / MONTH if child.post >= 0 else 0.0
        hours = wf.direct_hours_per_week(child) * WEEKS_PER_MONTH * months
        quality = hours / self.core_effort * wf.expertise(child)
        if not quality < 1.0:  # min(1.0, quality), NaN included
            quality = 1.0
        sd = 0.5 * a.signal_sd(quality) + 0.5 * self.conf_sd
        signal = child.tier + self.drng.normal(sd)
        child.known = classify(signal)
        m.log(child, "plan_review")
        return signal, self.escalate_threshold - a.urgent_shift

    def cin_plan(self, m: Model, child: Child, first_review: float | None = None):
        """Step: a child-in-need plan until it closes or escalates."""
        m.log(child, "cin_plan_started", "cin_plan")
        yield from self._allocate(m, child, self.w["cin_plan"])
        gap = self.first_review if first_review is None else first_review
        while True:
            yield from self._help_interval(m, child, m.env._now + gap)
            signal, strong = self._review(m, child)
            gap = self.review_interval
            if signal >= strong:
                m.log(child, "cin_plan_ended")
                return self.strategy
            if child.known <= 1 or self.drng.random() < self.step_down:
                m.log(child, "cin_plan_ended")
                self.close(child, to_early_help=child.known <= 1, helped=child.tier == 0)
                return None

    def cp_plan(self, m: Model, child: Child, first_review: float | None = None,
                started: float | None = None):
        """Step: a child protection plan until it ends, steps down or goes to court."""
        m.log(child, "cp_plan_started", "cp_plan")
        yield from self._allocate(m, child, self.w["cp_plan"])
        start = m.env._now if started is None else started
        gap = self.first_review if first_review is None else first_review
        while True:
            yield from self._help_interval(m, child, m.env._now + gap)
            signal, strong = self._review(m, child)
            gap = self.review_interval
            if signal >= strong:
                r = self.drng.random()
                if m.env._now - start >= self.proceed_after and r < self.proceed:
                    m.log(child, "cp_plan_ended")
                    return m.court.pre_proceedings
                if r >= 1.0 - self.accommodate:
                    m.log(child, "cp_plan_ended")
                    return self.looked_after
                continue
            if signal >= 5.0 - strong:  # risk has not clearly fallen: the plan continues
                continue
            m.log(child, "cp_plan_ended")
            if child.known == 2:
                return self.cin_plan
            self.close(child, helped=child.tier == 0)
            return None

    def looked_after(self, m: Model, child: Child, stay: float | None = None):
        """Step: the child is looked after, until leaving care."""
        m.log(child, "looked_after_started", "looked_after")
        yield from self._allocate(m, child, self.w["looked_after"])
        rate = self.order_exit if child.care_order else self.lac_exit
        if stay is None:
            stay = self.rng.exponential(1.0 / rate) if rate > 0 else 1e12
        yield Timeout(m.env, stay)
        child.tier = max(0, child.tier - 2)
        child.care_order = False
        m.log(child, "looked_after_ended")
        self.close(child, helped=child.tier == 0)
        return None
