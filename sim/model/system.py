"""The system layer: a monthly step over the discrete-event model, and its feedback loops.

Each month it brings the stage counts up to date, records the monthly stocks, updates
the slow variables below and what they drive, draws the month's leavers and generates
the concerns of the coming month. It also creates the stocks that exist at the start of
the run (children already on plans or looked after).

Slow variables (monthly, first-order adjustment ``x += (target - x) * (1 - exp(-1/tau))``
with ``tau`` in months):

* **stress** (index, 1 = at the manageable caseload): target
  ``caseload / manageable * (1 - reflective_relief * reflective) + stress_gain * G``
  (``reflective`` is the share of needed supervision that is reflective; ``G`` the
  gatekeeping load gap below, counted only with B2 on), at least 0. Smooth on both
  sides of 1: no dead zone.
* **morale** = 1 - deficit; the deficit follows ``stress - 1`` (slower; negative when
  caseloads are below the manageable level, so morale then lies above 1).
* **sickness** share = ``max(0, sickness_share + sickness_gain * (stress - 1))``.
* **load** (gatekeeping's driver): weighted cases held and waiting over
  ``caseload_cap x staff in post``, followed with time constant ``gatekeeping.months``;
  ``G = load - reference_load`` (negative when there is slack).
* **pressure** (index, 1 = 2010): ``P = 1 + (P - 1) exp(-1/decay) + per_scr * (SCRs this
  month - reference_scr_per_year / 12)``, plus any shock; at least 0.5.
* **prescription** (index, 1 = 2010): follows ``1 + link * (P - 1)`` (link cut by
  ``systems_link_reduction`` under systems-approach SCRs), rising with time constant
  ``ratchet_up_months`` and falling with ``ratchet_down_months``.

Loops (:mod:`sim.model.loops`), each acting only when switched on:

* R1 workforce spiral: stress and morale (always computed) act: the leaving hazard is
  multiplied by ``max(0.2, 1 + turnover_gain * (1 - morale))`` and sickness takes hours
  from casework.
* R2 procedure creep: SCRs move pressure; prescription scales the recording share and
  the chance an overrunning assessment is closed at its deadline.
* R3 defensive practice, at every decision where fear of blame acts: pressure raises
  universal services' contacts about tiers 0-1 (``1 + notice_gain * (P - 1)``), lowers
  the front door's referral threshold (``threshold_gain`` tiers per unit), the
  thresholds for section 47 at referral and at plan reviews, for a conference after an
  enquiry and of the conference's decision (``s47_gain``), and raises the chance a
  protection plan goes to court (``1 + court_gain * (P - 1)``).
* B2 gatekeeping, as the load gap ``G`` grows: the front door's referral threshold and
  the referral check's no-further-action threshold rise (``threshold_gain * G`` tiers,
  within [-0.5, 1]; at the front door ``G`` also counts the contacts waiting, a unit per
  ``backlog_weeks`` weeks of screening work, and screening is shortened as work is),
  child-in-need plans are stepped down more often (``x (1 + step_down_gain * G)``),
  assessments and enquiries are shortened (effort ``/ (1 + effort_gain * G)``) and
  stress rises (``stress_gain * G``). Each multiplier is kept within [0.2, 5].
* B1 early help: community-team consultations, the effect of health-visitor numbers on
  noticing need and early help's limited places; off, none of these act.
* Inspection regime: under announced inspections (every ``interval_years``, the first
  half an interval into the run) ``prep_share`` of hours goes to compliance in the
  ``prep_months`` before each; unannounced inspections take none.
With R2 and R3 both off, pressure moves only with shocks.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from simpy.events import Timeout

from sim.clock import MONTH, YEAR
from sim.model.child import INTERIM, ORDER, PLACEMENT, VOLUNTARY
from sim.model.community import AGE_BANDS
from sim.model.loops import enabled
from sim.records import (
    CIN_STAGES,
    LOOKED_AFTER_STAGES,
    PROCEEDINGS_STAGES,
    STAGES,
    STOCK_COLUMNS,
)

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.child import Child
    from sim.model.simulation import Model

_CIN_IDX = [i for i, s in enumerate(STAGES) if s in CIN_STAGES]
_LAC_IDX = [i for i, s in enumerate(STAGES) if s in LOOKED_AFTER_STAGES]
_PROCEEDINGS_IDX = [i for i, s in enumerate(STAGES) if s in PROCEEDINGS_STAGES]
_SIXTEEN = 16 * YEAR


class SystemLayer:
    """Monthly stocks and slow variables of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self.rows: list[dict[str, Any]] = []
        self.pressure = 1.0
        self.prescription = 1.0
        self.stress = 1.0
        self.deficit = 0.0
        self.load = float(model.p["gatekeeping.reference_load"])
        self.sickness = model.p["workforce_dynamics.sickness_share"]
        self.until = float("inf")
        self.month = 0
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        self.on = enabled(p)
        g = {k.split(".", 1)[1]: v for k, v in p.items()
             if k.startswith(("workforce_dynamics.", "pressure.", "defensive.", "inspection."))}
        g.update({"gate_" + k.split(".", 1)[1]: v for k, v in p.items()
                  if k.startswith("gatekeeping.")})
        self.g = g
        self.prescription_link = g["prescription_link"] * (
            1.0 - g["systems_link_reduction"] if g["systems_approach_scr"] else 1.0)
        self.shock_month = (round(p["shocks.pressure_year"] * 12)
                            if p["shocks.pressure_size"] > 0 else -1)
        self.shock_size = p["shocks.pressure_size"]
        self.base_compliance = p["assessment.deadline_compliance"]

    def start(self, until: float, switch: tuple[float, dict[str, Any] | None] | None = None
              ) -> None:
        """Create the initial stocks and start the monthly process (run ends at ``until``).

        ``switch`` is ``(time in days, values)``: a reform that starts part-way through.
        """
        self.until = until
        if self.on["procedure_creep"]:  # prescription starts at its settled level
            m = self.m
            self.prescription = float(m.p["pressure.initial_prescription"])
            m.assessment.compliance = min(1.0, self.base_compliance * self.prescription)
            m.workforce.update_time_split(self.prescription, self.sickness, 0.0)
        self._initial_population()
        self.m.env.process(self._monthly())
        if switch is not None and switch[0] < until:
            ev = self.m.env.timeout(switch[0])
            ev.callbacks.append(lambda _ev: self.m.switch(switch[1]))

    def _initial_population(self) -> None:
        """A settled, age-structured start: children already in every stage that lasts
        more than a few weeks, in the middle of their spells.

        * the community: per tier, the settled number of needs arising (and escalating
          from the tier below) that services do not yet hold, ``arrivals / hazard out``;
        * early help: ``early_help.initial`` per 10,000 (tier 1 or, a third of them, 2);
        * child-in-need and protection plans: stocks seen at one moment over-represent
          long stays, so their complexity is drawn length-biased (plan help is divided by
          complexity: a lognormal with mean 1 reweighted by complexity is the same
          lognormal scaled by exp(sigma^2)), and the first review falls anywhere in a
          review interval;
        * assessments and section 47 enquiries under way (``protection.initial_assessments``,
          ``protection.initial_s47``), starting afresh;
        * care proceedings, a share on interim care orders (looked after);
        * children looked after, by the stated age structure and legal status.

        Prescription starts at its settled level (``pressure.initial_prescription``).

        Ages of children on plans, in the community, in early help and in proceedings are
        those of new concerns at their tier. Spells whose length is exponential are in the
        middle by memorylessness; the rest start afresh (an assumption the warm-up absorbs).
        """
        m = self.m
        p = m.p
        rng = m.rng.initial
        pop10k = p["population.child_population"] / 10_000.0
        sigma = p["population.complexity_sigma"]
        prot = m.protection
        comm = m.community
        now = m.env.now

        def birth(probs) -> float:
            u = rng.random()
            k = 0
            acc = probs[0]
            while u >= acc and k < len(probs) - 1:
                k += 1
                acc += probs[k]
            _, lo, hi = AGE_BANDS[k]
            return now - (lo + (hi - lo) * rng.random()) * YEAR

        def child(tier: int, probs, scale: float = 1.0):
            c = m.new_child(tier, scale * rng.lognormal_mean1(sigma), birth(probs))
            m.log(c, "concern", "community")
            return c

        # children looked after, by age and legal status
        care_probs = np.array([p[f"care.initial_age_{name}"] for name, _, _ in AGE_BANDS])
        care_probs = care_probs / care_probs.sum() if care_probs.sum() > 0 else comm.age_probs[3]
        adoption_age = p["care.adoption_max_age"] * YEAR
        for _ in range(rng.poisson(p["protection.initial_looked_after"] * pop10k)):
            c = child(3, care_probs)
            c.known = 3
            if now - c.birth < adoption_age and rng.random() < p["care.initial_placement_share"]:
                legal = PLACEMENT
            elif rng.random() < p["care.initial_order_share"]:
                legal = ORDER
            else:
                legal = VOLUNTARY
            prot.accommodate(c, legal)
            m.start_journey(c, now, prot.looked_after)
        # care proceedings, at home or on an interim care order
        for _ in range(rng.poisson(p["court.initial_proceedings"] * pop10k)):
            c = child(3, comm.age_probs[3])
            c.known = 3
            if rng.random() < p["court.interim_removal_share"]:
                prot.accommodate(c, INTERIM, "interim_care")
            m.start_journey(c, now, m.court.proceedings)
        # plans, length-biased
        biased = math.exp(sigma * sigma)
        for key, tier, step in (("protection.initial_cp_plans", 3, prot.cp_plan),
                                ("protection.initial_cin_plans", 2, prot.cin_plan)):
            for _ in range(rng.poisson(p[key] * pop10k)):
                c = child(tier, comm.age_probs[tier], biased)
                c.known = tier
                first = rng.random() * prot.review_interval
                m.start_journey(c, now, _bind(step, first_review=first))
        # assessments and section 47 enquiries under way (starting afresh), with the tiers
        # of the settled flow into them: assessments 15% tier 1, 78% tier 2, 7% tier 3;
        # enquiries 41% tier 2, 59% tier 3 (all judged at risk)
        # enquiries (past the strategy discussion and its emergency decision)
        for key, mix, enquiry in (
                ("protection.initial_assessments", (0.15, 0.78, 0.07), False),
                ("protection.initial_s47", (0.0, 0.41, 0.59), True)):
            for _ in range(rng.poisson(p[key] * pop10k)):
                u = rng.random()
                tier = 1 if u < mix[0] else 2 if u < mix[0] + mix[1] else 3
                c = child(tier, comm.age_probs[tier])
                c.referral_time = now
                if enquiry:
                    c.known = 3
                    m.log(c, "strategy_discussion", "s47")
                    m.start_journey(c, now, prot.enquiry)
                else:
                    c.known = tier
                    m.log(c, "referral", "referral")
                    m.start_journey(c, now, m.assessment.assess)
        # early help
        for _ in range(rng.poisson(p["early_help.initial"] * pop10k)):
            tier = 2 if rng.random() < 1.0 / 3.0 else 1
            c = child(tier, comm.age_probs[tier])
            comm.early_help(c, now)
        # the community: needs arising, and escalating, that services do not hold yet
        inflow = 0.0  # per day, escalating from the tier below
        for tier in range(4):
            arrivals = comm.concern_rate[tier] * pop10k / YEAR + inflow
            notice, resolve, esc, total = comm._hazards[tier]
            n_settled = arrivals / total if total > 0 else 0.0
            inflow = n_settled * esc
            for _ in range(rng.poisson(n_settled)):
                c = child(tier, comm.age_probs[tier])
                comm.spell(c, now)

    def _monthly(self):
        m = self.m
        env = m.env
        m.community.generate(0.0, MONTH)
        while True:
            yield env.timeout(MONTH)
            self.month_end()
            m.community.generate(env.now, env.now + MONTH)

    def month_end(self) -> None:
        """Close the month: bring counts up to date, record stocks, update slow variables."""
        self.month += 1
        incidents, scrs = self.m.apply_due(self.month)
        self.record(self.month, incidents, scrs)
        self.update(scrs)
        self.m.workforce.monthly_leavers()

    def finish(self) -> None:
        """Record the last month end if the run stopped exactly on it."""
        if self.m.env.now >= (self.month + 1) * MONTH - 1e-6:
            self.month_end()

    def update(self, scrs: int) -> None:
        """Update slow variables and what they drive (the feedback loops act here)."""
        m, g, on = self.m, self.g, self.on
        wf = m.workforce
        self.load += (wf.load_ratio() - self.load) * _step(g["gate_months"])
        gap = self.load - g["gate_reference_load"] if on["gatekeeping"] else 0.0
        raw = wf.mean_caseload() / g["manageable_caseload"]
        target = max(0.0, raw * (1.0 - g["reflective_relief"] * wf.reflective_fraction)
                     + g["gate_stress_gain"] * gap)
        self.stress += (target - self.stress) * _step(g["stress_months"])
        self.deficit += (self.stress - 1.0 - self.deficit) * _step(g["morale_months"])
        if on["workforce_spiral"]:
            wf.leave_multiplier = max(0.2, 1.0 + g["turnover_gain"] * self.deficit)
            self.sickness = max(0.0, g["sickness_share"]
                                + g["sickness_gain"] * (self.stress - 1.0))
        else:
            wf.leave_multiplier = 1.0
            self.sickness = g["sickness_share"]
        creep, defensive = on["procedure_creep"], on["defensive_practice"]
        pressure = 1.0 + (self.pressure - 1.0) * math.exp(-1.0 / g["decay_months"])
        if creep or defensive:
            pressure += g["per_scr"] * (scrs - g["reference_scr_per_year"] / 12.0)
        if self.month == self.shock_month:
            pressure += self.shock_size
        self.pressure = max(0.5, pressure)
        if creep:
            target = 1.0 + self.prescription_link * (self.pressure - 1.0)
            tau = g["ratchet_up_months"] if target > self.prescription else g[
                "ratchet_down_months"]
            self.prescription = max(0.2, self.prescription + (
                target - self.prescription) * _step(tau))
            m.assessment.compliance = min(1.0, self.base_compliance * self.prescription)
        else:
            self.prescription = 1.0
            m.assessment.compliance = self.base_compliance
        excess = self.pressure - 1.0 if defensive else 0.0
        m.community.notice_multiplier = max(0.2, 1.0 + g["notice_gain"] * excess)
        m.community.month_end()  # B1: early-help places respond to the waiting list
        gate = _shift(g["gate_threshold_gain"] * gap)
        fd = m.front_door
        # the front door rations its own backlog too: weeks of contacts waiting count
        # as load above the reference, ``backlog_weeks`` weeks to a unit
        fd_gap = gap + (fd.backlog_weeks() / g["gate_backlog_weeks"] if on["gatekeeping"]
                        else 0.0)
        fd.threshold_shift = g["threshold_gain"] * excess - _shift(
            g["gate_threshold_gain"] * fd_gap)
        fd.triage = 1.0 / _bounded(1.0 + g["gate_effort_gain"] * fd_gap)
        m.assessment.urgent_shift = g["s47_gain"] * excess
        m.assessment.gate_shift = gate
        m.assessment.gate_effort = 1.0 / _bounded(1.0 + g["gate_effort_gain"] * gap)
        prot = m.protection
        prot.decision_shift = g["s47_gain"] * excess
        prot.court_multiplier = _bounded(1.0 + g["court_gain"] * excess)
        prot.step_down_multiplier = _bounded(1.0 + g["gate_step_down_gain"] * gap)
        compliance = g["prep_share"] if self._preparing() else 0.0
        wf.update_time_split(self.prescription, self.sickness, compliance)

    def _preparing(self) -> bool:
        """Whether the coming month overlaps the preparation before an announced inspection."""
        g = self.g
        if not self.on["inspection_regime"] or g["regime"] != "announced":
            return False
        interval = g["interval_years"] * YEAR
        prep = g["prep_months"] * MONTH
        t0 = self.m.env.now
        t1 = t0 + MONTH
        k = math.floor(t0 / interval - 0.5)
        for j in (k, k + 1, k + 2):
            visit = (j + 0.5) * interval
            if visit > 0 and t0 < visit and t1 > visit - prep:
                return True
        return False

    def record(self, month: int, incidents: int, scrs: int) -> None:
        """Append the stocks at the end of ``month``."""
        m = self.m
        counts = m.counts
        wf = m.workforce
        row: dict[str, Any] = {"rep": m.rep, "month": month, "time": m.env.now}
        for i, s in enumerate(STAGES):
            if s != "left":
                row[f"stage_{s}"] = int(counts[i])
        row["cin_open"] = int(counts[_CIN_IDX].sum())
        row["looked_after"] = int(counts[_LAC_IDX].sum())
        now = m.env.now
        row["looked_after_16_plus"] = sum(
            1 for c in m.protection.in_care if now - c.birth >= _SIXTEEN)
        row["in_proceedings"] = int(counts[_PROCEEDINGS_IDX].sum())
        row["contacts_waiting"] = m.front_door.waiting()
        row.update(wf.snapshot())
        row["stress"] = self.stress
        row["morale"] = 1.0 - self.deficit
        row["pressure"] = self.pressure
        row["prescription"] = self.prescription
        row["load"] = self.load
        row["early_help_places"] = m.community.eh_places
        row["early_help_occupancy"] = m.community.eh_occupancy()
        row["early_help_waiting"] = m.community.eh_waiting()
        row["leavers_in_month"] = wf.leavers
        row["joiners_in_month"] = wf.joiners
        row["incidents_in_month"] = incidents
        row["scrs_in_month"] = scrs
        wf.leavers = wf.joiners = 0
        self.rows.append(row)

    def stocks_frame(self) -> pd.DataFrame:
        """The monthly stocks recorded so far, columns in :data:`STOCK_COLUMNS` order."""
        df = pd.DataFrame(self.rows, columns=list(STOCK_COLUMNS))
        return df.astype({"rep": np.int32, "month": np.int32})

    def schedule_recurrence(self, child: Child, t: float, tier: int) -> None:
        """A new concern for ``child`` at time ``t`` (days), if within the run (and the
        child is still under 18 then: :meth:`Community.new_episode` checks)."""
        m = self.m
        if t >= self.until:
            return
        ev = Timeout(m.env, t - m.env.now, (child, tier))
        ev.callbacks.append(self._recur)

    def _recur(self, event: Timeout) -> None:
        child, tier = event._value
        self.m.community.new_episode(child, self.m.env.now, tier)


def _shift(tiers: float) -> float:
    """Gatekeeping's threshold shift kept within [-0.5, 1] tiers."""
    return min(1.0, max(-0.5, tiers))


def _bounded(multiplier: float) -> float:
    """A loop's multiplier kept within [0.2, 5]."""
    return min(5.0, max(0.2, multiplier))


def _step(tau_months: float) -> float:
    """Share of the gap closed in one month by a first-order delay of ``tau_months``."""
    return 1.0 - math.exp(-1.0 / tau_months)


def _bind(step, **kwargs):
    def bound(m, child):
        return step(m, child, **kwargs)
    return bound
