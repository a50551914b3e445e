"""The comparison table: per KPI and scenario, the mean with its interval and the paired
difference from the base (common random numbers), and how it is written and read.

Written as ``DIR/comparison.csv`` (one row per KPI and scenario, :data:`COLUMNS`) and
``DIR/comparison.json`` (what was compared, with the same rows) by
:func:`sim.experiments.comparison.run_comparison`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.outputs import files as output
from sim.outputs.statistics import bounded_mean_ci, paired_difference, welch_difference

COMPARISON_CSV = "comparison.csv"


COMPARISON_JSON = "comparison.json"


#: Columns of a comparison table, one row per KPI and scenario. ``mean`` has an interval
#: within the KPI's bounds (:func:`sim.outputs.statistics.bounded_mean_ci`); ``diff`` is
#: the mean paired difference ``scenario - base`` with its t interval; ``pct``,
#: ``pct_ci_low`` and ``pct_ci_high`` are the difference and its interval as a percentage
#: of the base mean (NaN when that is zero or undefined); ``significant`` says the
#: interval excludes zero; ``applicable`` is False when the scenario abolishes the measure
#: (:func:`abolished`: then it is never significant); ``welch_half_width`` is the unpaired
#: interval's half-width, for reference. The base's own rows have NaN differences,
#: ``significant`` False and ``applicable`` True.
COLUMNS: tuple[str, ...] = (
    "kpi", "scenario", "is_base", "mean", "ci_low", "ci_high", "half_width", "n",
    "diff", "diff_ci_low", "diff_ci_high", "diff_half_width", "n_pairs", "significant",
    "welch_half_width", "pct", "pct_ci_low", "pct_ci_high", "applicable",
)


def abolished(kpi: str, base: pd.Series | np.ndarray, scenario: pd.Series | np.ndarray) -> bool:
    """Whether a scenario abolishes a measure: the measure exists only under one policy
    (:attr:`sim.outputs.labels.Label.policy_specific`), every replication of the scenario
    has none of it (zero or undefined) and the base has some on average.

    Such a measure is "not applicable under this policy": its difference from the base is
    not an effect of the policy on it, and is never reported as a change.
    """
    from sim.outputs.labels import kpi_label

    if not kpi_label(kpi).policy_specific:
        return False
    b = np.asarray(scenario, dtype=float)
    a = np.asarray(base, dtype=float)
    a = a[np.isfinite(a)]
    none = bool(np.all(np.isnan(b) | (b == 0.0)))
    return none and a.size > 0 and float(np.mean(a)) != 0.0


def compare_frames(per_rep: Mapping[str, pd.DataFrame], base: str,
                   confidence: float = 0.95) -> pd.DataFrame:
    """The comparison table of several scenarios' per-replication KPIs.

    ``per_rep`` maps scenario name to a DataFrame indexed by replication number with one
    column per KPI (``ExperimentResult.per_rep``); ``base`` is one of its keys. Pairs are
    matched by replication number. KPIs are in the base's column order; the base's rows
    come first within each KPI, then the others in the given order.
    """
    if base not in per_rep:
        raise KeyError(f"base scenario {base!r} is not among {list(per_rep)}")
    names = [base, *(n for n in per_rep if n != base)]
    base_df = per_rep[base]
    kpis = list(base_df.columns)
    for n in names[1:]:
        kpis.extend(c for c in per_rep[n].columns if c not in kpis)
    from sim.outputs.labels import kpi_label

    rows: list[dict[str, Any]] = []
    for kpi in kpis:
        a_all = _column(base_df, kpi)
        lower, upper = kpi_label(kpi).bounds
        base_mean = float(np.nanmean(a_all)) if a_all.notna().any() else math.nan
        for name in names:
            b_all = _column(per_rep[name], kpi)
            mean, ci_lo, ci_hi, n = bounded_mean_ci(b_all.to_numpy(dtype=float), confidence,
                                                    lower, upper)
            row: dict[str, Any] = {
                "kpi": kpi, "scenario": name, "is_base": name == base, "mean": mean,
                "ci_low": ci_lo, "ci_high": ci_hi, "half_width": (ci_hi - ci_lo) / 2.0,
                "n": n, "diff": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                "diff_half_width": math.nan, "n_pairs": 0, "significant": False,
                "welch_half_width": math.nan, "pct": math.nan, "pct_ci_low": math.nan,
                "pct_ci_high": math.nan, "applicable": True,
            }
            if name != base:
                common = a_all.index.intersection(b_all.index)
                a, b = a_all.loc[common].to_numpy(float), b_all.loc[common].to_numpy(float)
                diff, dhalf, npairs = paired_difference(a, b, confidence)
                _, whalf, _ = welch_difference(a_all.to_numpy(float), b_all.to_numpy(float),
                                               confidence)
                lo, hi = diff - dhalf, diff + dhalf
                applicable = not abolished(kpi, a_all.to_numpy(float), b_all.to_numpy(float))
                row.update(diff=diff, diff_ci_low=lo, diff_ci_high=hi, diff_half_width=dhalf,
                           n_pairs=npairs, welch_half_width=whalf, applicable=applicable,
                           significant=bool(applicable and math.isfinite(lo)
                                            and math.isfinite(hi) and (lo > 0 or hi < 0)))
                if math.isfinite(base_mean) and base_mean != 0.0:
                    scale = 100.0 / abs(base_mean)
                    row.update(pct=diff * scale, pct_ci_low=lo * scale, pct_ci_high=hi * scale)
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["n"] = table["n"].astype(int)
    table["n_pairs"] = table["n_pairs"].astype(int)
    table["significant"] = table["significant"].astype(bool)
    table["applicable"] = table["applicable"].astype(bool)
    return table


def _column(df: pd.DataFrame, kpi: str) -> pd.Series:
    if kpi in df.columns:
        return pd.to_numeric(df[kpi], errors="coerce").astype(float)
    return pd.Series(math.nan, index=df.index, dtype=float)


def write_comparison(out_dir: str | os.PathLike[str], table: pd.DataFrame,
                     meta: Mapping[str, Any]) -> None:
    """Write ``comparison.csv`` (the table) and ``comparison.json`` (``meta`` and rows)."""
    out = Path(out_dir)
    with output.atomic_path(out / COMPARISON_CSV) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    rows = table.to_dict(orient="records")
    output.atomic_write_json(out / COMPARISON_JSON, {**meta, "rows": rows})


def read_comparison(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The comparison table written in ``DIR/comparison.csv`` (:func:`complete` added)."""
    return complete(pd.read_csv(Path(out_dir) / COMPARISON_CSV))


