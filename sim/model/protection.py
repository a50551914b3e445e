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

Plans take the worker's time (the case's statutory minimum and a weighted share of the
rest, :mod:`sim.model.workforce`). Between reviews, help works (need falls one tier) with
hazard ``(help_base_rate + worker) / (complexity x tier)`` where the worker's part has
diminishing returns in the direct hours ``x`` a month on the case,
``worker = help_max_rate x expertise x x / (x + help_half_hours)`` (a saturating,
Michaelis-Menten form: time beyond what a case can use adds little): other agencies on
the plan help whatever the worker's time, and deeper or more complex need takes longer
to shift. The worker's part is reduced by ``continuity_penalty`` in the first
``relationship_months`` with a new worker; need may also rise (``escalation_on_plan``).
The direct hours are read again at every change of need and every review.

Defensive practice (R3) lowers the thresholds of the section 47 enquiry's decision to
hold a conference and of the conference's decision (``decision_shift`` tiers, set by
the system layer) and raises the chance a plan goes to court (``court_multiplier``);
gatekeeping (B2) raises the chance a child-in-need plan is stepped down
(``step_down_multiplier``).

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

Care (children looked after) is entered by four routes, each logged as
``looked_after_started`` with the route as its detail:

* ``emergency``: at the strategy discussion of a section 47 enquiry the judged risk
  (true tier + Normal(0, ``conference_sd``)) reaches ``care.emergency_threshold`` (for a
  baby under 1, ``care.emergency_threshold_infant``: risk to a baby is more immediate,
  and proceedings are often planned before birth for removal at birth): the
  child is removed at once (police protection or an emergency protection order) and an
  application for a care order follows (:mod:`sim.model.court`), the child looked after
  on an interim order meanwhile;
* ``voluntary`` (section 20): a protection-plan review with strong evidence of
  continuing risk accommodates the child with chance ``accommodation_share``; and a
  family breakdown at home, a hazard ``care.breakdown_rate`` per year on a child-in-need
  or protection plan at tier 2 or more, multiplied by ``care.adolescent_factor`` from
  ``care.adolescent_age`` (adolescents are accommodated more often), and
  ``care.return_breakdown_rate`` for a child on the plan that supports a return home
  (a return that breaks down brings the child back into care);
* ``interim`` and ``order``: in proceedings (:mod:`sim.model.court`).

Care is left by routes that depend on age and legal status (``looked_after_ended``, the
route as its detail), as competing hazards read again at each change (and at the 16th
birthday):

* ``home``: voluntary accommodation ends with ``care.voluntary_return_rate`` (times
  ``care.adolescent_return_factor`` from the adolescent age: adolescents accommodated
  after a breakdown seldom go back), a care
  order is discharged with ``care.order_return_rate``; the child's need is then at most
  tier 2 and a child-in-need plan supports the return (with its breakdown hazard above);
* ``family``: a child on a care order leaves to special guardianship or another family
  order with ``care.order_family_rate``;
* ``adopted``: a child on a placement order (only below ``care.adoption_max_age``, see
  the court) is adopted after ten weeks' placement plus an exponential delay of mean
  ``care.adoption_delay_months`` less that (matching, placement, the adoption order);
* ``independent``: from 16, voluntary or care-order children leave with
  ``care.leaving_16_17_rate`` (independent or semi-independent living);
* ``age_18``: on the 18th birthday (:meth:`sim.model.simulation.Model.leave_at_18`).

A voluntarily accommodated child below the adolescent age stays looked after but moves
into care proceedings with ``care.voluntary_proceedings_rate`` (the LA seeks an order
for a young child it accommodates: section 20 is often the start of proceedings).

Adopted children, those placed with family and those leaving at 16-17 leave children's
services (need met as far as the LA is concerned).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simpy.events import Timeout

from sim.clock import MONTH, WEEK, YEAR, working_days_to_days
from sim.model.child import (
    EMERGENCY,
    INTERIM,
    NOT_LOOKED_AFTER,
    ORDER,
    PLACEMENT,
    VOLUNTARY,
)
from sim.model.front_door import classify
from sim.model.workforce import WEEKS_PER_MONTH

