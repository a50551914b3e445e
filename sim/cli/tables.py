"""Tables for the terminal: KPI summaries with calibration bands, comparisons, warm-up
series and sensitivity indices.

The KPI and comparison tables name measures in words with their units
(:mod:`sim.outputs.labels`), write shares as percentages, and fit a 100-column terminal:
long cells wrap (laid out by ``rich``). ``--wide`` gives the full table (code names, units,
every interval) at its natural width."""

from __future__ import annotations

import argparse
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.outputs.labels import (
    Label,
    fmt,
    fmt_diff,
    fmt_interval,
    fmt_pct_change,
    kpi_label,
)
from sim.outputs.numbers import sig3, value_kind


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
    """The calibration targets shipped with the package
    (:func:`sim.outputs.targets.load_targets`), by KPI name."""
    from sim.outputs.targets import load_targets

    targets: dict[str, Target] = {}
    for kpi, row in load_targets().iterrows():
        try:
            targets[str(kpi)] = Target(
                str(kpi), str(row["unit"]), float(row["per_la_value"]), float(row["low"]),
                float(row["high"]),
                row["confidence"] if isinstance(row.get("confidence"), str) else "",
            )
        except (KeyError, TypeError, ValueError):
            continue
    return targets


def format_value(x: float | None, unit: str) -> str:
    """A number for the table, by the kind its unit text names: shares as percentages,
    counts and rates to 3 significant figures with thousands separators."""
    if x is None or not math.isfinite(x):
        return "-"
    return fmt(x, Label("", unit, "share" if value_kind(unit) == "share" else "count"))


def plain(x: float) -> str:
    """A published target as written: whole numbers without decimals, else up to 6 figures."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.6g}"


#: Width of the terminal tables unless ``--wide``: they fit a 100-column terminal.
WIDTH = 100
#: Width allowed with ``--wide``: the table takes its natural width.
WIDE = 1000


def render(table: Any, *, wide: bool = False, width: int = WIDTH) -> str:
    """A :class:`rich.table.Table` as plain text, at most ``width`` characters a line (cells
    wrap), or at its natural width when ``wide``; no colour, no trailing spaces."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=WIDE if wide else width, color_system=None,
                      force_terminal=False, highlight=False, emoji=False, soft_wrap=False,
                      legacy_windows=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def _table(*columns: tuple[str, str], wide: bool) -> Any:
    """An empty rich table with the given (heading, justify) columns; only the first
    (the measure, in words) wraps."""
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False,
              safe_box=True)
    for i, (heading, justify) in enumerate(columns):
        t.add_column(heading, justify=justify, overflow="fold", no_wrap=wide or i > 0)
    return t


def _cells(*texts: str) -> list[Any]:
    from rich.text import Text

    return [Text(t) for t in texts]


def kpi_table(summary: Any, units: Mapping[str, str] | None = None,
              targets: Mapping[str, Target] | None = None, *, wide: bool = False,
              width: int = WIDTH) -> str:
    """The KPI means and 95% intervals of one run, measures in words.

    ``summary`` is a DataFrame indexed by KPI with columns mean, ci_low and ci_high.
    ``targets`` (the England 2010-11 bands) are shown with whether the mean lies in them;
    give them only for the baseline, which they judge. ``wide`` adds the code name and the
    unit of each measure and lets the table take its natural width.
    """
    targets = targets or {}
    columns = [("Measure", "left"), ("Mean", "right"), ("95% interval", "right")]
    if targets:
        columns += [("England 2010-11 band", "right"), ("In band", "left")]
    if wide:
        columns += [("KPI", "left"), ("Unit", "left")]
    t = _table(*columns, wide=wide)
    for name, row in summary.iterrows():
        name = str(name)
        lab = kpi_label(name)
        mean = _num(row["mean"])
        cells = [lab.label if wide else _with_unit(lab), fmt(mean, lab),
                 fmt_interval(row["ci_low"], row["ci_high"], lab)]
        if targets:
            target = targets.get(name)
            if target is None:
                cells += ["", ""]
            else:
                band = fmt_interval(target.low, target.high, lab)
                if target.confidence:
                    band += f" ({target.confidence})"
                mark = "-" if not math.isfinite(mean) else (
                    "yes" if target.low <= mean <= target.high else "NO")
                cells += [band, mark]
        if wide:
            cells += [name, lab.unit or (units or {}).get(name, "")]
        t.add_row(*_cells(*cells))
    return render(t, wide=wide, width=width)


