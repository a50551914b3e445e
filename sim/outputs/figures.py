"""Figures of result directories, in one style that stays readable in greyscale.

Every function returns a :class:`matplotlib.figure.Figure` (built without pyplot, so no
global state is touched and nothing needs closing) and takes either data (DataFrames) or
result directories (see :mod:`sim.outputs.files` for their layout):

* :func:`stocks_figure`: monthly stocks over time, mean over replications with the 95%
  t-interval band, scenarios overlaid, one small panel per stock, warm-up shaded.
* :func:`flow_figure`: the child's journey from concern to outcome as a funnel of bands,
  with the exits at each step, in events per year of the measured window.
* :func:`distributions_figure`: time to help (Kaplan-Meier), assessment durations and the
  caseload distribution over time.
* :func:`forest_figure`: paired differences from the base with their 95% CIs, as a
  percentage of the base mean (from ``comparison.csv``).
* :func:`sensitivity_figure`: Morris mu*-sigma planes or Sobol ST tornadoes.
* :func:`loop_figure`: the causal loop diagram (:func:`sim.outputs.loop_diagram.draw_diagram`).
* :func:`validation_figure`: model intervals against the calibration target bands.

Series are told apart by line style and marker as well as colour (a colour-blind-safe
palette of distinct lightness), so a greyscale print keeps them apart. The data artists of
a series carry the series' name as their label; shading and reference lines carry
labels starting with ``_`` (matplotlib's convention for artists left out of legends).
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from matplotlib.text import Text
from scipy import stats

from sim.clock import YEAR, Window
from sim.outputs.labels import fmt_pct_change, kpi_label, stock_label
from sim.outputs.validation import validation_table as judge

__all__ = [
    "ASSESSMENT_TYPES",
    "DEFAULT_STOCKS",
    "FLOW_EXITS",
    "FLOW_STEPS",
    "ResultDir",
    "assessment_durations",
    "distributions_figure",
    "figure_png",
    "flow_counts",
    "flow_figure",
    "forest_data",
    "forest_figure",
    "km_curve",
    "loop_figure",
    "open_result",
    "read_targets",
    "sensitivity_figure",
    "series_style",
    "stock_bands",
    "stocks_figure",
    "time_to_help_durations",
    "validation_figure",
    "validation_table",
]

# -- style -------------------------------------------------------------------------------------

#: Okabe-Ito colours, ordered so that neighbours differ in lightness too.
COLOURS: tuple[str, ...] = ("#000000", "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7",
                            "#56B4E9")
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)),
                               (0, (8, 2)))
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")
HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "oo", "--")
#: Fill of the warm-up period.
WARMUP_GREY = "0.88"

RC: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "0.85",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.5,
    "lines.markersize": 4.5,
    "hatch.linewidth": 0.6,
    "figure.dpi": 100,
}


def series_style(i: int) -> dict[str, Any]:
    """Colour, line style and marker of series ``i`` (the same in every figure)."""
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "marker": MARKERS[i % len(MARKERS)]}


def _figure(width: float, height: float) -> Figure:
    """A figure in the house style, with its own Agg canvas (so that
    ``fig.canvas.get_renderer()`` works); no backend is chosen or changed."""
    with rc_context(RC):
        fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def _t_half(sd: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """Half-width of the Student t interval of a mean; NaN with fewer than two values."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + confidence / 2.0, np.where(n >= 2, n - 1, np.nan))
        return np.where(n >= 2, t * np.asarray(sd, dtype=float) / np.sqrt(n), np.nan)


def _fmt(x: float) -> str:
    """A count or rate for a label: thousands separators, one decimal below 10."""
    if not math.isfinite(x):
        return "-"
    if abs(x) >= 10:
        return f"{x:,.0f}"
    return f"{x:.1f}"


# -- result directories ------------------------------------------------------------------------


def _flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in nested.items():
        if not prefix and key in ("name", "description"):
            continue
        full = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, full))
        else:
            out[full] = value
    return out


@dataclass(frozen=True)
class ResultDir:
    """A result directory of one scenario's run, with what its manifest says."""

    path: Path
    manifest: Mapping[str, Any]
    label: str | None = None

    @property
    def name(self) -> str:
        """The scenario's name (or the label given)."""
        if self.label:
            return self.label
        scenario = self.manifest.get("scenario") or {}
        return str(scenario.get("name") or self.path.name)

    @property
    def warmup_years(self) -> float:
        return float(self.manifest.get("warmup_years") or 0.0)

    @property
    def years(self) -> float:
        return float(self.manifest.get("years") or 0.0)

    @property
    def window(self) -> Window:
        return Window.from_years(self.warmup_years, self.years)

    @cached_property
    def values(self) -> dict[str, Any]:
        """The resolved parameter values, by dotted key."""
        scenario = self.manifest.get("scenario") or {}
        return _flatten(scenario.get("resolved") or {})

    def rep_files(self, entry: str) -> list[Path]:
        """``rep-NNNN.parquet`` files of ``journeys.parquet`` or ``stocks.parquet`` of the
        replications that are whole (files of a replication left half-written are not
        read)."""
        from sim.outputs.files import rep_files
        from sim.outputs.results import completed_reps

        return rep_files(self.path, entry, completed_reps(self.path))

    @property
    def reps(self) -> int:
        """Replications with a journey log (else the manifest's count)."""
        return len(self.rep_files("journeys.parquet")) or int(self.manifest.get("reps") or 0)

    def stocks(self) -> pd.DataFrame:
        files = self.rep_files("stocks.parquet")
        if not files:
            raise FileNotFoundError(f"{self.path}: no stocks.parquet/rep-*.parquet")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)

    def journeys(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """The journey log, one replication at a time (bounded memory)."""
        for f in self.rep_files("journeys.parquet"):
            yield pd.read_parquet(f, columns=None if columns is None else list(columns))

    def summary(self) -> dict[str, dict[str, Any]]:
        path = self.path / "summary.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def open_result(path: str | os.PathLike[str] | ResultDir, label: str | None = None) -> ResultDir:
    """Open a result directory (it must hold ``manifest.json``)."""
    if isinstance(path, ResultDir):
        return path if label is None else ResultDir(path.path, path.manifest, label)
    p = Path(path)
    manifest = p / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"{p} is not a result directory (no manifest.json)")
    return ResultDir(p, json.loads(manifest.read_text(encoding="utf-8")), label)


def _sources(sources: Any) -> list[tuple[str, Any]]:
    """``[(name, ResultDir or DataFrame)]`` from one source, a sequence or a name mapping."""
    if isinstance(sources, Mapping):
        items = [(str(k), v) for k, v in sources.items()]
    elif isinstance(sources, str | os.PathLike | ResultDir | pd.DataFrame):
        items = [(None, sources)]
    else:
        items = [(None, s) for s in sources]
    out: list[tuple[str, Any]] = []
    for i, (name, src) in enumerate(items):
        if not isinstance(src, pd.DataFrame):
            src = open_result(src)
            name = name or src.name
        out.append((name or f"run {i + 1}", src))
    names = [n for n, _ in out]
    for i, (name, src) in enumerate(out):  # several runs of one scenario: add the folder
        if names.count(name) > 1 and isinstance(src, ResultDir):
            out[i] = (f"{name} ({src.path.name})", src)
    return out


