"""The system layer: a monthly step over the discrete-event model, and its feedback loops.

Each month it brings the stage counts up to date, records the monthly stocks, updates
the slow variables below and what they drive, draws the month's leavers and generates
the concerns of the coming month. It also creates the stocks that exist at the start of
the run (children already on plans or looked after).

Slow variables (monthly, first-order adjustment ``x += (target - x) * (1 - exp(-1/tau))``
with ``tau`` in months):

* **stress** (index, 1 = at the manageable caseload): target
  ``1 + (caseload / manageable - 1) * (1 - reflective_relief * reflective)`` above the
  manageable caseload (``reflective`` is the share of needed supervision that is
  reflective), ``caseload / manageable`` below it.
* **morale** = 1 - deficit; the deficit follows ``max(0, stress - 1)`` (slower).
* **sickness** share = ``sickness_share + sickness_gain * max(0, stress - 1)``.
* **pressure** (index, 1 = 2010): ``P = 1 + (P - 1) exp(-1/decay) + per_scr * (SCRs this
  month - reference_scr_per_year / 12)``, plus any shock; at least 0.5.
* **prescription** (index, 1 = 2010): follows ``1 + link * (P - 1)`` (link cut by
  ``systems_link_reduction`` under systems-approach SCRs), rising with time constant
  ``ratchet_up_months`` and falling with ``ratchet_down_months``.

Loops (:mod:`sim.model.loops`), each acting only when switched on:

* R1 workforce spiral: stress and morale (always computed) act: the leaving hazard is
  multiplied by ``1 + turnover_gain * (1 - morale)`` and sickness takes hours from
  direct work.
* R2 procedure creep: SCRs move pressure; prescription scales the recording share and
  the chance an overrunning assessment is closed at its deadline.
* R3 defensive practice: pressure raises universal services' contacts about tiers 0-1
  (``1 + notice_gain * (P - 1)``) and lowers the front door's referral threshold and
  the threshold for section 47 (``threshold_gain``, ``s47_gain`` tiers per unit).
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
from sim.model.loops import enabled
from sim.records import CIN_STAGES, STAGES, STOCK_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.child import Child
    from sim.model.simulation import Model

_CIN_IDX = [i for i, s in enumerate(STAGES) if s in CIN_STAGES]


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
        self._initial_population()
        self.m.env.process(self._monthly())
        if switch is not None and switch[0] < until:
            ev = self.m.env.timeout(switch[0])
            ev.callbacks.append(lambda _ev: self.m.switch(switch[1]))

    def _initial_population(self) -> None:
        m = self.m
        p = m.p
        rng = m.rng.initial
        pop10k = p["population.child_population"] / 10_000.0
        sigma = p["population.complexity_sigma"]
        prot = m.protection
        groups = (
            ("protection.initial_looked_after", 3, prot.looked_after),
            ("protection.initial_cp_plans", 3, prot.cp_plan),
            ("protection.initial_cin_plans", 2, prot.cin_plan),
            ("court.initial_proceedings", 3, m.court.proceedings),
        )
        # A stock seen at one moment over-represents long stays: plan help is divided by
        # complexity, so stays grow with it, and the children on plans at the start are
        # drawn length-biased (a lognormal with mean 1 reweighted by complexity is the
        # same lognormal scaled by exp(sigma^2)).
        biased = math.exp(sigma * sigma)
        for key, tier, step in groups:
            n = rng.poisson(p[key] * pop10k)
            scale = biased if step in (prot.cp_plan, prot.cin_plan) else 1.0
            for _ in range(n):
                child = m.new_child(tier, scale * rng.lognormal_mean1(sigma))
                child.known = tier
                m.log(child, "concern", "community")
                if step == prot.looked_after:
                    # assumption: most children in care long term are on care orders
                    child.care_order = rng.random() < 0.85
                    rate = prot.order_exit if child.care_order else prot.lac_exit
                    stay = rng.exponential(1.0 / rate) if rate > 0 else 1e12
                    m.start_journey(child, m.env.now, _bind(step, stay=stay))
                elif step == m.court.proceedings:
                    m.start_journey(child, m.env.now, step)
                else:
                    first = rng.random() * prot.review_interval
                    m.start_journey(child, m.env.now, _bind(step, first_review=first))

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
        raw = wf.mean_caseload() / g["manageable_caseload"]
        target = (1.0 + (raw - 1.0) * (1.0 - g["reflective_relief"] * wf.reflective_fraction)
                  if raw > 1.0 else raw)
        self.stress += (target - self.stress) * _step(g["stress_months"])
        self.deficit += (max(0.0, self.stress - 1.0) - self.deficit) * _step(g["morale_months"])
        if on["workforce_spiral"]:
            wf.leave_multiplier = 1.0 + g["turnover_gain"] * self.deficit
            self.sickness = g["sickness_share"] + g["sickness_gain"] * max(0.0, self.stress - 1.0)
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
        m.front_door.threshold_shift = g["threshold_gain"] * excess
        m.assessment.urgent_shift = g["s47_gain"] * excess
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
        row["contacts_waiting"] = m.front_door.waiting()
        row.update(wf.snapshot())
        row["stress"] = self.stress
        row["morale"] = 1.0 - self.deficit
        row["pressure"] = self.pressure
        row["prescription"] = self.prescription
        row["early_help_places"] = m.community.eh_places
        row["early_help_occupancy"] = m.community.eh_occupancy()
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
        """A new concern for ``child`` at time ``t`` (days), if within the run."""
        m = self.m
        if t >= self.until:
            return
        ev = Timeout(m.env, t - m.env.now, (child, tier))
        ev.callbacks.append(self._recur)

    def _recur(self, event: Timeout) -> None:
        child, tier = event._value
        self.m.community.new_episode(child, self.m.env.now, tier)


def _step(tau_months: float) -> float:
    """Share of the gap closed in one month by a first-order delay of ``tau_months``."""
    return 1.0 - math.exp(-1.0 / tau_months)


def _bind(step, **kwargs):
    def bound(m, child):
        return step(m, child, **kwargs)
    return bound
