"""Where a reform's changes happen: the journey's stages with the measures that moved, the
workers' caseloads and time, and the feedback loops that moved.

These figures read a comparison table (:mod:`sim.outputs.comparison`: paired differences
from the base, ``significant`` when the 95% interval of the change excludes zero,
``applicable`` False where a policy abolishes a measure) and the scenarios' result
directories. Words, units and numbers come from :mod:`sim.outputs.labels`, as in the
report. A *clear* change is one whose interval excludes zero; the others are shown as
"no clear change" and never coloured.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sim.clock import YEAR
from sim.outputs.comparison import complete
from sim.outputs.figures import COLOURS, RC, ResultDir, _figure
from sim.outputs.labels import fmt, fmt_diff, fmt_pct_change, kpi_label, scenario_title

__all__ = [
    "LOOP_MEASURES",
    "OUTCOMES",
    "STAGES",
    "TIME_SHARES",
    "Change",
    "changes",
    "loop_marks",
    "ripple_figure",
    "workload_figure",
]

#: The steps of the child's journey and the measures that belong to each, in order.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Front door", ("referrals_per_year", "referral_nfa_share", "rereferral_rate_12m",
                    "screening_decision_accuracy", "screening_missed_harm_share",
                    "screening_unnecessary_share")),
    ("Assessment", ("assessments_per_year", "initial_assessment_within_timescale_share",
                    "core_assessment_within_35wd_share", "assessment_closed_at_deadline_share",
                    "s47_enquiries_per_year", "decision_accuracy",
                    "assessment_decision_accuracy", "assessment_missed_harm_share",
                    "assessment_unnecessary_share")),
    ("Plans", ("cin_open", "initial_cp_conferences_per_year", "cp_plans_started_per_year",
               "cp_plans_open", "conference_decision_accuracy", "conference_missed_harm_share",
               "conference_unnecessary_share")),
    ("Court", ("care_applications_per_year", "care_proceedings_weeks_mean",
               "care_proceedings_within_26wk_share", "court_decision_accuracy",
               "court_missed_harm_share", "court_unnecessary_share")),
    ("Care", ("looked_after_open",)),
)
#: Measures across the journey: the workforce and what happens to children.
OUTCOMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Social workers", ("caseload_mean", "direct_work_share", "unallocated_cases_mean",
                        "sw_turnover_rate", "sw_vacancy_rate")),
    ("Children", ("time_to_help_days_median", "missed_harm_per_year",
                  "unnecessary_interventions_per_year", "serious_incidents_per_year",
                  "serious_case_reviews_per_year")),
)
#: The variables of the feedback loops (sim.model.loops) and the measures that show them.
LOOP_MEASURES: dict[str, tuple[str, ...]] = {
    "caseload": ("caseload_mean",),
    "leavers": ("sw_turnover_rate",),
    "vacancies": ("sw_vacancy_rate",),
    "serious case reviews": ("serious_case_reviews_per_year",),
    "direct work": ("direct_work_share",),
    "missed harm": ("missed_harm_per_year",),
    "contacts and s47": ("s47_enquiries_per_year", "referrals_per_year"),
    "contacts": ("referrals_per_year",),
    "unmet need": ("time_to_help_days_median",),
}
#: The split of a worker's week (monthly stock columns), in the order drawn.
TIME_SHARES: tuple[tuple[str, str], ...] = (
    ("direct_share", "direct work"),
    ("recording_share", "recording"),
    ("travel_share", "travel"),
    ("supervision_share", "supervision"),
    ("other_share", "other work"),
    ("compliance_share", "inspection preparation"),
    ("sickness_share", "sickness"),
)
UP, DOWN = COLOURS[1], COLOURS[2]


@dataclass(frozen=True)
class Change:
    """One measure of one scenario against the base, in words."""

    kpi: str
    label: str
    base: str
    value: str
    change: str  # "+12% (+39.8)" or "+3.1 pp"; "" when not applicable
    clear: bool
    direction: int  # +1, -1 or 0
    applicable: bool = True


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def changes(table: pd.DataFrame, scenario: str | None = None) -> dict[str, Change]:
    """Each measure of ``scenario`` (default: the first that is not the base) in words."""
    table = complete(table)
    is_base = table["is_base"].astype(str).str.lower().isin(("true", "1"))
    base = table[is_base]
    others = table[~is_base]
    if scenario is None:
        scenario = str(others["scenario"].iloc[0]) if len(others) else ""
    rows = others[others["scenario"] == scenario]
    base_by = {str(r["kpi"]): r for _, r in base.iterrows()}
    out: dict[str, Change] = {}
    for _, r in rows.iterrows():
        kpi = str(r["kpi"])
        lab = kpi_label(kpi)
        b = base_by.get(kpi)
        applicable = bool(r["applicable"])
        diff = _f(r["diff"])
        if not applicable:
            text = "not applicable under this policy"
        elif lab.kind == "share":
            text = fmt_diff(diff, lab)
        else:
            text = fmt_pct_change(r["pct"]) if math.isfinite(_f(r["pct"])) else fmt_diff(diff,
                                                                                         lab)
        clear = applicable and bool(r["significant"])
        out[kpi] = Change(kpi, lab.short_label, fmt(b["mean"] if b is not None else None, lab),
                          fmt(r["mean"], lab), text, clear,
                          int(np.sign(diff)) if clear and math.isfinite(diff) else 0,
                          applicable)
    return out


def _line(c: Change) -> tuple[str, str]:
    """Text of one measure in a box and its colour."""
    if not c.applicable:
        return f"{c.label}: not applicable", "0.35"
    if not c.clear:
        return f"{c.label}: {c.value}", "0.4"
    arrow = "▲" if c.direction > 0 else "▼"
    return f"{arrow} {c.label}: {c.base} → {c.value} ({c.change})", UP if c.direction > 0 \
        else DOWN


#: Font size of the measures in the boxes (points) and their line height (inches).
_SIZE = 9.5
_LINE = _SIZE * 1.3 / 72


def _wrapped(items: Sequence[Change], width_chars: int) -> list[tuple[str, str, bool]]:
    out = []
    for c in sorted(items, key=lambda c: (not c.clear, c.kpi)):
        text, colour = _line(c)
        out.append((textwrap.fill(text, width_chars, subsequent_indent="   "), colour, c.clear))
    return out


def _height(lines: list[tuple[str, str, bool]]) -> float:
    n = sum(t.count("\n") + 1 for t, _, _ in lines)
    return 0.34 + n * _LINE + 0.05 * len(lines) + 0.12


def _box(ax: Any, x: float, y: float, w: float, h: float, title: str,
         lines: list[tuple[str, str, bool]]) -> None:
    """A box from its top-left corner ``(x, y)`` down by ``h`` (inches)."""
    moved = any(clear for _, _, clear in lines)
    ax.add_patch(FancyBboxPatch((x, y - h), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                fc="#eef5fb" if moved else "white",
                                ec="#0072B2" if moved else "0.55", lw=2.0 if moved else 0.8,
                                gid="ripple-stage"))
    ax.text(x + 0.08, y - 0.08, title + (": changed" if moved else ""), va="top",
            fontsize=11, fontweight="bold")
    yy = y - 0.38
    for text, colour, clear in lines:
        ax.text(x + 0.08, yy, text, va="top", fontsize=_SIZE, color=colour,
                fontweight="bold" if clear else "normal", linespacing=1.15)
        yy -= (text.count("\n") + 1) * _LINE + 0.05


def ripple_figure(table: pd.DataFrame, scenario: str | None = None) -> Figure:
    """The journey's steps (front door, assessment, plans, court, care) as boxes joined by
    arrows, each listing its measures: clear changes first, with an arrow, the base and the
    scenario's values and the change; then the workforce and the children's outcomes below."""
    ch = changes(table, scenario)
    complete_table = complete(table)
    base = str(complete_table[complete_table["is_base"].astype(str).str.lower()
                              .isin(("true", "1"))]["scenario"].iloc[0])
    if scenario is None:
        scenario = next((str(s) for s in dict.fromkeys(complete_table["scenario"])
                         if str(s) != base), base)
    width, margin, gap = 13.0, 0.12, 0.3
    n = len(STAGES)
    w = (width - 2 * margin - (n - 1) * gap) / n
    top = [_wrapped([ch[k] for k in kpis if k in ch], 27) for _, kpis in STAGES]
    bw = (width - 2 * margin - gap) / 2
    bottom = [_wrapped([ch[k] for k in kpis if k in ch], 55) for _, kpis in OUTCOMES]
    top_h = max(_height(lines) for lines in top)
    bottom_h = max(_height(lines) for lines in bottom)
    head = 0.75
    height = head + top_h + 0.3 + bottom_h + margin
    with rc_context(RC):
        fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    y = height - head
    for i, ((title, _), lines) in enumerate(zip(STAGES, top, strict=True)):
        x = margin + i * (w + gap)
        _box(ax, x, y, w, top_h, title, lines)
        if i < n - 1:
            ax.add_patch(FancyArrowPatch((x + w + 0.03, y - 0.25), (x + w + gap - 0.03, y - 0.25),
                                         arrowstyle="-|>", mutation_scale=16, color="0.3"))
    y -= top_h + 0.3
    for i, ((title, _), lines) in enumerate(zip(OUTCOMES, bottom, strict=True)):
        _box(ax, margin + i * (bw + gap), y, bw, bottom_h, title, lines)
    shown = {k for _, kpis in (*STAGES, *OUTCOMES) for k in kpis}
    n_clear = sum(c.clear for k, c in ch.items() if k in shown)
    ax.text(width / 2, height - 0.1, f"Where {scenario_title(scenario)} changes the journey, "
            f"against {scenario_title(base)}: {n_clear} clear change"
            f"{'s' if n_clear != 1 else ''}", ha="center", va="top", fontsize=12,
            fontweight="bold")
    ax.text(width / 2, height - 0.4, "▲/▼ and colour: the 95% interval of the paired change "
            "excludes zero; grey: no clear change (the reform's value). Shares change in "
            "percentage points (pp).", ha="center", va="top", fontsize=9.5, color="0.25")
    return fig


def _window_means(r: ResultDir, columns: Sequence[str]) -> dict[str, float]:
    """Mean of each stock column over the measured window and the replications."""
    stocks = r.stocks()
    if stocks is None or stocks.empty:
        return {}
    start = float(r.warmup_years) * YEAR
    window = stocks[stocks["time"] >= start] if "time" in stocks.columns else stocks
    return {c: float(window[c].mean()) for c in columns if c in window.columns}


def workload_figure(runs: Mapping[str, ResultDir]) -> Figure:
    """Caseloads (10th percentile, median, mean and 90th percentile of cases per worker) and
    the split of a worker's week, each scenario's mean over the measured window."""
    names = list(runs)
    loads = {n: _window_means(runs[n], ("caseload_p10", "caseload_p50", "caseload_mean",
                                        "caseload_p90")) for n in names}
    shares = {n: _window_means(runs[n], [c for c, _ in TIME_SHARES]) for n in names}
    fig = _figure(12.0, 1.2 + 0.9 * max(2, len(names)))
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.6))
    stats = (("caseload_p10", "10th percentile"), ("caseload_p50", "median"),
             ("caseload_mean", "mean"), ("caseload_p90", "90th percentile"))
    ys = np.arange(len(stats), dtype=float)
    h = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        vals = [loads[n].get(c, math.nan) for c, _ in stats]
        bars = left.barh(ys + (i - (len(names) - 1) / 2) * h, vals, height=h * 0.9,
                         color=COLOURS[i % len(COLOURS)], label=scenario_title(n))
        for b, v in zip(bars, vals, strict=True):
            if math.isfinite(v):
                left.text(b.get_width() + 0.2, b.get_y() + b.get_height() / 2, f"{v:.1f}",
                          va="center", fontsize=7.5)
    left.set_yticks(ys)
    left.set_yticklabels([s for _, s in stats])
    left.invert_yaxis()
    left.set_xlabel("cases per worker")
    left.set_title("Caseloads (cases held per social worker)")
    top = max((v for n in names for v in loads[n].values() if math.isfinite(v)), default=1.0)
    left.set_xlim(0, top * 1.15)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=7.5)
    cmap = ("#0072B2", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#D55E00", "0.6")
    yy = np.arange(len(names), dtype=float)
    for i, n in enumerate(names):
        acc = 0.0
        for j, (c, label) in enumerate(TIME_SHARES):
            v = shares[n].get(c, 0.0)
            if not math.isfinite(v):
                continue
            right.barh(yy[i], v * 100, left=acc, color=cmap[j % len(cmap)], height=0.6,
                       edgecolor="white", lw=0.5, label=label if i == 0 else None)
            if v >= 0.06:
                right.text(acc + v * 50, yy[i], f"{v * 100:.0f}%", ha="center", va="center",
                           fontsize=7.5, color="white" if j in (0, 5) else "black")
            acc += v * 100
    right.set_yticks(yy)
    right.set_yticklabels([scenario_title(n) for n in names])
    right.invert_yaxis()
    right.set_xlim(0, 100)
    right.set_xlabel("% of working time")
    right.set_title("A social worker's week")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=4, fontsize=7.5)
    right.grid(False)
    return fig


def loop_marks(table: pd.DataFrame, scenario: str | None = None
               ) -> tuple[set[str], dict[str, str]]:
    """Which feedback loops moved (a variable of theirs changed clearly) and, for each loop
    variable that changed clearly, the change in words (for the loop diagram)."""
    from sim.model.loops import LOOPS

    ch = changes(table, scenario)
    marks: dict[str, str] = {}
    for var, kpis in LOOP_MEASURES.items():
        moved = [ch[k] for k in kpis if k in ch and ch[k].clear]
        if moved:
            c = moved[0]
            marks[var] = f"{'▲' if c.direction > 0 else '▼'} {c.change}"
    loops = {lp.code for lp in LOOPS
             if any(v in marks for link in lp.links for v in (link.source, link.target))}
    return loops, marks