# -- stocks over time --------------------------------------------------------------------------

#: The stocks drawn by default.
DEFAULT_STOCKS: tuple[str, ...] = (
    "cin_open", "unallocated", "stage_cin_plan", "stage_cp_plan", "stage_proceedings",
    "stage_looked_after", "caseload_mean", "vacancies", "pressure", "prescription",
)


def _stock_unit(column: str) -> str:
    """A stock's unit in words (:func:`sim.outputs.labels.stock_label`)."""
    return stock_label(column).unit or "number"


def stock_bands(stocks: pd.DataFrame, columns: Sequence[str],
                confidence: float = 0.95, *, bounded: bool = True) -> pd.DataFrame:
    """Per month and stock: mean over replications and its confidence interval.

    ``stocks`` has the columns of :data:`sim.records.STOCK_COLUMNS` (at least ``month``,
    ``time`` and the stocks named). Returns a long table with columns ``month``,
    ``years`` (time / 365.25), ``stock``, ``mean``, ``low``, ``high`` and ``n``
    (replications with a value); the interval is NaN with fewer than two. With
    ``bounded`` the interval of a stock that cannot be negative (a count) or leave [0, 1]
    (a share) stays within that range (:func:`sim.outputs.statistics.bounded_mean_ci`:
    log or logit scale); otherwise it is the Student t interval.
    """
    g = stocks.groupby("month", sort=True)
    years = (g["time"].mean() / YEAR).to_numpy()
    months = np.asarray(list(g.groups))
    frames = []
    for col in columns:
        mean = g[col].mean().to_numpy(dtype=float)
        sd = g[col].std(ddof=1).to_numpy(dtype=float)
        n = g[col].count().to_numpy()
        half = _t_half(sd, n, confidence)
        low, high = mean - half, mean + half
        lab = stock_label(col)
        if bounded and lab.kind != "index" and (lab.lower is not None or lab.upper is not None):
            low, high = _bounded(mean, half, lab.lower, lab.upper)
        frames.append(pd.DataFrame({"month": months, "years": years, "stock": col,
                                    "mean": mean, "low": low, "high": high, "n": n}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["month", "years", "stock", "mean", "low", "high", "n"])


def _bounded(mean: np.ndarray, half: np.ndarray, lower: float | None,
             upper: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The transformed-scale interval of :func:`sim.outputs.statistics.bounded_mean_ci`,
    vectorised over months (from the mean and the t half-width)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if lower is not None and upper is not None:
            w = upper - lower
            p = (mean - lower) / w
            inside = (p > 0) & (p < 1)
            spread = np.where(inside, half / w / (p * (1 - p)), 0.0)
            centre = np.log(np.where(inside, p / (1 - p), 1.0))
            lo = lower + w / (1 + np.exp(-(centre - spread)))
            hi = lower + w / (1 + np.exp(-(centre + spread)))
            lo, hi = np.where(inside, lo, mean), np.where(inside, hi, mean)
        elif lower is not None:
            excess = mean - lower
            factor = np.exp(np.minimum(np.where(excess > 0, half / excess, 0.0), 700.0))
            lo = np.where(excess > 0, lower + excess / factor, mean)
            hi = np.where(excess > 0, lower + excess * factor, mean)
        else:
            return mean - half, mean + half
    nan = ~np.isfinite(half)
    return np.where(nan, np.nan, lo), np.where(nan, np.nan, hi)


def _shade_warmup(ax: Axes, warmup_years: float) -> None:
    if warmup_years > 0:
        ax.axvspan(0.0, warmup_years, color=WARMUP_GREY, zorder=0, lw=0, label="_warm-up")


#: Markers spaced evenly along a line (a fraction of the axes' diagonal).
MARKEVERY = 0.1


def stocks_figure(runs: Any, stocks: Sequence[str] = DEFAULT_STOCKS, *,
                  warmup_years: float | None = None, confidence: float = 0.95,
                  ncols: int = 3) -> Figure:
    """Monthly stocks over time: mean over replications with the 95% t-interval band.

    ``runs``: a result directory, a stocks DataFrame, or a sequence or ``{name: ...}``
    mapping of them (scenarios overlaid). One panel per stock (stocks absent from every
    run are left out); x in years from the start of the run; the warm-up shaded (from the
    first result directory's manifest, or ``warmup_years``).
    """
    named = _sources(runs)
    frames: list[tuple[str, pd.DataFrame]] = []
    for name, src in named:
        if isinstance(src, ResultDir):
            if warmup_years is None:
                warmup_years = src.warmup_years
            frames.append((name, src.stocks()))
        else:
            frames.append((name, src))
    columns = [c for c in stocks if any(c in f.columns for _, f in frames)]
    if not columns:
        raise ValueError(f"none of the stocks {list(stocks)} is in the data")
    bands = {name: stock_bands(f, [c for c in columns if c in f.columns], confidence)
             for name, f in frames}
    ncols = max(1, min(ncols, len(columns)))
    nrows = math.ceil(len(columns) / ncols)
    fig = _figure(3.6 * ncols, 2.3 * nrows + 0.8)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    n_reps = sorted({int(f["rep"].nunique()) if "rep" in f.columns else 1 for _, f in frames})
    for k, col in enumerate(columns):
        ax = axes[k // ncols][k % ncols]
        _shade_warmup(ax, warmup_years or 0.0)
        for i, (name, _) in enumerate(frames):
            b = bands[name]
            b = b[b["stock"] == col]
            if b.empty:
                continue
            style = series_style(i)
            x = b["years"].to_numpy()
            ax.plot(x, b["mean"], label=name, markevery=MARKEVERY, **style)
            if np.isfinite(b["low"]).any():
                ax.fill_between(x, b["low"], b["high"], color=style["color"], alpha=0.18,
                                lw=0, label=f"_{name} {int(confidence * 100)}% CI")
        lab = stock_label(col)
        ax.set_title(textwrap.fill(lab.label, 34), gid=f"stock-{col}")
        ax.set_ylabel(textwrap.fill(lab.unit or "number", 24))
        _stock_limits(ax, [bands[name][bands[name]["stock"] == col] for name, _ in frames],
                      lab)
        if k + ncols >= len(columns):  # lowest panel of its column
            ax.set_xlabel("years from the start of the run")
            ax.xaxis.set_tick_params(labelbottom=True)
    for k in range(len(columns), nrows * ncols):
        axes[k // ncols][k % ncols].remove()
    handles: list[Any] = [(Patch(color=series_style(i)["color"], alpha=0.25, lw=0),
                           Line2D([], [], **series_style(i))) for i in range(len(frames))]
    labels = [name for name, _ in frames]
    if warmup_years:
        handles.append(Patch(facecolor=WARMUP_GREY, edgecolor="0.5", lw=0.5))
        labels.append("warm-up (not measured)")
    reps = "/".join(str(r) for r in n_reps)
    fig.suptitle(f"Monthly stocks: mean of {reps} replications (line) with the "
                 f"{int(confidence * 100)}% interval (band)")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(handles)),
               handler_map={tuple: HandlerTuple(ndivide=1)})
    return fig


def _stock_limits(ax: Axes, parts: Sequence[pd.DataFrame], lab: Any) -> None:
    """A y axis that starts at zero for a stock that cannot be negative, and a stock that is
    zero throughout on a 0-1 axis, saying so (rather than a flat line on a +/-0.04 axis)."""
    values = np.concatenate([p[c].to_numpy(dtype=float) for p in parts
                             for c in ("mean", "low", "high")] or [np.empty(0)])
    values = values[np.isfinite(values)]
    if lab.lower is None or lab.kind == "index":
        return
    if values.size == 0 or float(np.max(np.abs(values))) == 0.0:
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "zero throughout", transform=ax.transAxes, ha="center",
                va="center", color="0.35", fontsize=8.5, gid="stock-zero")
        return
    bottom, top = ax.get_ylim()
    if bottom < lab.lower:
        ax.set_ylim(lab.lower, top)


# -- the child's journey as a flow -------------------------------------------------------------

#: The main steps of the journey and the events that count as reaching each.
FLOW_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("concerns", ("concern",)),
    ("contacts", ("contact", "consulted")),
    ("referrals", ("referral",)),
    ("assessments", ("initial_assessment_done", "assessment_done")),
    ("section 47 enquiries", ("strategy_discussion",)),
    ("CP plans", ("cp_plan_started",)),
    ("pre-proceedings", ("pre_proceedings_started",)),
    ("care proceedings", ("care_application",)),
    ("looked after", ("looked_after_started",)),
)

