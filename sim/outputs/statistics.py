"""Across-replication statistics: means with Student t confidence intervals.

Each replication gives one value of each KPI; replications are independent, so the
mean over replications has a two-sided Student t confidence interval. Comparisons of
two scenarios run with common random numbers use the paired difference, whose interval
is narrower when the paired values are positively correlated.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

SUMMARY_COLUMNS: tuple[str, ...] = ("mean", "ci_low", "ci_high", "half_width", "n")


def _finite_values(values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def mean_ci(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean and half-width of the two-sided Student t confidence interval of the mean.

    NaNs are dropped. Returns ``(mean, half_width, n)``; with one value the half-width is
    NaN, with none the result is ``(nan, nan, 0)``. The interval is
    ``mean +/- t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard
    deviation (``ddof=1``).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    arr = _finite_values(values)
    n = int(arr.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(arr.mean())
    if n == 1:
        return mean, math.nan, 1
    sd = float(arr.std(ddof=1))
    t_crit = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    return mean, t_crit * sd / math.sqrt(n), n


def summarise(per_rep: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Summarise KPIs over replications.

    ``per_rep`` has one row per replication and one column per KPI. Returns a DataFrame
    indexed by KPI name (in column order) with columns ``mean``, ``ci_low``, ``ci_high``,
    ``half_width`` and ``n`` (replications with a non-NaN value).
    """
    rows = []
    for name in per_rep.columns:
        values = pd.to_numeric(per_rep[name], errors="coerce").to_numpy(dtype=float)
        mean, half, n = mean_ci(values, confidence)
        rows.append((mean, mean - half, mean + half, half, n))
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS), index=pd.Index(per_rep.columns))
    out.index.name = "kpi"
    out["n"] = out["n"].astype(int)
    return out


def paired_difference(
    a: ArrayLike, b: ArrayLike, confidence: float = 0.95
) -> tuple[float, float, int]:
    """Mean and t-interval half-width of ``b - a`` over paired replications.

    ``a[i]`` and ``b[i]`` come from the same replication (common random numbers). Pairs
    where either value is NaN are dropped. Returns ``(mean, half_width, n_pairs)``.
    """
    arr_a = np.asarray(a, dtype=float).ravel()
    arr_b = np.asarray(b, dtype=float).ravel()
    if arr_a.shape != arr_b.shape:
        raise ValueError(f"paired samples differ in length: {arr_a.size} and {arr_b.size}")
    return mean_ci(arr_b - arr_a, confidence)


def welch_difference(
    a: ArrayLike, b: ArrayLike, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean and Welch t-interval half-width of ``mean(b) - mean(a)`` for independent samples.

    The unpaired interval, which ignores any pairing: ``(mean_b - mean_a) +/-
    t_{(1+confidence)/2, df} * sqrt(s_a^2/n_a + s_b^2/n_b)`` with the Welch-Satterthwaite
    degrees of freedom ``df``. NaNs are dropped from each sample. Returns
    ``(difference, half_width, df)``; the half-width is NaN when a sample has fewer than
    two values, and 0 (with ``df`` NaN) when both samples are constant.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    xa, xb = _finite_values(a), _finite_values(b)
    if xa.size == 0 or xb.size == 0:
        return math.nan, math.nan, math.nan
    diff = float(xb.mean() - xa.mean())
    if xa.size < 2 or xb.size < 2:
        return diff, math.nan, math.nan
    va, vb = float(xa.var(ddof=1)) / xa.size, float(xb.var(ddof=1)) / xb.size
    se2 = va + vb
    if se2 == 0.0:
        return diff, 0.0, math.nan
    df = se2**2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    t_crit = float(stats.t.ppf(0.5 + confidence / 2.0, df))
    return diff, t_crit * math.sqrt(se2), float(df)


def relative_half_width(mean: float, half_width: float) -> float:
    """``half_width / |mean|``: the relative precision of a confidence interval.

    0 when the half-width is 0 (a constant sample, even of zeros); infinite when the mean
    is 0 and the half-width is not; NaN when either is NaN.
    """
    if math.isnan(mean) or math.isnan(half_width):
        return math.nan
    if half_width == 0.0:
        return 0.0
    if mean == 0.0:
        return math.inf
    return abs(half_width) / abs(mean)


__all__ = [
    "SUMMARY_COLUMNS",
    "mean_ci",
    "paired_difference",
    "relative_half_width",
    "summarise",
    "welch_difference",
]
