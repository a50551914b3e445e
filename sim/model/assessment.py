"""Referrals and assessments, under the 2010 timescales or the flexible policy.

A referral gets further checks (signal = true tier + noise): below a threshold it is
closed with no further action, above an urgent threshold it goes straight to a strategy
discussion (section 47), otherwise it waits for allocation to a social worker and is
assessed.

Effort: an assessment needs ``effort_hours x complexity`` direct hours (less where a
partner assessment is continued, and shortened by gatekeeping when work piles up); it is
a processor-sharing task (:class:`sim.model.workforce.Task`): it gets the direct hours
a week its worker can give it (its statutory minimum and a weighted share of the
discretionary rest), re-timed whenever the worker's load changes, so its pace follows
the load while it runs.

* **2010 policy** (``timescales``): an initial assessment due 10 working days after the
  referral, then, where needed, a core assessment due 35 working days after it starts.
  An assessment that would overrun is, with chance ``deadline_compliance`` (raised by
  prescription), closed at its deadline with the effort done so far (``at_deadline``);
  otherwise it runs late to completion (``late``).
* **flexible policy**: one assessment as long as the case needs, proportionate to what
  the worker learns: a first look (the initial effort), after which the worker's view of
  need (never the hidden true tier) decides what follows. Judged tier 0-1: the
  assessment ends. Judged tier 3: protective action starts at once (a strategy
  discussion; the section 47 enquiry continues the assessment). Judged tier 2: help
  starts during the assessment (a child-in-need plan whose first part is the rest of the
  assessment, the core effort, with help already acting); the plan is reviewed on the
  finished assessment. The 45-working-day guide is reported, never enforced.

Quality = min(1, effort done / effort needed x expertise x supervision). The judged tier
is the true tier seen through Normal noise whose sd falls linearly from
``signal_sd_worst`` at quality 0 to ``signal_sd_best`` at quality 1.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simpy.events import Timeout

from sim.clock import working_days_to_days
from sim.model.front_door import classify

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.child import Child
    from sim.model.simulation import Model


class Assessment:
    """Referral handling and assessments of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self.urgent_shift = 0.0  # defensive practice lowers the section 47 threshold
        self.gate_shift = 0.0  # gatekeeping raises the no-further-action threshold
        self.gate_effort = 1.0  # gatekeeping shortens assessments (effort multiplier)
        self.rng = model.rng.assessment
        self.drng = model.rng.decisions
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        self.flexible = p["assessment.policy"] == "flexible"
        self.ia_deadline = working_days_to_days(p["assessment.initial_timescale_wd"])
        self.core_deadline = working_days_to_days(p["assessment.core_timescale_wd"])
        self.guide = working_days_to_days(p["assessment.flexible_guide_wd"])
        self.ia_effort = p["assessment.initial_effort_hours"]
        self.core_effort = p["assessment.core_effort_hours"]
        self.base_compliance = p["assessment.deadline_compliance"]
        self.compliance = self.base_compliance  # the system layer scales it
        self.core_share = p["assessment.core_share_tier2"]
        self.saving = p["assessment.shared_effort_saving"]
        self.continue_shared = bool(p["assessment.continue_shared"])
        self.sd_best = p["assessment.signal_sd_best"]
        self.sd_worst = p["assessment.signal_sd_worst"]
        self.check_sd = p["front_door.check_sd"]
        self.nfa_threshold = p["front_door.nfa_threshold"]
        self.urgent_threshold = p["front_door.urgent_threshold"]

    # -- judgement ------------------------------------------------------------------------
    def signal_sd(self, quality: float) -> float:
        """Noise sd (tiers) of the view of need after work of ``quality`` in [0, 1]."""
        return self.sd_best + (self.sd_worst - self.sd_best) * (1.0 - quality)

    def judge(self, child: Child, quality: float) -> int:
        """Judge the child's tier after work of ``quality``; stores and returns it."""
        child.known = classify(child.tier + self.drng.normal(self.signal_sd(quality)))
        return child.known

    def work(self, m: Model, child: Child, effort: float, due: float, enforce: bool):
        """Do ``effort`` direct hours of assessment due at time ``due`` (days), at the pace
        the worker's load allows as it changes (processor sharing).

        Under ``enforce`` (2010 timescales) an assessment still running at its deadline is
        closed there with chance ``compliance`` (drawn as it starts), with the work done so
        far. Quality = share of the work done x expertise, at most 1.

        Returns (quality, detail) where detail is on_time, late or at_deadline.
        """
        wf = m.workforce
        env = m.env
        comply = enforce and self.rng.random() < self.compliance
        task = wf.begin_task(child, effort)
        remaining = due - env._now
        if comply and remaining > 0:
            yield task.done | Timeout(env, remaining)
        else:
            yield task.done
        if task.done.triggered:
            frac = 1.0
            detail = "on_time" if env._now <= due + 1e-9 else "late"
        else:
            frac = wf.end_task(task)
            detail = "at_deadline"
        quality = (frac if effort > 0 else 1.0) * wf.expertise(child)
        if not quality < 1.0:  # min(1.0, quality), NaN included
            quality = 1.0
        return quality, detail

    def timing(self, child: Child, since: float | None = None) -> str:
        """``on_time`` if a single assessment ending now is within the flexible guide
        (working days from ``since``, by default the referral), else ``late``."""
        start = child.referral_time if since is None else since
        return "on_time" if self.m.env._now <= start + self.guide else "late"

    def _effort(self, child: Child, hours: float) -> float:
        """Direct hours the work needs: ``hours`` x complexity, less the saving of a
        continued partner assessment."""
        e = hours * child.complexity
        if child.shared and (self.continue_shared or child.team_assessed):
            e *= 1.0 - self.saving
        return e

    # -- steps --------------------------------------------------------------------------
    def referral(self, m: Model, child: Child):
        """Step: the contact is accepted as a referral."""
        m.log(child, "referral", "referral")
        child.referral_time = m.env._now
        signal = child.tier + self.rng.normal(self.check_sd)
        if signal < self.nfa_threshold + self.gate_shift:
            child.known = classify(signal)
            m.community.leave_services(child, "referral_nfa")
            return None
        if signal >= self.urgent_threshold - self.urgent_shift:
            child.known = 3
            return m.protection.strategy
        return self.assess
        yield  # pragma: no cover - makes this a generator

    def assess(self, m: Model, child: Child):
        """Step: allocation, then the initial (or single) assessment and its decision."""
        ev = m.workforce.allocate(child, "assessment")
        if ev is not None:
            yield ev
        short = self.gate_effort
        if self.flexible:
            m.log(child, "assessment_started", "assessment")
            # the first look: the worker's view of need after it decides what follows
            q, _ = yield from self.work(
                m, child, self._effort(child, self.ia_effort) * short, math.inf, False)
            judged = self.judge(child, q)
            if judged == 2:  # help starts while the assessment goes on
                return m.protection.cin_plan_assessing
            if judged <= 1:  # the assessment ends here (at 3 it goes on as the enquiry)
                m.log(child, "assessment_done", detail=self.timing(child))
            return m.protection.after_assessment(child, judged, q, core_done=False)
        m.log(child, "initial_assessment_started", "assessment")
        q, detail = yield from self.work(
            m, child, self._effort(child, self.ia_effort) * short,
            child.referral_time + self.ia_deadline, True)
        judged = self.judge(child, q)
        m.log(child, "initial_assessment_done", detail=detail)
        if judged == 2 and self.rng.random() < self.core_share:
            return self.core
        return m.protection.after_assessment(child, judged, q, core_done=False)

    def core(self, m: Model, child: Child):
        """Step: a core assessment (2010 policy) and its decision."""
        m.log(child, "core_assessment_started")
        q, detail = yield from self.work(
            m, child, self._effort(child, self.core_effort) * self.gate_effort,
            m.env._now + self.core_deadline, True)
        judged = self.judge(child, q)
        m.log(child, "core_assessment_done", detail=detail)
        return m.protection.after_assessment(child, judged, q, core_done=True)
