"""Warnings about a run that its means alone do not show.

Three checks, each read from the run's manifest values and its monthly stocks, used by the
report and by ``childsim run`` and ``childsim compare`` alike:

* **short warm-up**: the warm-up is shorter than the recommended
  :data:`sim.clock.DEFAULT_WARMUP_YEARS`, so the measured years may still carry the
  empty start (stocks such as children looked after build up over years).
* **a stock still trending**: a main stock (:data:`TREND_STOCKS`) moves steadily through
  the measured window. Each replication's monthly values in the window get a least-squares
  line; the change the line implies over the window, as a share of the stock's mean level,
  is averaged over replications with a Student t interval (replications are independent,
  so the interval is valid although months within a replication are correlated). The
  warning is given when that interval excludes zero and the change exceeds
  :data:`TREND_THRESHOLD` (10%) of the level: a smaller drift matters little for a mean.
  With one replication the line's own standard error is used (optimistic, as it ignores
  the correlation of months).
* **unallocated work growing**: the same test on the backlog stocks
  (:data:`BACKLOG_STOCKS`), upward only, and only when the backlog grows by at least one
  case over the window: demand outruns capacity, and a longer run would show a bigger
  backlog.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.clock import DEFAULT_WARMUP_YEARS, YEAR, Window
from sim.outputs.labels import fmt, fmt_pct_change, stock_label

#: Main stocks checked for a trend in the measured window.
TREND_STOCKS: tuple[str, ...] = ("cin_open", "stage_cp_plan", "stage_looked_after",
                                 "caseload_mean", "vacancies")
#: Stocks of work waiting, checked for growth.
BACKLOG_STOCKS: tuple[str, ...] = ("unallocated", "contacts_waiting")
#: Smallest change over the measured window, as a share of the mean level, that counts as
#: a trend worth a warning.
TREND_THRESHOLD: float = 0.10


@dataclass(frozen=True)
class RunWarning:
    """A warning: its kind (``warmup``, ``trend`` or ``backlog``), the stock it is about
    ("" for the warm-up), the message in plain words and, for a trend, the short phrase
    naming the stock and its change (used to join several trends in one sentence)."""

    kind: str
    stock: str
    message: str
    phrase: str = ""


_UNSETTLED = ("The system has not settled, so its means depend on the run's length; a "
              "longer warm-up may help.")


def joined_messages(warnings: Sequence[RunWarning]) -> list[str]:
    """The messages of a run's warnings, its trends joined in one sentence."""
    trends = [w for w in warnings if w.kind == "trend" and w.phrase]
    out: list[str] = []
    for w in warnings:
        if w in trends:
            if w is trends[0]:
                if len(trends) == 1:
                    out.append(w.message)
                else:
                    phrases = [t.phrase for t in trends]
                    out.append("Still moving through the measured years: "
                               + "; ".join(phrases) + ". " + _UNSETTLED)
            continue
        out.append(w.message)
    return out


@dataclass(frozen=True)
class Trend:
    """A stock's straight-line change over the measured window, mean over replications:
    ``change`` in the stock's unit with its interval, ``relative`` (change / mean level)
    with its interval, the ``level`` and the number of replications ``n``."""

    stock: str
    level: float
    change: float
    relative: float
    rel_low: float
    rel_high: float
    n: int

    @property
    def significant(self) -> bool:
        return (math.isfinite(self.rel_low) and math.isfinite(self.rel_high)
                and (self.rel_low > 0 or self.rel_high < 0))


