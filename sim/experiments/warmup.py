"""Warm-up length by MSER-5 (White 1997; White, Cobb and Spratt 2000).

The model starts empty (no open cases, no waiting lists), so its first months are a
transient that would bias the KPIs. MSER-5 picks the truncation point of an output
series that minimises the marginal standard error of the mean of what is left:

1. Average the series in non-overlapping batches of 5 observations, ``Z_1 .. Z_m``
   (an incomplete batch at the end is dropped).
2. For each truncation ``d`` (batches deleted from the start),
   ``MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..m}))^2 / (m - d)^2``.
3. ``d* = argmin MSER(d)`` over the first half of the batches (``d < m/2``); the warm-up is
   ``5 d*`` observations. When the minimum over all truncations lies in the second half,
   the series is too short to settle and the suggestion is flagged unreliable.

White, K. P. (1997), "An effective truncation heuristic for bias reduction in simulation
output", *Simulation* 69(6), 323-334. White, K. P., Cobb, M. J. and Spratt, S. C. (2000),
"A comparison of five steady-state truncation heuristics for simulation", *Proceedings of
the 2000 Winter Simulation Conference*, 755-760.

:func:`suggest_warmup` runs a scenario with no warm-up, averages a monthly stock over the
replications and applies MSER-5 to that series.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from sim.clock import MONTH, YEAR
from sim.outputs import files as output

#: Observations per batch in MSER-5.
BATCH = 5
#: Columns of the stock table that are not stocks.
_NOT_STOCKS = ("rep", "month", "time")


@dataclass(frozen=True)
class MserResult:
    """MSER applied to one series.

    Attributes
    ----------
    truncation : int
        Observations to delete from the start (``batch * batches``).
    batches : int
        ``d*``: batches deleted.
    batch : int
        Observations per batch.
    statistic : ndarray
        ``MSER(d)`` for ``d = 0 .. m-2`` (at least two batches always remain).
    batch_means : ndarray
        ``Z_1 .. Z_m``.
    reliable : bool
        Whether the minimum over every truncation lies in the first half of the series.
    """

    truncation: int
    batches: int
    batch: int
    statistic: np.ndarray
    batch_means: np.ndarray
    reliable: bool


def mser(series: ArrayLike, batch: int = BATCH) -> MserResult:
    """MSER-``batch`` truncation point of ``series`` (MSER-5 by default).

    Needs at least ``2 * batch`` finite observations (NaNs are not allowed: average the
    replications first).

    Examples
    --------
    >>> y = [50, 40, 30, 20, 10] + [1, 2, 1, 2, 1] * 8
    >>> mser(y).truncation
    5
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    y = np.asarray(series, dtype=float).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError("the series has missing or infinite values")
    m = y.size // batch
    if m < 2:
        raise ValueError(f"MSER-{batch} needs at least {2 * batch} observations, got {y.size}")
    z = y[: m * batch].reshape(m, batch).mean(axis=1)
    stat = np.array([
        float(np.sum((z[d:] - z[d:].mean()) ** 2)) / (m - d) ** 2 for d in range(m - 1)
    ])
    half = max(1, int(math.ceil(m / 2)))
    # the earliest truncation among those equal up to rounding (e.g. an exactly steady tail)
    atol = 1e-12 * float(np.mean(z * z)) if z.size else 0.0
    d_star = _first_min(stat[:half], atol)
    reliable = _first_min(stat, atol) < half
    return MserResult(d_star * batch, d_star, batch, stat, z, reliable)


def _first_min(values: np.ndarray, atol: float) -> int:
    best = float(values.min())
    return int(np.flatnonzero(values <= best + atol + 1e-12 * abs(best))[0])


@dataclass
class WarmupResult:
    """A warm-up suggestion for one stock of one scenario.

    Attributes
    ----------
    scenario, stock : str
        What was examined.
    months : int
        Suggested warm-up, in months (MSER-5 truncation of the monthly series).
    years : float
        The same in years of 365.25 days.
    reliable : bool
        False when the series looks too short to settle (run longer).
    series : DataFrame
        Columns ``month``, ``time`` (days), ``mean`` (over replications) and one column
        per replication (``rep-0000`` ...).
    mser : MserResult
        The MSER statistic and the batch means.
    out_dir : Path or None
        Where the records, ``warmup.json``, ``warmup.csv`` and the chart were written.
    chart : Path or None
        The PNG chart of the series with the cut.
    """

    scenario: str
    stock: str
    months: int
    years: float
    reliable: bool
    series: pd.DataFrame
    mser: MserResult
    reps: int
    out_dir: Path | None = None
    chart: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "stock": self.stock,
            "method": f"MSER-{self.mser.batch}",
            "warmup_months": self.months,
            "warmup_years": self.years,
            "reliable": self.reliable,
            "replications": self.reps,
            "series_months": int(len(self.series)),
            "batches_deleted": self.mser.batches,
            "mser": self.mser.statistic.tolist(),
        }

    def figure(self) -> Any:
        """The chart (a :class:`matplotlib.figure.Figure`, shown inline in a notebook)."""
        return figure(self)

    def __str__(self) -> str:
        text = (f"MSER-{self.mser.batch} warm-up for {self.stock} ({self.scenario}, mean of "
                f"{self.reps} replications over {len(self.series)} months): "
                f"{self.months} months ({self.years:.2f} years)")
        if not self.reliable:
            text += ("; the minimum lies in the second half of the series, so the run may be "
                     "too short to settle: try more --years")
        return text