#: Exits at each step: (label, event, stage the child was in before it or None, detail or
#: None). An exit counts the event when the child's previous stage (and detail) match.
FLOW_EXITS: dict[str, tuple[tuple[str, str, str | None, str | None], ...]] = {
    "concerns": (("resolved unaided", "resolved", "community", None),),
    "contacts": (("screened out", "screened_out", None, None),
                 ("to early help", "signposted", None, None)),
    "referrals": (("no further action", "referral_nfa", None, None),),
    "assessments": (("child-in-need plan", "cin_plan_started", "assessment", None),
                    ("closed", "closed", "assessment", None)),
    "section 47 enquiries": (("child-in-need plan", "cin_plan_started", "s47", None),
                             ("closed", "closed", "s47", None)),
    "CP plans": (("stepped down to CIN plan", "cin_plan_started", "cp_plan", None),
                 ("closed", "closed", "cp_plan", None)),
    "pre-proceedings": (("diverted to family carers", "diverted", None, None),),
    "care proceedings": (("ended: child at home", "proceedings_ended", None, "home"),),
    "looked after": (("closed", "closed", "looked_after", None),),
}

_FLOW_COLUMNS = ("rep", "time", "child", "event", "stage", "detail")


def _codes(column: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Integer codes of a text column and the code of each value (fast comparisons)."""
    cat = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    return (cat.cat.codes.to_numpy(),
            {str(k): i for i, k in enumerate(cat.cat.categories)})


def _flow_rep_counts(j: pd.DataFrame, window: Window) -> dict[tuple[str, str], int]:
    """Counts of one replication's steps and exits in the window: {(step, label): n}."""
    order = np.lexsort((j["time"].to_numpy(dtype=float), j["child"].to_numpy()))
    s = j.iloc[order]
    child = s["child"].to_numpy()
    stage, stage_of = _codes(s["stage"])
    prev = np.full(len(s), -2, dtype=np.int64)  # -2: no earlier event of the child
    if len(s):
        same = child[1:] == child[:-1]
        prev[1:] = np.where(same, stage[:-1], -2)
    t = s["time"].to_numpy(dtype=float)
    inwin = (t >= window.start) & (t < window.end)
    event, event_of = _codes(s["event"])
    if "detail" in s.columns:
        detail, detail_of = _codes(s["detail"])
    else:
        detail, detail_of = np.full(len(s), -1), {}

    def code(mapping: dict[str, int], *names: str) -> list[int]:
        return [mapping[n] for n in names if n in mapping]

    counts: dict[tuple[str, str], int] = {}
    for step, events in FLOW_STEPS:
        counts[(step, "")] = int((inwin & np.isin(event, code(event_of, *events))).sum())
        for label, ev, before, det in FLOW_EXITS.get(step, ()):
            m = inwin & np.isin(event, code(event_of, ev))
            if before is not None:
                m &= np.isin(prev, code(stage_of, before))
            if det is not None:
                m &= np.isin(detail, code(detail_of, det))
            counts[(step, label)] = int(m.sum())
    return counts


def flow_counts(journeys: Any, window: Window | None = None,
                reps: int | None = None) -> pd.DataFrame:
    """Events per year at each step of the journey and at its exits, mean over replications.

    ``journeys`` is a result directory (read one replication at a time) or a journey log
    DataFrame with at least ``rep, time, child, event, stage`` (then ``window`` is needed).
    Returns rows in journey order with columns ``step``, ``label`` (the step's name, or
    the exit's), ``kind`` (``step`` or ``exit``), ``count`` (total over replications) and
    ``per_year`` (count / replications / window years).
    """
    totals: dict[tuple[str, str], int] = {}
    if isinstance(journeys, pd.DataFrame):
        if window is None:
            raise ValueError("a journey DataFrame needs the measured window")
        frames: Any = (g for _, g in journeys.groupby("rep", sort=True)) \
            if "rep" in journeys.columns else [journeys]
        n = reps or (int(journeys["rep"].nunique()) if "rep" in journeys.columns else 1)
    else:
        rd = open_result(journeys)
        window = window or rd.window
        cols = list(_FLOW_COLUMNS)
        frames = rd.journeys(columns=cols)
        n = reps or rd.reps
    for frame in frames:
        for key, c in _flow_rep_counts(frame, window).items():
            totals[key] = totals.get(key, 0) + c
    rows = []
    for step, _ in FLOW_STEPS:
        keys = [(step, "")] + [(step, e[0]) for e in FLOW_EXITS.get(step, ())]
        for key in keys:
            count = totals.get(key, 0)
            rows.append({"step": step, "label": key[1] or step,
                         "kind": "exit" if key[1] else "step", "count": count,
                         "per_year": count / max(n, 1) / window.years})
    return pd.DataFrame(rows, columns=["step", "label", "kind", "count", "per_year"])


def flow_figure(sources: Any, *, window: Window | None = None) -> Figure:
    """The child's journey from concern to outcome: a funnel of bands with the exits.

    ``sources``: a result directory, a :func:`flow_counts` table, or a sequence or
    ``{name: ...}`` mapping of them (one panel per scenario, on the same scale). Each step
    is a bar whose width is proportional to the square root of its events per year (so
    that the late, small steps stay visible); the exits of a step are hatched bars to its
    right. Steps are not strict subsets of each other: children can enter a later step
    from several earlier ones.
    """
    named = _sources(sources)
    tables: list[tuple[str, pd.DataFrame, int | None]] = []
    for name, src in named:
        if isinstance(src, ResultDir):
            tables.append((name, flow_counts(src), src.reps))
        elif {"kind", "per_year"} <= set(src.columns):
            tables.append((name, src, None))
        else:
            tables.append((name, flow_counts(src, window), None))
    top = max(float(t["per_year"].max()) for _, t, _ in tables) or 1.0

    def width(v: float) -> float:
        return math.sqrt(max(v, 0.0) / top)

    n = len(tables)
    fig = _figure(min(6.2 * n, 14.0), 0.55 * len(FLOW_STEPS) + 1.6)
    axes = fig.subplots(1, n, squeeze=False, sharey=True)[0]
    for ax, (name, table, _) in zip(axes, tables, strict=True):
        steps = table[table["kind"] == "step"].reset_index(drop=True)
        y = -np.arange(len(steps), dtype=float)
        w = np.array([width(v) for v in steps["per_year"]])
        bars = ax.barh(y, w, left=-w / 2, height=0.5, color="0.35", edgecolor="black",
                       lw=0.6, label=name)
        for b in bars:
            b.set_gid("flow-step")
        for i in range(len(steps) - 1):  # bands from each step to the next
            band = Polygon([(-w[i] / 2, y[i] - 0.25), (w[i] / 2, y[i] - 0.25),
                            (w[i + 1] / 2, y[i + 1] + 0.25), (-w[i + 1] / 2, y[i + 1] + 0.25)],
                           closed=True, facecolor="0.85", edgecolor="0.6", lw=0.5,
                           gid="flow-band", label="_band")
            ax.add_patch(band)
        for i, row in steps.iterrows():
            wide = w[i] > 0.14
            ax.text(0 if wide else -w[i] / 2 - 0.03, y[i], _fmt(row["per_year"]),
                    ha="center" if wide else "right", va="center", fontsize=8,
                    color="white" if wide else "black")
            exits = table[(table["kind"] == "exit") & (table["step"] == row["step"])]
            k = len(exits)
            for j, (_, ex) in enumerate(exits.iterrows()):
                yy = y[i] + (0.13 if k > 1 else 0.0) - 0.26 * j
                ew = width(ex["per_year"])
                left = 0.55
                ax.barh(yy, ew, left=left, height=0.2, color="white", edgecolor="black",
                        hatch=HATCHES[1 + j % (len(HATCHES) - 1)], lw=0.6, gid="flow-exit",
                        label="_exit")
                ax.text(left + ew + 0.03, yy, f"{ex['label']}: {_fmt(ex['per_year'])}",
                        va="center", fontsize=7.5)
        ax.set_yticks(y)
        ax.set_yticklabels(steps["label"])
        ax.set_xlim(-0.55, 2.3)
        ax.set_ylim(y[-1] - 0.6, 0.6)
        ax.set_xticks([])
        ax.grid(False)
        ax.spines["bottom"].set_visible(False)
        ax.set_title(name)
        ax.set_xlabel("bar width proportional to the square root of events per year; "
                      "exits hatched", fontsize=7.5)
    reps = "/".join(str(r) for r in dict.fromkeys(r for _, _, r in tables if r))
    title = ("The child's journey: events per year in the measured window"
             + (f" (mean of {reps} replications)" if reps else ""))
    fig.suptitle(_fit(title, fig, 10.0))
    return fig


def _fit(text: str, fig: Figure | float, size: float) -> str:
    """``text`` wrapped to the figure's width (or a width in inches), at about 0.6 em a
    character."""
    width = fig if isinstance(fig, int | float) else fig.get_figwidth()
    chars = max(16, int(width * 72 / (0.6 * size)) - 2)
    return textwrap.fill(text, chars)


# -- distributions -----------------------------------------------------------------------------

#: Assessment kinds: (label, started event, done event).
ASSESSMENT_TYPES: tuple[tuple[str, str, str], ...] = (
    ("initial", "initial_assessment_started", "initial_assessment_done"),
    ("core", "core_assessment_started", "core_assessment_done"),
    ("single", "assessment_started", "assessment_done"),
)


def assessment_durations(journeys: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Days from each assessment's start to its completion, for completions in the window.

    Within each (replication, child, episode) the k-th ``*_started`` of a kind is matched
    with the k-th ``*_done`` of that kind. Returns columns ``rep``, ``type`` (initial,
    core, single) and ``days``.
    """
    rows = []
    rep = journeys["rep"] if "rep" in journeys.columns else pd.Series(0, index=journeys.index)
    for label, started, done in ASSESSMENT_TYPES:
        sub = journeys[journeys["event"].isin((started, done))]
        if sub.empty:
            continue
        sub = pd.DataFrame({"rep": rep.loc[sub.index].to_numpy(),
                            "child": sub["child"].to_numpy(),
                            "episode": sub["episode"].to_numpy(),
                            "time": sub["time"].to_numpy(dtype=float),
                            "is_start": (sub["event"] == started).to_numpy()})
        sub = sub.sort_values(["rep", "child", "episode", "time"], kind="stable")
        keys = ["rep", "child", "episode"]
        sub["k"] = sub.groupby(keys + ["is_start"]).cumcount()
        s = sub[sub["is_start"]].drop(columns="is_start")
        d = sub[~sub["is_start"]].drop(columns="is_start")
        m = d.merge(s, on=[*keys, "k"], suffixes=("", "_start"))
        m = m[(m["time"] >= window.start) & (m["time"] < window.end)]
        rows.append(pd.DataFrame({"rep": m["rep"].to_numpy(), "type": label,
                                  "days": (m["time"] - m["time_start"]).to_numpy()}))
    if not rows:
        return pd.DataFrame({"rep": [], "type": [], "days": []})
    return pd.concat(rows, ignore_index=True)


def time_to_help_durations(journeys: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Days from first contact to help matching need (:func:`sim.outputs.kpis.time_to_help`).

    One row per episode whose first contact lies in the window, per replication: columns
    ``rep``, ``days`` and ``observed`` (False: censored at the window's end).
    """
    from sim.outputs.kpis import RunRecords, time_to_help

    frames = (journeys.groupby("rep", sort=True) if "rep" in journeys.columns
              else [(0, journeys)])
    out = []
    for rep, j in frames:
        records = RunRecords(journeys=j, stocks=pd.DataFrame(), window=window,
                             child_population=1)
        days, observed = time_to_help(records)
        out.append(pd.DataFrame({"rep": rep, "days": days, "observed": observed}))
    if not out:
        return pd.DataFrame({"rep": [], "days": [], "observed": []})
    return pd.concat(out, ignore_index=True)


def km_curve(durations: Any, observed: Any) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival: ``(times, survival)`` starting at ``(0, 1)``, one step per
    event time (the share of durations not yet ended, allowing for censoring)."""
    d = np.asarray(durations, dtype=float)
    o = np.asarray(observed, dtype=bool)
    keep = np.isfinite(d)
    d, o = d[keep], o[keep]
    times = np.unique(d[o])
    if times.size == 0:
        return np.array([0.0]), np.array([1.0])
    sorted_d = np.sort(d)
    at_risk = d.size - np.searchsorted(sorted_d, times, side="left")
    ev = np.sort(d[o])
    deaths = np.searchsorted(ev, times, side="right") - np.searchsorted(ev, times, side="left")
    surv = np.cumprod(1.0 - deaths / at_risk)
    return np.r_[0.0, times], np.r_[1.0, surv]


def _distribution_data(src: Any, window: Window | None) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                 pd.DataFrame | None, float]:
    """(time to help, assessment durations, stocks or None, warm-up years) of a source."""
    if isinstance(src, ResultDir):
        cols = ["rep", "time", "child", "episode", "stage", "event", "true_tier"]
        tth, ass = [], []
        for j in src.journeys(columns=cols):
            tth.append(time_to_help_durations(j, src.window))
            ass.append(assessment_durations(j, src.window))
        stocks = src.stocks() if src.rep_files("stocks.parquet") else None
        return (pd.concat(tth, ignore_index=True) if tth else pd.DataFrame(),
                pd.concat(ass, ignore_index=True) if ass else pd.DataFrame(), stocks,
                src.warmup_years)
    if window is None:
        raise ValueError("a journey DataFrame needs the measured window")
    return (time_to_help_durations(src, window), assessment_durations(src, window), None,
            window.start / YEAR)


def distributions_figure(sources: Any, *, window: Window | None = None,
                         stocks: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None
                         ) -> Figure:
    """Time to help, assessment durations and caseloads, scenarios overlaid.

    ``sources``: a result directory, a journey log DataFrame (with ``window``; monthly
    ``stocks`` optional), or a sequence or ``{name: ...}`` mapping of them. Panels:

    1. time from first contact to help matching need: Kaplan-Meier share of episodes still
       waiting (episodes without help by the window's end are censored), median marked;
    2. assessment durations (start to completion, days) by kind, one box per scenario;
    3. caseload distribution over time: median caseload per worker with the 10th-90th
       percentile band (monthly, mean over replications), warm-up shaded.
    """
    named = _sources(sources)
    data = []
    warmup = 0.0
    for i, (name, src) in enumerate(named):
        tth, ass, st, wu = _distribution_data(src, window)
        if st is None and stocks is not None:
            st = stocks.get(name) if isinstance(stocks, Mapping) else (stocks if i == 0 else None)
        warmup = warmup or wu
        data.append((name, tth, ass, st))
    fig = _figure(13.0, 4.2)
    ax1, ax2, ax3 = fig.subplots(1, 3)

    # 1. time to help
    ax1.axhline(0.5, color="0.5", lw=0.8, ls=":", label="_median")
    xmax = 0.0
    for i, (name, tth, _, _) in enumerate(data):
        if tth.empty:
            continue
        t, s = km_curve(tth["days"], tth["observed"])
        style = series_style(i)
        ax1.step(t, s, where="post", label=name, markevery=MARKEVERY, **style)
        below = np.flatnonzero(s <= 0.5)
        if below.size:
            ax1.plot([t[below[0]]], [0.5], marker="|", color=style["color"], ms=10,
                     label="_median mark")
        obs = tth["days"][tth["observed"]]
        if len(obs):
            xmax = max(xmax, float(np.quantile(obs, 0.95)))
    if xmax > 0:
        ax1.set_xlim(0, xmax * 1.1)
    ax1.set_ylim(0, 1.02)
    ax1.set_title("Time to help matching need")
    ax1.set_xlabel("days from first contact")
    ax1.set_ylabel("share of episodes still waiting (Kaplan-Meier)")

    # 2. assessment durations
    kinds = [k for k, _, _ in ASSESSMENT_TYPES
             if any(not a.empty and (a["type"] == k).any() for _, _, a, _ in data)]
    n = max(1, len(data))
    width = 0.8 / n
    for i, (name, _, ass, _) in enumerate(data):
        style = series_style(i)
        values, pos = [], []
        for g, kind in enumerate(kinds):
            v = ass["days"][ass["type"] == kind].to_numpy() if not ass.empty else np.empty(0)
            if v.size:
                values.append(v)
                pos.append(g - 0.4 + width * (i + 0.5))
        if not values:
            continue
        bp = ax2.boxplot(values, positions=pos, widths=width * 0.85, patch_artist=True,
                         showfliers=False, manage_ticks=False,
                         medianprops={"color": "black", "lw": 1.4},
                         whiskerprops={"linestyle": style["linestyle"]})
        for box in bp["boxes"]:
            box.set(facecolor=style["color"], alpha=0.45, hatch=HATCHES[i % len(HATCHES)],
                    label=name)
    ax2.set_xticks(range(len(kinds)))
    ax2.set_xticklabels(kinds)
    ax2.set_title("Assessment durations")
    ax2.set_xlabel("assessment (box: quartiles; whiskers: 1.5 IQR)")
    ax2.set_ylabel("days from start to completion")

    # 3. caseload
    _shade_warmup(ax3, warmup)
    for i, (name, _, _, st) in enumerate(data):
        if st is None or "caseload_p50" not in st.columns:
            continue
        style = series_style(i)
        g = st.groupby("month", sort=True)
        x = (g["time"].mean() / YEAR).to_numpy()
        ax3.plot(x, g["caseload_p50"].mean(), label=name, markevery=MARKEVERY,
                 **style)
        if {"caseload_p10", "caseload_p90"} <= set(st.columns):
            ax3.fill_between(x, g["caseload_p10"].mean(), g["caseload_p90"].mean(),
                             color=style["color"], alpha=0.15, lw=0, label=f"_{name} p10-p90")
    ax3.set_title("Caseload distribution over time")
    ax3.set_xlabel("years from the start of the run")
    ax3.set_ylabel("cases per worker (median; band p10-p90)")
    handles: list[Any] = [Line2D([], [], label=name, **series_style(i))
                          for i, (name, *_rest) in enumerate(data)]
    if warmup:
        handles.append(Patch(color=WARMUP_GREY, label="warm-up (not measured)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(5, len(handles)))
    fig.suptitle("Distributions in the measured window")
    return fig


# -- comparison forest plot --------------------------------------------------------------------


def _read_comparison(src: Any) -> pd.DataFrame:
    if isinstance(src, pd.DataFrame):
        return src
    p = Path(src)
    if p.is_dir():
        p = p / "comparison.csv"
    if not p.is_file():
        raise FileNotFoundError(f"no comparison table at {p}")
    return pd.read_csv(p)


def forest_data(comparison: pd.DataFrame) -> pd.DataFrame:
    """Paired differences as a percentage of the base mean, one row per KPI and scenario.

    From a comparison table (:data:`sim.outputs.comparison.COLUMNS`). Columns ``kpi``,
    ``scenario``, ``base_mean``, ``pct``, ``pct_low``, ``pct_high``, ``significant``; rows
    whose base mean is zero or undefined, whose difference is undefined, or whose measure
    the scenario abolishes (not applicable) are dropped.
    """
    from sim.outputs.comparison import complete

    t = complete(comparison)
    base_mean = t[t["is_base"]].set_index("kpi")["mean"].astype(float)
    others = t[~t["is_base"]].copy()
    others["base_mean"] = others["kpi"].map(base_mean).astype(float)
    others["pct_low"] = others["pct_ci_low"].astype(float)
    others["pct_high"] = others["pct_ci_high"].astype(float)
    others["pct"] = others["pct"].astype(float)
    ok = np.isfinite(others["pct"]) & (others["base_mean"] != 0) & others["applicable"]
    return others.loc[ok, ["kpi", "scenario", "base_mean", "pct", "pct_low", "pct_high",
                           "significant"]].reset_index(drop=True)


def forest_limit(data: pd.DataFrame, *, floor: float = 5.0) -> float:
    """The half-range (in %) of the forest plot's axis, so that most effects are readable:
    it reaches past three quarters of the point estimates (by a quarter) and past the
    median interval end, rounded up to a readable step, at least ``floor``. The few larger
    effects and wider intervals are clipped at the edge, with an arrow."""
    if data.empty:
        return 10.0
    points = np.abs(data["pct"].to_numpy(dtype=float))
    reach = np.fmax.reduce([np.abs(data[c].to_numpy(dtype=float))
                            for c in ("pct", "pct_low", "pct_high")])
    points, reach = points[np.isfinite(points)], reach[np.isfinite(reach)]
    if points.size == 0:
        return 10.0
    raw = max(float(np.quantile(points, 0.75)) * 1.25, float(np.median(reach)) * 1.1, floor)
    for step in (5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 300, 500, 1000):
        if raw <= step:
            return float(step)
    return float(math.ceil(raw / 1000) * 1000)


def forest_figure(comparison: Any, *, kpis: Sequence[str] | None = None,
                  limit: float | None = None) -> Figure:
    """Changes from the base with 95% intervals, each as a percentage of its measure's base
    mean.

    ``comparison``: a comparison DataFrame, ``comparison.csv`` or the directory holding
    it. Measures are rows (in table order, or ``kpis``), named in words; each scenario a
    marker style; a filled marker means the interval excludes zero. The axis spans
    +/-``limit`` % (default :func:`forest_limit`, so that most effects stay readable);
    an interval or a point beyond it is clipped at the edge and drawn with an arrow, and
    its value written beside. Measures whose base mean is zero, or that a scenario
    abolishes, are named under the axis.
    """
    from sim.outputs.comparison import complete

    table = complete(_read_comparison(comparison))
    data = forest_data(table)
    order = list(dict.fromkeys(kpis if kpis is not None else table["kpi"]))
    shown = [k for k in order if (data["kpi"] == k).any()]
    dropped = [k for k in order if k not in shown]
    base = str(table[table["is_base"]]["scenario"].iloc[0]) if table["is_base"].any() \
        else str(table["scenario"].iloc[0])
    scenarios = [s for s in dict.fromkeys(table["scenario"]) if s != base]
    lim = limit if limit is not None else forest_limit(data[data["kpi"].isin(shown)])
    fig = _figure(9.0, 0.32 * max(len(shown), 1) + 2.3)
    ax = fig.subplots()
    ax.axvline(0.0, color="black", lw=0.8, label="_zero")
    y_of = {k: -i for i, k in enumerate(shown)}
    m = max(1, len(scenarios))
    clipped = 0
    for j, scen in enumerate(scenarios):
        d = data[(data["scenario"] == scen) & data["kpi"].isin(shown)]
        style = series_style(j + 1)
        colour = style["color"]
        y = np.array([y_of[k] for k in d["kpi"]], dtype=float) + (
            0.0 if m == 1 else -0.44 * (j / (m - 1) - 0.5))
        x = d["pct"].to_numpy(dtype=float)
        lo = d["pct_low"].to_numpy(dtype=float)
        hi = d["pct_high"].to_numpy(dtype=float)
        xc = np.clip(x, -lim, lim)
        loc = np.clip(np.where(np.isfinite(lo), lo, x), -lim, lim)
        hic = np.clip(np.where(np.isfinite(hi), hi, x), -lim, lim)
        ax.errorbar(xc, y, xerr=[xc - loc, hic - xc], fmt="none", ecolor=colour,
                    elinewidth=1.1, capsize=2, label=f"_{scen} CI")
        sig = d["significant"].to_numpy(dtype=bool)
        ax.plot(xc[sig], y[sig], linestyle="none", marker=style["marker"], color=colour,
                ms=5.5, label=scen)
        ax.plot(xc[~sig], y[~sig], linestyle="none", marker=style["marker"], color=colour,
                mfc="white", ms=5.5, label=f"_{scen} not significant")
        for xi, yi, a, b in zip(x, y, lo, hi, strict=True):
            for end, sign in ((b, 1), (a, -1)):
                if math.isfinite(end) and sign * end > lim:
                    clipped += 1
                    ax.annotate("", xy=(sign * lim, yi), xytext=(sign * lim * 0.9, yi),
                                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1},
                                annotation_clip=False)
            if abs(xi) > lim:
                ax.text(math.copysign(lim * 0.88, xi), yi + 0.22, fmt_pct_change(xi),
                        ha="right" if xi > 0 else "left", va="bottom", fontsize=6.5,
                        color=colour, gid="forest-clipped-value")
    for i in range(0, len(shown), 2):  # every other row shaded, to tell the rows apart
        ax.axhspan(-i - 0.5, -i + 0.5, color="0.95", lw=0, zorder=0, label="_row")
    ax.set_xlim(-lim * 1.04, lim * 1.04)
    ax.set_yticks([y_of[k] for k in shown])
    ax.set_yticklabels([kpi_label(k).label for k in shown])
    ax.set_ylim(-len(shown) + 0.5, 0.5)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:+.0f}%" if round(v) else "0")
    ax.set_xlabel(f"change from {base}, % of the base mean (95% interval)")
    ax.set_title(_fit(f"Changes from {base} with common random numbers", fig, 10.0))
    handles: list[Any] = [Line2D([], [], linestyle="none", label=s,
                                 color=series_style(j + 1)["color"],
                                 marker=series_style(j + 1)["marker"])
                          for j, s in enumerate(scenarios)]
    handles.append(Line2D([], [], linestyle="none", marker="o", color="0.3",
                          label="filled: clear change (interval excludes zero)"))
    handles.append(Line2D([], [], linestyle="none", marker="o", color="0.3", mfc="white",
                          label="hollow: not clear"))
    fig.legend(handles=handles, loc="outside upper center", ncol=min(3, len(handles)))
    notes = []
    if clipped:
        notes.append(f"Arrows: the interval reaches beyond \u00b1{lim:g}% (clipped); a "
                     "point beyond it is written beside its arrow.")
    if dropped:
        notes.append("Not shown (base mean zero, or not applicable under the policy): "
                      + ", ".join(kpi_label(k).label.lower() for k in dropped) + ".")
    if notes:
        fig.supxlabel(_fit(" ".join(notes), fig, 7.0), fontsize=7, color="0.3")
    return fig


# -- sensitivity -------------------------------------------------------------------------------


def _read_sensitivity(src: Any) -> pd.DataFrame:
    if isinstance(src, pd.DataFrame):
        return src
    p = Path(src)
    if p.is_dir():
        csv = p / "sensitivity.csv"
        p = csv if csv.is_file() else p / "sensitivity.json"
    if p.suffix == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        return pd.DataFrame(data["indices"] if isinstance(data, Mapping) else data)
    return pd.read_csv(p)


def sensitivity_figure(indices: Any, *, kpis: Sequence[str] | None = None,
                       top: int = 12) -> Figure:
    """Sensitivity indices, one panel per KPI.

    ``indices``: a DataFrame with ``param``, ``kpi`` and either ``mu_star``,
    ``mu_star_conf``, ``sigma`` (Morris: the mu*-sigma plane, mu* with its 95% bootstrap
    interval, the ``top`` parameters labelled) or ``ST``, ``ST_conf`` (Sobol: a tornado
    of total indices with their intervals, first-order S1 marked where given); or
    ``sensitivity.csv``/``.json`` or the directory holding it.
    """
    d = _read_sensitivity(indices)
    morris = "mu_star" in d.columns
    if not morris and "ST" not in d.columns:
        raise ValueError("sensitivity indices need mu_star (Morris) or ST (Sobol) columns")
    names = list(dict.fromkeys(kpis if kpis is not None else d["kpi"]))
    ncols = min(3, max(1, len(names)))
    nrows = math.ceil(len(names) / ncols)
    height = 3.6 if morris else 0.28 * min(top, max(d.groupby("kpi").size())) + 1.4
    fig = _figure(4.6 * ncols, height * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    pending: list[tuple[Axes, pd.DataFrame]] = []
    for k, kpi in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        part = d[d["kpi"] == kpi]
        if morris:
            part = part.dropna(subset=["mu_star", "sigma"]).sort_values("mu_star",
                                                                         ascending=False)
            conf = part["mu_star_conf"] if "mu_star_conf" in part.columns else None
            ax.errorbar(part["mu_star"], part["sigma"], xerr=conf, fmt="o", color="black",
                        ecolor="0.55", capsize=2, ms=4, label=kpi)
            lim = float(max(part["mu_star"].max() if len(part) else 1.0,
                            part["sigma"].max() if len(part) else 1.0, 1e-12)) * 1.05
            ax.plot([0, lim], [0, lim], color="0.6", ls=":", lw=0.9, label="_sigma = mu*")
            reach = (part["mu_star"] + (conf.fillna(0) if conf is not None else 0)).max() \
                if len(part) else lim
            ax.set_xlim(0, max(lim, float(reach)) * 1.12)
            ax.set_ylim(0, lim * 1.12)
            pending.append((ax, part.head(top)))
            ax.set_xlabel("mu* (mean absolute elementary effect)")
            ax.set_ylabel("sigma (spread of effects)")
        else:
            part = part.dropna(subset=["ST"]).sort_values("ST", ascending=False).head(top)
            part = part.iloc[::-1]
            pos = np.arange(len(part))
            conf = part["ST_conf"] if "ST_conf" in part.columns else None
            ax.barh(pos, part["ST"], xerr=conf, color="0.7", edgecolor="black", lw=0.6,
                    ecolor="black", capsize=2, height=0.6, label=kpi)
            if "S1" in part.columns:
                ax.plot(part["S1"], pos, linestyle="none", marker="D", color="black", ms=4,
                        label="_S1")
            ax.set_yticks(pos)
            ax.set_yticklabels(part["param"], fontsize=7)
            ax.set_xlabel("total Sobol index ST (95% interval)\ndiamond: first-order S1")
            ax.grid(axis="y", visible=False)
        ax.set_title(_fit(kpi_label(kpi).label, 4.6 * (0.8 if morris else 0.5), 10.0),
                     gid=f"kpi-{kpi}")
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].remove()
    fig.suptitle("Sensitivity: Morris screening" if morris else "Sensitivity: Sobol indices")
    if pending:
        fig.canvas.draw()  # final axes positions, to place the labels
        for ax, part in pending:
            place_labels(ax, part["mu_star"].to_numpy(float), part["sigma"].to_numpy(float),
                         [str(p) for p in part["param"]])
    return fig


def place_labels(ax: Axes, x: np.ndarray, y: np.ndarray, texts: Sequence[str], *,
                 fontsize: float = 6.5) -> list[Any]:
    """Label points without collisions: each label (in order, most important first) takes
    the first of several offsets around its point, at growing distances, where it overlaps
    no label already placed and no point and stays inside the axes; a label with no free
    place is left out (its point keeps its marker). Returns the labels placed."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.c_[x, y]) if len(x) else np.empty((0, 2))
    placed: list[Any] = []
    boxes: list[Any] = []
    offsets = [(dx * r, dy * r) for r in (4, 10, 18, 28)
               for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1),
                              (0, -1))]
    for (px, py), text in zip(pts, texts, strict=True):
        for dx, dy in offsets:
            xy = tuple(ax.transData.inverted().transform((px, py)))
            t = ax.annotate(text, xy, xycoords="data", xytext=(dx, dy),
                            textcoords="offset points", fontsize=fontsize,
                            ha="left" if dx >= 0 else "right",
                            va="bottom" if dy >= 0 else "top", gid="point-label",
                            arrowprops=None if max(abs(dx), abs(dy)) <= 4 else {
                                "arrowstyle": "-", "lw": 0.5, "color": "0.55",
                                "shrinkA": 0, "shrinkB": 2})
            t.update_positions(renderer)
            bb = Text.get_window_extent(t, renderer).expanded(1.05, 1.1)  # without the line
            inside = (bb.x0 >= frame.x0 and bb.x1 <= frame.x1 and bb.y0 >= frame.y0
                      and bb.y1 <= frame.y1)
            free = inside and not any(bb.overlaps(b) for b in boxes) and not any(
                bb.contains(qx, qy) for qx, qy in pts)
            if free:
                boxes.append(bb)
                placed.append(t)
                break
            t.remove()
    return placed


# -- causal loop diagram -----------------------------------------------------------------------


def _loop_values(values: Any) -> Mapping[str, Any]:
    if isinstance(values, Mapping):
        return values
    if hasattr(values, "values") and isinstance(values.values, Mapping):  # a Scenario
        return values.values
    return open_result(values).values


def loop_png(values: Any) -> bytes:
    """The causal loop diagram (:func:`loop_figure`) as PNG bytes.

    ``values``: the scenario's values (dotted keys), a Scenario or a result directory.
    """
    return figure_png(loop_figure(values))


def loop_figure(values: Any) -> Figure:
    """The causal loop diagram (:func:`sim.outputs.loop_diagram.diagram_figure`).

    ``values``: the scenario's values (dotted keys), a Scenario or a result directory.
    """
    from sim.outputs.loop_diagram import diagram_figure

    fig, _, _ = diagram_figure(_loop_values(values))
    return fig


# -- validation --------------------------------------------------------------------------------

VALIDATION_COLUMNS: tuple[str, ...] = ("kpi", "unit", "low", "high", "confidence", "mean",
                                       "ci_low", "ci_high", "in_band")


def read_targets() -> pd.DataFrame:
    """The calibration targets shipped with the package
    (:func:`sim.outputs.targets.load_targets`), one row per KPI."""
    from sim.outputs.targets import load_targets

    return load_targets().reset_index()


def validation_table(summary: Mapping[str, Mapping[str, Any]] | pd.DataFrame,
                     targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model interval against target band, one row per target KPI the summary has.

    ``summary``: ``summary.json`` content (``{kpi: {mean, ci_low, ci_high, n, ...}}``) or a
    DataFrame indexed by KPI with those columns; ``targets``: the calibration targets
    (default: :func:`read_targets`). Returns at least :data:`VALIDATION_COLUMNS`;
    ``in_band`` says the mean lies within the band (False when it is undefined). The rows
    come from :func:`sim.outputs.validation.validation_table` (which adds ``target``, ``n``
    and ``required``), so the report and ``childsim validate`` judge alike.
    """
    if isinstance(summary, pd.DataFrame):
        frame = summary.copy()
    else:
        frame = pd.DataFrame.from_dict({str(k): dict(v) for k, v in summary.items()},
                                       orient="index")
    for col in ("mean", "ci_low", "ci_high", "n"):
        if col not in frame.columns:
            frame[col] = math.nan
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame["n"] = frame["n"].fillna(0)
    targets = read_targets() if targets is None else targets
    targets = targets[targets["kpi"].isin(frame.index)] if "kpi" in targets.columns else \
        targets[targets.index.isin(frame.index)]
    indexed = targets.set_index("kpi") if "kpi" in targets.columns else targets
    return judge(frame, indexed).table.reset_index(drop=True)


def _validation_of(src: Any) -> pd.DataFrame:
    if isinstance(src, pd.DataFrame):
        return src
    csv = src.path / "validation.csv"
    if csv.is_file():
        return pd.read_csv(csv)
    return validation_table(src.summary())


def validation_figure(sources: Any) -> Figure:
    """Model mean and 95% CI against the calibration target band, per KPI.

    ``sources``: a result directory (its ``validation.csv``, or else its ``summary.json``
    against the calibration targets), a :func:`validation_table` DataFrame, or a sequence
    or ``{name: ...}`` mapping of them. Every value is shown as a percentage of its band's
    midpoint, so KPIs of different units share one axis; low-confidence bands are hatched.
    """
    named = _sources(sources)
    tables = [(name, _validation_of(src)) for name, src in named]
    kpis = list(dict.fromkeys(k for _, t in tables for k in t["kpi"]))
    first = {}
    for _, t in tables:
        for _, r in t.iterrows():
            first.setdefault(r["kpi"], r)
    fig = _figure(9.0, 0.3 * max(len(kpis), 1) + 1.9)
    ax = fig.subplots()
    ax.axvline(100.0, color="0.5", lw=0.8, ls=":", label="_midpoint")
    for i, kpi in enumerate(kpis):
        r = first[kpi]
        mid = (float(r["low"]) + float(r["high"])) / 2.0
        if not mid:
            continue
        low_conf = str(r.get("confidence", "")).strip().lower() == "low"
        lo, hi = 100.0 * float(r["low"]) / mid, 100.0 * float(r["high"]) / mid
        ax.barh(-i, hi - lo, left=lo, height=0.7, color="0.85", edgecolor="0.45", lw=0.6,
                hatch="//" if low_conf else "", gid="validation-band", label="_band")
    m = len(tables)
    for j, (name, t) in enumerate(tables):
        style = series_style(j)
        xs, ys, lo_err, hi_err = [], [], [], []
        for _, r in t.iterrows():
            mid = (float(r["low"]) + float(r["high"])) / 2.0
            mean = float(r["mean"]) if r["mean"] is not None else math.nan
            if not mid or not math.isfinite(mean):
                continue
            x = 100.0 * mean / mid
            lo = 100.0 * float(r["ci_low"]) / mid
            hi = 100.0 * float(r["ci_high"]) / mid
            xs.append(x)
            ys.append(-kpis.index(r["kpi"]) + (0.0 if m == 1 else 0.5 * (j / (m - 1) - 0.5)))
            lo_err.append(x - lo if math.isfinite(lo) else 0.0)
            hi_err.append(hi - x if math.isfinite(hi) else 0.0)
        ax.errorbar(xs, ys, xerr=[lo_err, hi_err], fmt=style["marker"], color=style["color"],
                    ecolor=style["color"], capsize=2, ms=5, label=name)
    ax.set_yticks([-i for i in range(len(kpis))])
    ax.set_yticklabels([kpi_label(k).label for k in kpis])
    ax.set_ylim(-len(kpis) + 0.4, 0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("% of the target band's midpoint (model: mean and 95% interval)")
    ax.set_title("Model against the England 2010-11 calibration bands")
    handles: list[Any] = [Line2D([], [], linestyle="none", label=name, color=series_style(j)
                                 ["color"], marker=series_style(j)["marker"])
                          for j, (name, _) in enumerate(tables)]
    handles.append(Patch(facecolor="0.85", edgecolor="0.45", label="target band"))
    handles.append(Patch(facecolor="0.85", edgecolor="0.45", hatch="//",
                         label="target band (low confidence)"))
    fig.legend(handles=handles, loc="outside upper center", ncol=min(4, len(handles)))
    return fig


# -- warm-up -----------------------------------------------------------------------------------


def warmup_figure(result: Any) -> Figure:
    """The warm-up chart of :func:`sim.experiments.warmup.analyse`'s result: each
    replication's monthly stock (grey), their mean, the MSER batch means and the cut.

    ``result`` has ``series`` (``time``, ``mean`` and ``rep-*`` columns), ``mser``
    (``batch``, ``batch_means``), ``stock``, ``scenario``, ``reps``, ``months`` and
    ``years``.
    """
    s = result.series
    years = s["time"].to_numpy(dtype=float) / YEAR
    fig = _figure(9.0, 4.8)
    ax = fig.subplots()
    for col in (c for c in s.columns if str(c).startswith("rep-")):
        ax.plot(years, s[col], color="0.75", linewidth=0.7, label="_replication")
    ax.plot(years, s["mean"], color=COLOURS[1], linewidth=1.6,
            label=f"mean of {result.reps} replications")
    b = result.mser.batch
    z = result.mser.batch_means
    centres = np.array([years[i * b: (i + 1) * b].mean() for i in range(z.size)])
    ax.plot(centres, z, "o", color=COLOURS[2], markersize=3.5, label=f"means of {b} months")
    ax.axvline(result.years, color=COLOURS[3], linestyle="--",
               label=f"MSER-{b} cut: {result.months} months ({result.years:.2f} years)")
    lab = stock_label(result.stock)
    ax.set_xlabel("years since the start of the run")
    ax.set_ylabel(textwrap.fill(f"{lab.label} ({lab.unit})" if lab.unit else lab.label, 40))
    ax.set_title(_fit(f"Warm-up of {result.scenario}: {lab.label.lower()}, month by month",
                      fig, 10.0))
    if lab.lower is not None and lab.kind != "index":
        bottom, top = ax.get_ylim()
        ax.set_ylim(max(bottom, lab.lower), top)
    fig.legend(loc="outside lower center", ncol=3)
    return fig
