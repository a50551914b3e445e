"""Validation: the model's KPIs against the published national figures.

For every target row the table gives the band, the model's mean and 95% confidence
interval over replications, the rule the row is judged by and whether it is met. A
scenario passes when every high- and medium-confidence target is met; low-confidence rows
are plausibility bands, reported but not required. The verdict reads the targets; the
model never does.

The rules, by the kind of KPI:

* ``mean in band`` (most KPIs: counts of thousands or hundreds of events a year, stocks,
  shares, durations): the mean over replications lies in the band. Over the default 10
  replications of 5 years these means are known to within a few percent (their 95%
  intervals are a small fraction of the bands), so the verdict is the same at any seed
  unless a mean sits within about one interval of a band edge.
* ``95% CI overlaps band`` (rare events, :data:`RARE_EVENT_KPIS`: a replication sees a
  handful, so the mean over 10 replications moves by a third of itself from seed to
  seed): the 95% Student t interval of the mean and the band have a point in common, i.e.
  the data are consistent with a value in the band. That is meaningful only if the
  interval is no wider than the band, so the replications are chosen by the replication
  rule (:mod:`sim.experiments.replications`) at a relative precision of the band's
  half-width over the published value (:func:`rare_event_precision`), from the default
  replications up: a model whose mean lies a band's width outside the band fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.outputs.targets import load_targets

#: Target confidences that must be met for a pass.
REQUIRED: frozenset[str] = frozenset({"high", "medium"})

#: The rule for most KPIs: the mean over replications lies in the band.
MEAN_IN_BAND = "mean in band"
#: The rule for rare events: the 95% interval of the mean overlaps the band.
INTERVAL_OVERLAPS_BAND = "95% CI overlaps band"
#: KPIs counting events so rare that one replication sees a handful: serious case reviews,
#: about 0.7 a year in an LA, so 3 or 4 in a 5-year run.
RARE_EVENT_KPIS: frozenset[str] = frozenset({"serious_case_reviews_per_year"})


def rule_for(kpi: str) -> str:
    """The rule a target on ``kpi`` is judged by (see the module)."""
    return INTERVAL_OVERLAPS_BAND if kpi in RARE_EVENT_KPIS else MEAN_IN_BAND


def rare_event_precision(target: Any) -> float:
    """Relative precision asked of a rare-event KPI: the band's half-width over the
    published value, so that the 95% interval is about as wide as the band."""
    return float((target["high"] - target["low"]) / 2.0 / abs(target["per_la_value"]))


def judge(rule: str, mean: float, ci_low: float, ci_high: float, low: float, high: float
          ) -> bool:
    """Whether a KPI's mean and 95% interval meet a target band under ``rule``."""
    if not np.isfinite(mean):
        return False
    if rule == INTERVAL_OVERLAPS_BAND:
        lo = ci_low if np.isfinite(ci_low) else mean
        hi = ci_high if np.isfinite(ci_high) else mean
        return bool(lo <= high and hi >= low)
    return bool(low <= mean <= high)


@dataclass(frozen=True)
class Validation:
    """The validation of one scenario.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per target: kpi, unit, target, low, high, confidence, mean, ci_low,
        ci_high, n, in_band (the mean lies in the band), rule, met (the row passes its
        rule), required.
    passed : bool
        Whether every required target is met.
    """

    table: pd.DataFrame
    passed: bool

    @property
    def failures(self) -> list[str]:
        """KPIs whose required target is missed."""
        t = self.table
        return list(t.loc[t["required"] & ~t["met"], "kpi"])


def validation_table(summary: pd.DataFrame,
                     targets: pd.DataFrame | str | os.PathLike[str] | None = None
                     ) -> Validation:
    """Compare a run's KPI summary with the targets.

    Parameters
    ----------
    summary : pandas.DataFrame
        Indexed by KPI with columns mean, ci_low, ci_high, n (see
        :func:`sim.outputs.statistics.summarise`).
    targets : DataFrame or path, optional
        The targets (default: the shipped England 2010-11 figures).
    """
    if not isinstance(targets, pd.DataFrame):
        targets = load_targets(targets)
    rows: list[dict[str, Any]] = []
    for kpi, t in targets.iterrows():
        s = summary.loc[kpi] if kpi in summary.index else None
        mean = float(s["mean"]) if s is not None else float("nan")
        in_band = bool(np.isfinite(mean) and t["low"] <= mean <= t["high"])
        ci_low = float(s["ci_low"]) if s is not None else float("nan")
        ci_high = float(s["ci_high"]) if s is not None else float("nan")
        rule = rule_for(str(kpi))
        rows.append({
            "kpi": kpi, "unit": t["unit"], "target": float(t["per_la_value"]),
            "low": float(t["low"]), "high": float(t["high"]),
            "confidence": t["confidence"], "mean": mean, "ci_low": ci_low,
            "ci_high": ci_high, "n": int(s["n"]) if s is not None else 0,
            "in_band": in_band, "rule": rule,
            "met": judge(rule, mean, ci_low, ci_high, float(t["low"]), float(t["high"])),
            "required": t["confidence"] in REQUIRED,
        })
    table = pd.DataFrame(rows)
    passed = bool(table.loc[table["required"], "met"].all())
    return Validation(table, passed)


def write_validation(validation: Validation, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``validation.csv`` (atomically) and ``validation.png`` into ``out_dir``."""
    from sim.outputs import files as output

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "validation.csv"
    output.atomic_write_text(path, validation.table.to_csv(index=False))
    fig = validation_figure(validation.table)
    with output.atomic_path(out / "validation.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png", facecolor="white")
    return path


def validation_figure(table: pd.DataFrame):
    """Model mean and 95% CI against the target band, per KPI
    (:func:`sim.outputs.figures.validation_figure`)."""
    from sim.outputs.figures import validation_figure as draw

    return draw({"model": table})


def format_table(table: pd.DataFrame) -> str:
    """The validation table as fixed-width text."""
    lines = [f"{'KPI':42s} {'band':>17s} {'conf':>6s} {'model mean':>11s} "
             f"{'95% CI':>21s} {'reps':>4s}  {'rule':20s}  met"]
    lines.append("-" * len(lines[0]))
    for r in table.itertuples(index=False):
        band = f"{_num(r.low)} to {_num(r.high)}"
        ci = f"{_num(r.ci_low)} to {_num(r.ci_high)}"
        met = getattr(r, "met", r.in_band)
        rule = getattr(r, "rule", MEAN_IN_BAND)
        mark = "yes" if met else ("NO" if r.required else "no (low confidence)")
        lines.append(f"{r.kpi:42s} {band:>17s} {r.confidence:>6s} {_num(r.mean):>11s} "
                     f"{ci:>21s} {r.n:>4d}  {rule:20s}  {mark}")
    return "\n".join(lines)


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def format_markdown(table: pd.DataFrame) -> str:
    """The validation table as a Markdown table (as the README shows it), with the same
    numbers as :func:`format_table`."""
    lines = ["| KPI | band | confidence | model mean (95% CI) | reps | rule | met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table.itertuples(index=False):
        met = getattr(r, "met", r.in_band)
        rule = getattr(r, "rule", MEAN_IN_BAND)
        mark = "yes" if met else ("NO" if r.required else "no (low confidence)")
        lines.append(f"| {r.kpi} | {_num(r.low)} to {_num(r.high)} | {r.confidence} | "
                     f"{_num(r.mean)} ({_num(r.ci_low)} to {_num(r.ci_high)}) | {r.n} | "
                     f"{rule} | {mark} |")
    return "\n".join(lines)
