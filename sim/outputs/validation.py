"""Validation: the model's KPIs against the published national figures.

For every target row the table gives the band, the model's mean and 95% confidence
interval over replications, and whether the mean lies in the band. A scenario passes when
every high- and medium-confidence target's mean is in its band; low-confidence rows are
plausibility bands, reported but not required. The verdict reads the targets; the model
never does.
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


@dataclass(frozen=True)
class Validation:
    """The validation of one scenario.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per target: kpi, unit, target, low, high, confidence, mean, ci_low,
        ci_high, n, in_band, required.
    passed : bool
        Whether every required target's mean lies in its band.
    """

    table: pd.DataFrame
    passed: bool

    @property
    def failures(self) -> list[str]:
        """KPIs whose required target is missed."""
        t = self.table
        return list(t.loc[t["required"] & ~t["in_band"], "kpi"])


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
        rows.append({
            "kpi": kpi, "unit": t["unit"], "target": float(t["per_la_value"]),
            "low": float(t["low"]), "high": float(t["high"]),
            "confidence": t["confidence"], "mean": mean,
            "ci_low": float(s["ci_low"]) if s is not None else float("nan"),
            "ci_high": float(s["ci_high"]) if s is not None else float("nan"),
            "n": int(s["n"]) if s is not None else 0,
            "in_band": in_band, "required": t["confidence"] in REQUIRED,
        })
    table = pd.DataFrame(rows)
    passed = bool(table.loc[table["required"], "in_band"].all())
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
             f"{'95% CI':>21s}  in band"]
    lines.append("-" * len(lines[0]))
    for r in table.itertuples(index=False):
        band = f"{_num(r.low)} to {_num(r.high)}"
        ci = f"{_num(r.ci_low)} to {_num(r.ci_high)}"
        mark = "yes" if r.in_band else ("NO" if r.required else "no (low confidence)")
        lines.append(f"{r.kpi:42s} {band:>17s} {r.confidence:>6s} {_num(r.mean):>11s} "
                     f"{ci:>21s}  {mark}")
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
    lines = ["| KPI | band | confidence | model mean (95% CI) | in band |",
             "| --- | --- | --- | --- | --- |"]
    for r in table.itertuples(index=False):
        mark = "yes" if r.in_band else ("NO" if r.required else "no (low confidence)")
        lines.append(f"| {r.kpi} | {_num(r.low)} to {_num(r.high)} | {r.confidence} | "
                     f"{_num(r.mean)} ({_num(r.ci_low)} to {_num(r.ci_high)}) | {mark} |")
    return "\n".join(lines)