def stock_trend(stocks: pd.DataFrame, stock: str, window: Window,
                confidence: float = 0.95) -> Trend | None:
    """The straight-line change of ``stock`` over ``window`` (see the module docstring);
    None when the stock is absent or has fewer than three months in the window."""
    if stock not in stocks.columns or "time" not in stocks.columns:
        return None
    t = stocks["time"].to_numpy(dtype=float)
    inwin = stocks[(t >= window.start) & (t < window.end)]
    groups = inwin.groupby("rep") if "rep" in inwin.columns else [(0, inwin)]
    slopes, levels, ses = [], [], []
    for _, g in groups:
        y = g[stock].to_numpy(dtype=float)
        x = g["time"].to_numpy(dtype=float) / YEAR
        keep = np.isfinite(y)
        if keep.sum() < 3 or np.ptp(x[keep]) == 0:
            continue
        fit = stats.linregress(x[keep], y[keep])
        slopes.append(float(fit.slope))
        ses.append(float(fit.stderr))
        levels.append(float(y[keep].mean()))
    if not slopes:
        return None
    n = len(slopes)
    level = float(np.mean(levels))
    years = window.years
    change = float(np.mean(slopes)) * years
    if n >= 2:
        se = float(np.std(slopes, ddof=1)) / math.sqrt(n) * years
        tq = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    else:
        se = ses[0] * years
        tq = float(stats.norm.ppf(0.5 + confidence / 2.0))
    if level > 0:
        rel, lo, hi = change / level, (change - tq * se) / level, (change + tq * se) / level
    else:
        rel = lo = hi = math.nan if change == 0 else math.copysign(math.inf, change)
        if change != 0 and se > 0 and abs(change) <= tq * se:
            lo, hi = -math.inf, math.inf
    return Trend(stock, level, change, rel, lo, hi, n)


def _years(x: float) -> str:
    return f"{x:g} year" + ("" if x == 1 else "s")


def run_warnings(stocks: pd.DataFrame | None, window: Window, warmup_years: float, *,
                 trend_stocks: Sequence[str] = TREND_STOCKS,
                 backlog_stocks: Sequence[str] = BACKLOG_STOCKS,
                 threshold: float = TREND_THRESHOLD) -> list[RunWarning]:
    """The warnings of one run (see the module docstring), warm-up first."""
    out: list[RunWarning] = []
    if warmup_years < DEFAULT_WARMUP_YEARS:
        out.append(RunWarning("warmup", "", (
            f"The warm-up ({_years(warmup_years)}) is shorter than the recommended "
            f"{_years(DEFAULT_WARMUP_YEARS)}: the model starts from a simplified state, and "
            "stocks such as children looked after take years to settle, so the measured "
            "values may still carry the start.")))
    if stocks is None or stocks.empty:
        return out
    for stock in trend_stocks:
        tr = stock_trend(stocks, stock, window)
        if tr is None or not tr.significant or abs(tr.relative) < threshold:
            continue
        lab = stock_label(stock)
        way = "rises" if tr.change > 0 else "falls"
        change = (f"{fmt_pct_change(100 * tr.relative)} over {_years(window.years)} (95% "
                  f"interval {fmt_pct_change(100 * tr.rel_low)} to "
                  f"{fmt_pct_change(100 * tr.rel_high)})")
        name = lab.label[:1].lower() + lab.label[1:]
        out.append(RunWarning("trend", stock, (
            f"{lab.label} still {way} through the measured years: {change}. {_UNSETTLED}"),
            f"{name} {change}"))
    for stock in backlog_stocks:
        tr = stock_trend(stocks, stock, window)
        if tr is None or not tr.significant or tr.change < 1.0:
            continue
        if math.isfinite(tr.relative) and tr.relative < threshold:
            continue
        lab = stock_label(stock)
        start, end = tr.level - tr.change / 2, tr.level + tr.change / 2
        out.append(RunWarning("backlog", stock, (
            f"{lab.label} keeps growing: from about {fmt(max(start, 0.0))} to "
            f"{fmt(end)} {lab.unit} over the {_years(window.years)} measured. Demand "
            "outruns the staff available, so the backlog, and the waits behind it, would "
            "be larger in a longer run.")))
    return out


def result_warnings(result: object) -> list[RunWarning]:
    """The warnings of a result directory (:class:`sim.outputs.figures.ResultDir`-like: with
    ``warmup_years``, ``window`` and ``stocks()``)."""
    try:
        stocks = result.stocks()  # type: ignore[attr-defined]
    except (FileNotFoundError, OSError, ValueError):
        stocks = None
    return run_warnings(stocks, result.window, result.warmup_years)  # type: ignore[attr-defined]
