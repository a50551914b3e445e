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

import pandas as pd

from sim.outputs import files as output
from sim.outputs.statistics import mean_ci, paired_difference, welch_difference

COMPARISON_CSV = "comparison.csv"


COMPARISON_JSON = "comparison.json"


#: Columns of a comparison table, one row per KPI and scenario. ``diff`` is the mean
#: paired difference ``scenario - base`` with its t interval; ``significant`` says the
#: interval excludes zero; ``welch_half_width`` is the unpaired interval's half-width, for
#: reference. The base's own rows have NaN differences and ``significant`` False.
COLUMNS: tuple[str, ...] = (
    "kpi", "scenario", "is_base", "mean", "ci_low", "ci_high", "half_width", "n",
    "diff", "diff_ci_low", "diff_ci_high", "diff_half_width", "n_pairs", "significant",
    "welch_half_width",
)


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
    rows: list[dict[str, Any]] = []
    for kpi in kpis:
        a_all = _column(base_df, kpi)
        for name in names:
            b_all = _column(per_rep[name], kpi)
            mean, half, n = mean_ci(b_all.to_numpy(dtype=float), confidence)
            row: dict[str, Any] = {
                "kpi": kpi, "scenario": name, "is_base": name == base, "mean": mean,
                "ci_low": mean - half, "ci_high": mean + half, "half_width": half, "n": n,
                "diff": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                "diff_half_width": math.nan, "n_pairs": 0, "significant": False,
                "welch_half_width": math.nan,
            }
            if name != base:
                common = a_all.index.intersection(b_all.index)
                a, b = a_all.loc[common].to_numpy(float), b_all.loc[common].to_numpy(float)
                diff, dhalf, npairs = paired_difference(a, b, confidence)
                _, whalf, _ = welch_difference(a_all.to_numpy(float), b_all.to_numpy(float),
                                               confidence)
                lo, hi = diff - dhalf, diff + dhalf
                row.update(diff=diff, diff_ci_low=lo, diff_ci_high=hi, diff_half_width=dhalf,
                           n_pairs=npairs, welch_half_width=whalf,
                           significant=bool(math.isfinite(lo) and math.isfinite(hi)
                                            and (lo > 0 or hi < 0)))
            rows.append(row)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["n"] = table["n"].astype(int)
    table["n_pairs"] = table["n_pairs"].astype(int)
    table["significant"] = table["significant"].astype(bool)
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
    """The comparison table written in ``DIR/comparison.csv``."""
    return pd.read_csv(Path(out_dir) / COMPARISON_CSV)