def stock_names() -> list[str]:
    """Names of the monthly stocks (columns of ``stocks.parquet`` that are stocks)."""
    from sim.records import STOCK_COLUMNS

    return [c for c in STOCK_COLUMNS if c not in _NOT_STOCKS]


def monthly_series(stocks: pd.DataFrame, stock: str) -> pd.DataFrame:
    """``month``, ``time``, ``mean`` over replications and one column per replication."""
    if stock not in stocks.columns:
        raise KeyError(f"no stock {stock!r}; stocks: {', '.join(stock_names())}")
    wide = stocks.pivot_table(index=["month", "time"], columns="rep", values=stock,
                              aggfunc="mean", sort=True)
    wide.columns = [output.rep_stem(int(r)) for r in wide.columns]
    wide = wide.reset_index()
    reps = [c for c in wide.columns if c.startswith("rep-")]
    wide.insert(2, "mean", wide[reps].mean(axis=1))
    return wide


def analyse(stocks: pd.DataFrame, stock: str, *, scenario: str = "",
            batch: int = BATCH) -> WarmupResult:
    """MSER of ``stock``'s monthly mean over the replications in ``stocks``."""
    series = monthly_series(stocks, stock)
    result = mser(series["mean"].to_numpy(dtype=float), batch)
    months = result.truncation
    days = float(series["time"].iloc[months - 1]) if months > 0 else 0.0
    # rows are month ends: deleting the first d rows is a warm-up of d whole months
    months_from_time = int(round(days / MONTH))
    reps = sum(1 for c in series.columns if c.startswith("rep-"))
    return WarmupResult(scenario, stock, months_from_time, days / YEAR, result.reliable,
                        series, result, reps)


def figure(result: WarmupResult) -> Any:
    """The warm-up chart as a :class:`matplotlib.figure.Figure`
    (:func:`sim.outputs.figures.warmup_figure`): each replication, their mean, the batch
    means and the cut; nothing global of matplotlib is changed."""
    from sim.outputs.figures import warmup_figure

    return warmup_figure(result)


def plot(result: WarmupResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`figure` as a PNG chart (atomically)."""
    fig = figure(result)
    final = Path(path)
    with output.atomic_path(final) as tmp:
        fig.savefig(tmp, format="png", dpi=110, facecolor="white")
    return final


def suggest_warmup(
    scenario: Any,
    *,
    stock: str,
    reps: int = 5,
    years: float = 30.0,
    seed: int = 1,
    out_dir: str | os.PathLike[str],
    batch: int = BATCH,
    chart: bool = True,
    **kwargs: Any,
) -> WarmupResult:
    """Run ``reps`` replications of ``years`` with no warm-up and apply MSER to ``stock``.

    Other keyword arguments (``workers``, ``backend``, ``resume``, ``overwrite``,
    ``progress``, ``command``, ``simulate``) go to
    :func:`sim.experiments.runs.run_experiment`. Writes the records, ``warmup.json``,
    ``warmup.csv`` and ``warmup-<stock>.png`` to ``out_dir``.
    """
    from sim.experiments.runs import (
        ExperimentError,
        check_experiment,
        locked,
        run_experiment,
    )

    if stock not in stock_names():
        raise ExperimentError(f"no stock {stock!r}; stocks: {', '.join(stock_names())}")
    if years * 12 < 2 * batch:
        raise ExperimentError(f"MSER-{batch} needs at least {2 * batch} months: use more years")
    check_experiment(scenario, reps=reps, seed=seed, years=years, warmup=0.0, out_dir=out_dir,
                     resume=bool(kwargs.get("resume")), overwrite=bool(kwargs.get("overwrite")))
    out = Path(out_dir)
    with locked(out):  # held until the analysis files are written too
        res = run_experiment(scenario, reps=reps, seed=seed, years=years, warmup=0.0,
                             out_dir=out_dir, **kwargs)
        result = analyse(res.stocks(), stock,
                         scenario=getattr(scenario, "name", str(scenario)), batch=batch)
        result.out_dir = out
        output.atomic_write_json(out / "warmup.json", result.to_dict())
        with output.atomic_path(out / "warmup.csv") as tmp:
            result.series.to_csv(tmp, index=False)
        if chart:
            result.chart = plot(result, out / f"warmup-{stock}.png")
    return result


__all__: Sequence[str] = [
    "BATCH",
    "MserResult",
    "WarmupResult",
    "analyse",
    "figure",
    "monthly_series",
    "mser",
    "plot",
    "stock_names",
    "suggest_warmup",
]