#: Value of :attr:`Child.quality` while a single (flexible) assessment goes on as the
#: section 47 enquiry.
CONTINUES: float = -2.0

#: Least time (days) a child is placed with adopters before an adoption application:
#: ten weeks (Adoption and Children Act 2002, s42).
ADOPTION_MIN_PLACEMENT_DAYS: float = 10 * WEEK

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
        self.crng = model.rng.care
        self.brng = model.rng.breakdown
        #: children looked after now (interim care orders included)
        self.in_care: set[Child] = set()
        self.decision_shift = 0.0  # defensive practice: conference thresholds fall (tiers)
        self.court_multiplier = 1.0  # defensive practice: more plans go to court
        self.step_down_multiplier = 1.0  # gatekeeping: more child-in-need plans step down
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        self.icpc_days = working_days_to_days(p["protection.icpc_timescale_wd"])
        self.conf_sd = p["protection.conference_sd"]
        self.icpc_threshold = p["protection.icpc_threshold"]
        self.first_review = p["protection.first_review_months"] * MONTH
        self.review_interval = p["protection.review_interval_months"] * MONTH
        self.help_max = p["protection.help_max_rate"] / MONTH
        self.help_half = p["protection.help_half_hours"]
        self.base_help = p["protection.help_base_rate"] / YEAR
        self.penalty = p["protection.continuity_penalty"]
        self.relationship = p["protection.relationship_months"] * MONTH
        self.esc = p["protection.escalation_on_plan"] / YEAR
        self.step_down = p["protection.cin_step_down_share"]
        self.accommodate_share = p["protection.accommodation_share"]
        self.proceed = p["protection.proceedings_share"]
        self.proceed_after = p["protection.proceedings_after_months"] * MONTH
        self.emergency_threshold = p["care.emergency_threshold"]
        self.breakdown = p["care.breakdown_rate"] / YEAR
        self.adolescent_factor = p["care.adolescent_factor"]
        self.adolescent_days = p["care.adolescent_age"] * YEAR
        self.return_breakdown = p["care.return_breakdown_rate"] / YEAR
        self.voluntary_return = p["care.voluntary_return_rate"] / YEAR
        self.adolescent_return = p["care.adolescent_return_factor"]
        self.voluntary_proceedings = p["care.voluntary_proceedings_rate"] / YEAR
        self.emergency_threshold_infant = p["care.emergency_threshold_infant"]
        self.order_return = p["care.order_return_rate"] / YEAR
        self.order_family = p["care.order_family_rate"] / YEAR
        self.leaving_16 = p["care.leaving_16_17_rate"] / YEAR
        self.adoption_extra = max(
            0.0, p["care.adoption_delay_months"] * MONTH - ADOPTION_MIN_PLACEMENT_DAYS)
        self.escalate_threshold = p["front_door.urgent_threshold"]
        self.core_effort = p["assessment.core_effort_hours"]
        self.ia_effort = p["assessment.initial_effort_hours"]

    # -- decisions ----------------------------------------------------------------------
    def after_assessment(self, child: Child, judged: int, quality: float, *, core_done: bool):
        """Next step after an assessment judged ``judged`` with ``quality``."""
        if judged <= 1:
            self.close(child, to_early_help=judged == 1)
            return None
        if judged == 2:
            return self.cin_plan
        # section 47 reuses a full assessment; a single assessment goes on as the enquiry
        child.quality = quality if core_done else (
            CONTINUES if self.m.assessment.flexible else -1.0)
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

    def _allocate(self, m: Model, child: Child, kind: str, *, urgent: bool = False):
        """Make ``child`` a case of ``kind`` for its worker, allocating one if it has none
        (``urgent`` work first)."""
        if child.post >= 0 or child.ticket:
            m.workforce.reweight(child, kind)
            return
        ev = m.workforce.allocate(child, kind, urgent=urgent)
        if ev is not None:
            yield ev
        m.log(child, "allocated")

    # -- section 47 ---------------------------------------------------------------------
    def strategy(self, m: Model, child: Child):
        """Step: strategy discussion: emergency protection, or the section 47 enquiry."""
        m.log(child, "strategy_discussion", "s47")
        threshold = (self.emergency_threshold_infant if m.env._now - child.birth < YEAR
                     else self.emergency_threshold)
        if child.tier + self.drng.normal(self.conf_sd) >= threshold:
            child.quality = -1.0
            self.accommodate(child, EMERGENCY)  # removed at once, then to court
            return m.court.proceedings
        return self.enquiry
        yield  # pragma: no cover - makes this a generator

    def enquiry(self, m: Model, child: Child):
        """Step: the section 47 enquiry (after the strategy discussion) and the initial
        conference."""
        carried = child.quality
        child.quality = -1.0
        # a single assessment's clock: from the referral when it goes on as the enquiry,
        # else from this strategy discussion
        since = child.referral_time if carried == CONTINUES else m.env._now
        due = m.env._now + self.icpc_days
        yield from self._allocate(m, child, "s47", urgent=True)
        a = m.assessment
        effort = a._effort(child, self.core_effort) * a.gate_effort
        done = None  # the assessment event to log once the enquiry has judged
        if carried >= 0:
            quality = carried
        elif a.flexible:  # the single assessment, as long as the case needs
            if carried != CONTINUES:
                m.log(child, "assessment_started")
            quality, _ = yield from a.work(m, child, effort, math.inf, False)
            done = ("assessment_done", a.timing(child, since))
        else:
            m.log(child, "core_assessment_started")
            quality, detail = yield from a.work(
                m, child, effort, m.env._now + a.core_deadline, True)
            done = ("core_assessment_done", detail)
        signal = child.tier + a.drng.normal(a.signal_sd(quality))
        child.known = judged = classify(signal)
        if done is not None:  # logged with the enquiry's judgement
            m.log(child, done[0], detail=done[1])
        if judged <= 1:
            self.close(child, to_early_help=judged == 1)
            return None
        if signal < self.icpc_threshold - self.decision_shift:  # not substantiated enough
            return self.cin_plan
        if due > m.env._now:
            yield Timeout(m.env, due - m.env._now)
        sd = 0.5 * a.signal_sd(quality) + 0.5 * self.conf_sd
        child.known = classify(child.tier + self.drng.normal(sd) + self.decision_shift)
        m.log(child, "icpc")
        if child.known == 3:
            return self.cp_plan
        if child.known == 2:
            return self.cin_plan
        self.close(child, to_early_help=child.known == 1)
        return None

    # -- plans --------------------------------------------------------------------------
    def breakdown_rate(self, child: Child, now: float) -> float:
        """Hazard (per day) that care at home breaks down for a child on a plan now."""
        h = 0.0
        if child.tier >= 2:
            h = self.breakdown
            if now - child.birth >= self.adolescent_days:
                h *= self.adolescent_factor
        if child.returned > -math.inf:
            h += self.return_breakdown
        return h

    def help_rate(self, m: Model, child: Child, now: float) -> float:
        """Hazard (per day) that help lowers the child's need by a tier now."""
        tier = child.tier
        if tier <= 0:
            return 0.0
        wf = m.workforce
        monthly = wf.direct_hours_per_week(child) * WEEKS_PER_MONTH
        worker = self.help_max * wf.expertise(child) * monthly / (monthly + self.help_half) \
            if monthly > 0 else 0.0
        if now - child.worker_since < self.relationship:
            worker *= 1.0 - self.penalty
        return (self.base_help + worker) / (child.complexity * tier)

    def _help_interval(self, m: Model, child: Child, until: float, task=None):
        """Help, escalation and breakdown at home until time ``until`` (days), or, given a
        ``task``, until that work is done: tier changes as they happen; returns True if
        care at home broke down (the interval then ends at once)."""
        env = m.env
        rng = self.rng
        brng = self.brng
        esc = self.esc
        while True:
            now = env._now
            tier = child.tier
            h = self.help_rate(m, child, now)
            e = esc if tier < 3 else 0.0
            total = h + e
            dt = rng.exponential(1.0 / total) if total > 0 else math.inf
            b = self.breakdown_rate(child, now)
            broke = False
            if b > 0:  # its own stream: help and escalation draw as without it
                db = brng.exponential(1.0 / b)
                if db < dt:
                    dt, broke = db, True
            if task is not None:
                if math.isinf(dt):
                    yield task.done
                    return False
                yield task.done | Timeout(env, dt)
                if task.done.triggered:
                    return False
                if broke:
                    return True
            else:
                if now + dt >= until:
                    if until > now:
                        yield Timeout(env, until - now)
                    return False
                yield Timeout(env, dt)
                if broke:
                    return True
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

    def cin_plan_assessing(self, m: Model, child: Child):
        """Step (flexible policy): a child-in-need plan that starts while the assessment
        goes on. Its first part is the rest of the assessment (the core effort, the case
        still weighted as an assessment), with help, escalation and breakdown acting
        meanwhile; then the finished assessment decides: judged tier 0-1 closes the case,
        3 starts a strategy discussion, 2 continues the plan."""
        m.log(child, "cin_plan_started", "cin_plan")
        a = m.assessment
        wf = m.workforce
        task = wf.begin_task(child, a._effort(child, self.core_effort) * a.gate_effort)
        broke = yield from self._help_interval(m, child, math.inf, task=task)
        if broke:
            wf.end_task(task)
            m.log(child, "assessment_done", detail=a.timing(child))
            m.log(child, "cin_plan_ended")
            self.accommodate(child, VOLUNTARY)
            return self.looked_after
        quality = min(1.0, wf.expertise(child))
        judged = a.judge(child, quality)
        m.log(child, "assessment_done", detail=a.timing(child))
        if judged == 2:
            return _continue_cin_plan
        m.log(child, "cin_plan_ended")
        if judged <= 1:
            self.close(child, to_early_help=judged == 1)
            return None
        child.quality = quality
        return self.strategy

    def cin_plan(self, m: Model, child: Child, first_review: float | None = None,
                 logged: bool = False):
        """Step: a child-in-need plan until it closes or escalates (``logged``: its start
        is already in the journey log)."""
        if not logged:
            m.log(child, "cin_plan_started", "cin_plan")
        yield from self._allocate(m, child, "cin_plan")
        gap = self.first_review if first_review is None else first_review
        while True:
            if (yield from self._help_interval(m, child, m.env._now + gap)):
                m.log(child, "cin_plan_ended")
                self.accommodate(child, VOLUNTARY)
                return self.looked_after
            signal, strong = self._review(m, child)
            gap = self.review_interval
            if signal >= strong:
                m.log(child, "cin_plan_ended")
                return self.strategy
            if child.known <= 1 or self.drng.random() < self.step_down * \
                    self.step_down_multiplier:
                m.log(child, "cin_plan_ended")
                child.returned = -math.inf  # a return home is settled once its plan ends
                self.close(child, to_early_help=child.known <= 1, helped=child.tier == 0)
                return None

    def cp_plan(self, m: Model, child: Child, first_review: float | None = None,
                started: float | None = None):
        """Step: a child protection plan until it ends, steps down or goes to court."""
        m.log(child, "cp_plan_started", "cp_plan")
        yield from self._allocate(m, child, "cp_plan")
        start = m.env._now if started is None else started
        gap = self.first_review if first_review is None else first_review
        while True:
            if (yield from self._help_interval(m, child, m.env._now + gap)):
                m.log(child, "cp_plan_ended")
                self.accommodate(child, VOLUNTARY)
                return self.looked_after
            signal, strong = self._review(m, child)
            gap = self.review_interval
            if signal >= strong:
                r = self.drng.random()
                if m.env._now - start >= self.proceed_after and r < min(
                        1.0 - self.accommodate_share, self.proceed * self.court_multiplier):
                    m.log(child, "cp_plan_ended")
                    return m.court.pre_proceedings
                if r >= 1.0 - self.accommodate_share:
                    m.log(child, "cp_plan_ended")
                    self.accommodate(child, VOLUNTARY)
                    return self.looked_after
                continue
            if signal >= 5.0 - strong:  # risk has not clearly fallen: the plan continues
                continue
            m.log(child, "cp_plan_ended")
            child.returned = -math.inf
            if child.known == 2:
                return self.cin_plan
            self.close(child, helped=child.tier == 0)
            return None

    # -- care ---------------------------------------------------------------------------
    def accommodate(self, child: Child, legal: int, stage: str = "looked_after") -> None:
        """The child starts to be looked after now with legal status ``legal`` (the
        route into care is logged as the detail)."""
        child.legal = legal
        child.returned = -math.inf
        self.in_care.add(child)
        self.m.log(child, "looked_after_started", stage, detail=_ROUTE_IN[legal])

    def leave_care(self, child: Child) -> None:
        """Bookkeeping of a child who ceases to be looked after (the caller logs it)."""
        child.legal = NOT_LOOKED_AFTER
        self.in_care.discard(child)

    def exit_rates(self, child: Child, now: float) -> tuple[float, float, float, float]:
        """Hazards (per day) of leaving care now by each route: home, family, independent
        (from 16), and of an application to court for a voluntarily accommodated child
        below the adolescent age (the LA seeks an order)."""
        legal = child.legal
        if legal == PLACEMENT:
            return 0.0, 0.0, 0.0, 0.0
        age = now - child.birth
        indep = self.leaving_16 if age >= 16 * YEAR else 0.0
        if legal == ORDER:
            return self.order_return, self.order_family, indep, 0.0
        if age >= self.adolescent_days:
            return self.voluntary_return * self.adolescent_return, 0.0, indep, 0.0
        return self.voluntary_return, 0.0, indep, self.voluntary_proceedings

    def looked_after(self, m: Model, child: Child, adoption: float | None = None):
        """Step: the child is looked after (already logged as such), until leaving care
        by one of the routes out (the 18th birthday ends the step from outside).

        ``adoption``: time (days) of the adoption of a child on a placement order, if
        already known (a child on a placement order at the start of the run).
        """
        env = m.env
        rng = self.crng
        # every draw of the spell is made as it starts (before allocation), so that the
        # spell of a child does not depend on the order other children draw in
        if child.legal == PLACEMENT:
            if adoption is None:
                adoption = env._now + ADOPTION_MIN_PLACEMENT_DAYS + (
                    rng.exponential(self.adoption_extra) if self.adoption_extra > 0 else 0.0)
        else:
            clock = rng.exponential(1.0)  # unit exponential: the spell's cumulative hazard
            u = rng.random()
        yield from self._allocate(m, child, "looked_after")
        if child.legal == PLACEMENT:
            yield Timeout(env, max(0.0, adoption - env._now))
            self._leave(child, "adopted")
            return None
        # hazards are constant between the birthdays where they change: walk the pieces
        # until the cumulative hazard reaches the clock
        changes = (child.birth + self.adolescent_days, child.birth + 16 * YEAR, math.inf)
        t = env._now
        while True:
            rates = self.exit_rates(child, t)
            total = sum(rates)
            end = next(c for c in changes if c > t)
            if total > 0 and clock <= total * (end - t):
                t += clock / total
                break
            if math.isinf(end):  # no way out but the 18th birthday
                yield Timeout(env, child.birth + 19 * YEAR - env._now)
                return None  # never reached: the birthday ends the journey
            clock -= total * (end - t)
            t = end
        yield Timeout(env, t - env._now)
        home, family, indep, _court = rates
        u *= total
        if u >= home + family + indep:  # still looked after, now in proceedings
            return m.court.proceedings
        if u < home:
            m.log(child, "looked_after_ended", detail="home")
            self.leave_care(child)
            child.tier = min(child.tier, 2)
            if child.tier < 2:
                self.close(child, helped=child.tier == 0)
                return None
            child.returned = env._now
            return self.cin_plan
        self._leave(child, "family" if u < home + family else "independent")
        return None

    def _leave(self, child: Child, route: str) -> None:
        """The child leaves care and children's services by ``route`` (need met)."""
        m = self.m
        self.leave_care(child)
        m.workforce.release(child)
        child.tier = 0
        child.known = -1
        m.log(child, "looked_after_ended", "left", detail=route)


#: The route into care logged for each legal status at entry.
_ROUTE_IN: dict[int, str] = {VOLUNTARY: "voluntary", EMERGENCY: "emergency",
                             INTERIM: "interim", ORDER: "order", PLACEMENT: "order"}


def _continue_cin_plan(m: Model, child: Child):
    """Step: the child-in-need plan started during a flexible assessment goes on."""
    return m.protection.cin_plan(m, child, logged=True)