def _with_unit(lab: Label) -> str:
    """The label, with its unit where neither the label nor the number says it (a duration
    or an index: shares show %, rates say "a year", counts name what they count)."""
    if lab.kind in ("duration", "index") and lab.unit:
        return f"{lab.label}, in {lab.unit}"
    return lab.label


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def comparison_table(table: Any, units: Mapping[str, str] | None = None, base: str = "", *,
                     wide: bool = False, width: int = WIDTH) -> str:
    """A comparison table (:data:`sim.outputs.comparison.COLUMNS`) for the terminal: per
    measure, each scenario's mean and its change from the base with the 95% interval of the
    change; '*' marks a clear change (the interval excludes zero). A measure a scenario
    abolishes reads "not applicable". ``wide`` adds the code name and the interval of each
    mean, at the table's natural width."""
    from sim.outputs.comparison import complete

    table = complete(table)
    base = base or str(table[table["is_base"]]["scenario"].iloc[0])
    columns = [("Measure", "left"), ("Scenario", "left"), ("Mean", "right")]
    if wide:
        columns += [("95% interval", "right")]
    columns += [(f"Change from\n{base}", "right"), ("95% interval\nof the change", "right"),
                ("", "left")]
    if wide:
        columns += [("KPI", "left")]
    t = _table(*columns, wide=wide)
    kpis = list(dict.fromkeys(table["kpi"]))
    for k, kpi in enumerate(kpis):
        lab = kpi_label(str(kpi))
        rows = table[table["kpi"] == kpi]
        rows = rows.sort_values("is_base", ascending=False, kind="stable")
        for i, (_, r) in enumerate(rows.iterrows()):
            name = str(r["scenario"])
            first = i == 0
            cells = [(lab.label if wide else _with_unit(lab)) if first else "", name]
            if bool(r["is_base"]):
                cells += [fmt(r["mean"], lab)]
                if wide:
                    cells += [fmt_interval(r["ci_low"], r["ci_high"], lab)]
                cells += ["", "", ""]
            elif not bool(r["applicable"]):
                cells += ["-"] + (["-"] if wide else []) + ["not applicable", "", ""]
            else:
                change = fmt_diff(r["diff"], lab)
                pct = _num(r["pct"])
                if lab.kind != "share" and math.isfinite(pct):
                    change += f" ({fmt_pct_change(pct)})"
                cells += [fmt(r["mean"], lab)]
                if wide:
                    cells += [fmt_interval(r["ci_low"], r["ci_high"], lab)]
                cells += [change, fmt_interval(r["diff_ci_low"], r["diff_ci_high"], lab,
                                               diff=True),
                          "*" if bool(r["significant"]) else ""]
            if wide:
                cells += [str(kpi) if first else ""]
            t.add_row(*_cells(*cells), end_section=i == len(rows) - 1 and k < len(kpis) - 1)
    return render(t, wide=wide, width=width)


def warnings_text(warnings: Sequence[Any], scenario: str = "") -> str:
    """Warnings about a run (:class:`sim.outputs.checks.RunWarning`) as wrapped lines."""
    import textwrap

    from sim.outputs.checks import joined_messages

    lines: list[str] = []
    for message in joined_messages(warnings):
        head = f"warning ({scenario}): " if scenario else "warning: "
        lines.extend(textwrap.wrap(head + message, WIDTH, subsequent_indent="  "))
    return "\n".join(lines)


def wide_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wide", action="store_true",
        help="print the full table (code names, units, every interval) at its natural "
             "width instead of fitting it to 100 columns",
    )


def print_warnings(result: Any, scenario: str = "") -> None:
    """The warnings about a finished run (short warm-up, trending stocks, growing backlog)."""
    from sim.clock import Window
    from sim.outputs.checks import run_warnings

    manifest = getattr(result, "manifest", None) or {}
    warmup = float(manifest.get("warmup_years") or 0.0)
    years = float(manifest.get("years") or 0.0)
    try:
        stocks = result.stocks()
    except (OSError, ValueError):
        stocks = None
    if years <= 0:
        return
    text = warnings_text(run_warnings(stocks, Window.from_years(warmup, years), warmup),
                         scenario)
    if text:
        print(text)


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
