"""Tables for the terminal: KPI summaries with calibration bands, comparisons, warm-up
series and sensitivity indices, in fixed-width text."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sim.outputs.numbers import sig3, value_kind

#: The shipped target files (as :data:`sim.outputs.targets.TARGET_FILES`).
CALIBRATION_FILES: tuple[str, ...] = ("data/calibration/england-2010-11.csv",
                                      "data/calibration/care-flows-2010-11.csv")


@dataclass(frozen=True)
class Target:
    """A calibration target band for one KPI (per average LA)."""

    kpi: str
    unit: str
    value: float
    low: float
    high: float
    confidence: str


def calibration_targets() -> dict[str, Target]:
    """The calibration targets shipped with the package, by KPI name."""
    targets: dict[str, Target] = {}
    rows = []
    for name in CALIBRATION_FILES:
        text = resources.files("sim").joinpath(name).read_text(encoding="utf-8")
        rows.extend(csv.DictReader(io.StringIO(text)))
    for row in rows:
        try:
            targets[row["kpi"]] = Target(
                row["kpi"], row["unit"], float(row["per_la_value"]), float(row["low"]),
                float(row["high"]), row.get("confidence", "") or "",
            )
        except (KeyError, ValueError):
            continue
    return targets


def format_value(x: float | None, unit: str) -> str:
    """A number for the table: 3 significant figures for rates and shares (no exponent
    notation: large values are rounded to whole numbers), 1 decimal for counts."""
    if x is None or not math.isfinite(x):
        return "-"
    if value_kind(unit) == "count":
        return f"{x:.1f}"
    return sig3(x)


def plain(x: float) -> str:
    """A published target as written: whole numbers without decimals, else up to 6 figures."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.6g}"


def kpi_table(summary: Any, units: Mapping[str, str], targets: Mapping[str, Target]) -> str:
    """Fixed-width table of KPI means and 95% CIs, with calibration bands where known.

    ``summary`` is a DataFrame indexed by KPI with columns mean, ci_low and ci_high. The
    unit comes last so that it can be shown in full without breaking the alignment.
    """
    header = ("KPI", "mean", "95% CI", "target band", "in band", "unit")
    rows: list[tuple[str, ...]] = []
    for name, row in summary.iterrows():
        name = str(name)
        target = targets.get(name)
        unit = units.get(name) or (target.unit if target else "")
        mean, lo, hi = (float(row[c]) for c in ("mean", "ci_low", "ci_high"))
        ci = "-" if not (math.isfinite(lo) and math.isfinite(hi)) else (
            f"{format_value(lo, unit)} to {format_value(hi, unit)}")
        if target is None:
            band, mark = "", ""
        else:
            band = f"{plain(target.low)} to {plain(target.high)}"
            if target.confidence:
                band += f" ({target.confidence})"
            if not math.isfinite(mean):
                mark = "-"
            else:
                mark = "yes" if target.low <= mean <= target.high else "NO"
        rows.append((name, format_value(mean, unit), ci, band, mark, unit))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths[:-1]] + ["-" * len(header[-1])]
    out = [line(header), line(rule)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


def comparison_table(table: Any, units: Mapping[str, str], base: str) -> str:
    """Fixed-width text of a comparison table (:data:`sim.outputs.comparison.COLUMNS`)."""
    header = ("KPI", "scenario", "mean", "95% CI", f"diff from {base}", "95% CI of diff", "",
              "unit")
    rows: list[tuple[str, ...]] = []
    last = None
    for _, r in table.iterrows():
        kpi = str(r["kpi"])
        unit = units.get(kpi, "")

        def ci(lo: float, hi: float, unit: str = unit) -> str:
            if not (math.isfinite(lo) and math.isfinite(hi)):
                return "-"
            return f"{format_value(lo, unit)} to {format_value(hi, unit)}"

        if r["is_base"]:
            diff = diff_ci = mark = ""
        else:
            d = float(r["diff"])
            diff = "-" if not math.isfinite(d) else (
                ("+" if d > 0 else "") + format_value(d, unit))
            diff_ci = ci(float(r["diff_ci_low"]), float(r["diff_ci_high"]))
            mark = "*" if bool(r["significant"]) else ""
        rows.append((kpi if kpi != last else "", str(r["scenario"]),
                     format_value(float(r["mean"]), unit),
                     ci(float(r["ci_low"]), float(r["ci_high"])), diff, diff_ci, mark,
                     unit if kpi != last else ""))
        last = kpi
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths[:-1]] + ["-" * len(header[-1])]
    return "\n".join([line(header), line(rule), *(line(r) for r in rows)])


def series_text(result: Any) -> str:
    """The batch means of a warm-up series, one line each, with the cut marked."""
    b = result.mser.batch
    z = result.mser.batch_means
    width = 40
    lo, hi = float(z.min()), float(z.max())
    span = hi - lo if hi > lo else 1.0
    lines = [f"{'months':>9}  {'mean':>10}"]
    for i, value in enumerate(z):
        bar = "#" * max(1, round((float(value) - lo) / span * width))
        lines.append(f"{i * b + 1:>4}-{(i + 1) * b:<4}  {format_value(float(value), ''):>10}  "
                     f"{bar}")
        if i + 1 == result.mser.batches:
            lines.append(f"{'':>9}  {'':>10}  " + "-" * 8 + " warm-up cut " + "-" * 8)
    return "\n".join(lines)


def indices_text(part: Any, cols: Sequence[str]) -> str:
    header = ("parameter", *cols)
    rows = [(str(r["param"]), *(sig3(float(r[c])) if math.isfinite(float(r[c])) else "-"
                                for c in cols)) for _, r in part.iterrows()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                  for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in [header, tuple("-" * w for w in widths), *rows])
