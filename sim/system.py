"""The system layer: a monthly step over the discrete-event model.

Each month it applies the stage changes and incidents that have come due, records the
monthly stocks, updates the slow variables (pressure and prescription, fixed at their
2010 level of 1 until the feedback loops act on them) and the time split they imply,
and generates the concerns that arise in the coming month. It also creates the stocks
that exist at the start of the run (children already on plans or looked after).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.clock import MONTH
from sim.records import CIN_STAGES, STAGES, STOCK_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from sim.child import Child
    from sim.model import Model

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
        self.until = float("inf")
        self.month = 0

    def start(self, until: float) -> None:
        """Create the initial stocks and start the monthly process (run ends at ``until``)."""
        self.until = until
        self._initial_population()
        self.m.env.process(self._monthly())

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
        )
        for key, tier, step in groups:
            n = rng.poisson(p[key] * pop10k)
            for _ in range(n):
                child = m.new_child(tier, rng.lognormal_mean1(sigma))
                child.known = tier
                m.log(child, "concern", "community")
                if step == prot.looked_after:
                    child.care_order = rng.random() < 0.6  # assumption: most are on orders
                    rate = prot.order_exit if child.care_order else prot.lac_exit
                    stay = rng.exponential(1.0 / rate) if rate > 0 else 1e12
                    m.env.process(m._journey(child, 0.0, _bind(step, stay=stay)))
                else:
                    first = rng.random() * prot.review_interval
                    m.env.process(m._journey(child, 0.0, _bind(step, first_review=first)))

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
        incidents = self.m.apply_due(self.month)
        self.record(self.month, incidents)
        self.update()

    def finish(self) -> None:
        """Record the last month end if the run stopped exactly on it."""
        if self.m.env.now >= (self.month + 1) * MONTH - 1e-6:
            self.month_end()

    def update(self) -> None:
        """Update slow variables and what they drive (the feedback loops act here)."""
        self.m.workforce.update_time_split(self.prescription)

    def record(self, month: int, incidents: int) -> None:
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
        row["pressure"] = self.pressure
        row["prescription"] = self.prescription
        row["leavers_in_month"] = wf.leavers
        row["joiners_in_month"] = wf.joiners
        row["incidents_in_month"] = incidents
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
        ev = m.env.timeout(t - m.env.now)
        ev.callbacks.append(lambda _ev: m.community.new_episode(child, m.env.now, tier))


def _bind(step, **kwargs):
    def bound(m, child):
        return step(m, child, **kwargs)
    return bound