def _truthy(column: pd.Series) -> pd.Series:
    if column.dtype == bool:
        return column
    return column.astype(str).str.strip().str.lower().isin(("true", "1", "1.0", "yes"))


def complete(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table with every column of :data:`COLUMNS` that can be derived: a table
    written by an earlier version gets ``is_base``, ``pct*`` and ``applicable`` (abolished
    measures then found from the means: zero or undefined against a non-zero base)."""
    t = table.copy()
    if "is_base" not in t.columns:
        t["is_base"] = t["scenario"] == t["scenario"].iloc[0]
    t["is_base"] = _truthy(t["is_base"])
    t["significant"] = _truthy(t["significant"]) if "significant" in t.columns else False
    base_mean = t[t["is_base"]].set_index("kpi")["mean"].astype(float)
    bm = t["kpi"].map(base_mean).astype(float)
    if "applicable" not in t.columns:
        from sim.outputs.labels import kpi_label

        policy = t["kpi"].map(lambda k: bool(kpi_label(str(k)).policy_specific))
        mean = t["mean"].astype(float)
        gone = policy & ~t["is_base"] & (mean.isna() | (mean == 0)) & (bm.abs() > 0)
        t["applicable"] = ~gone
    else:
        t["applicable"] = _truthy(t["applicable"])
    t.loc[~t["applicable"], "significant"] = False
    if "pct" not in t.columns:
        scale = (100.0 / bm.abs()).where(bm.abs() > 0)
        for out, col in (("pct", "diff"), ("pct_ci_low", "diff_ci_low"),
                         ("pct_ci_high", "diff_ci_high")):
            t[out] = t[col].astype(float) * scale if col in t.columns else math.nan
    return t

