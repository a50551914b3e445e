"""A result directory read back: the KPIs of each finished replication, their summary,
and the records on disk (see :mod:`sim.outputs.files` for the layout)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.outputs import files as output


def read_replication(out_dir: str | os.PathLike[str], rep: int) -> dict[str, float]:
    """KPIs of a finished replication, read back from ``replications/rep-NNNN.json``."""
    data = output.read_json(output.replication_path(out_dir, rep))
    return {k: (math.nan if v is None else float(v)) for k, v in data["kpis"].items()}


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced.

    ``per_rep`` has one row per replication (index ``rep``) and one column per KPI;
    ``summary`` is :func:`sim.outputs.statistics.summarise` of it (index KPI; mean, ci_low,
    ci_high, half_width, n). The records themselves stay on disk in ``out_dir`` and are
    loaded on demand by :meth:`stocks` and :meth:`journeys`.
    """

    scenario: Any
    out_dir: Path
    per_rep: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def stocks(self) -> pd.DataFrame:
        """Monthly stocks of every replication (column ``rep`` tells them apart)."""
        return pd.read_parquet(self.out_dir / output.STOCKS)

    def journeys(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The journey log of every replication, optionally only some ``columns``."""
        return pd.read_parquet(
            self.out_dir / output.JOURNEYS, columns=None if columns is None else list(columns)
        )

    def journey_dataset(self) -> Any:
        """The journey log as a lazy :class:`pyarrow.dataset.Dataset` (for filtered scans)."""
        import pyarrow.dataset as ds

        return ds.dataset(self.out_dir / output.JOURNEYS, format="parquet")


def completed_reps(out: Path) -> set[int]:
    folder = out / output.REPLICATIONS
    if not folder.is_dir():
        return set()
    return {r for p in folder.glob("rep-*.json") if (r := output.rep_of(p)) is not None}


def kpi_meta() -> dict[str, Any]:
    try:
        from sim.outputs.kpis import KPIS
    except ImportError:
        return {}
    return dict(KPIS)


def ordered_columns(columns: Iterable[str]) -> list[str]:
    """KPI columns in the order of ``sim.outputs.kpis.KPIS``, unknown ones after, alphabetically."""
    order = {name: i for i, name in enumerate(kpi_meta())}
    return sorted(columns, key=lambda c: (order.get(c, len(order)), c))


def load_result(out_dir: str | os.PathLike[str]) -> ExperimentResult:
    """Re-open a finished result directory (``scenario`` is the manifest's scenario entry)."""
    out = Path(out_dir)
    manifest = output.read_json(out / output.MANIFEST)
    reps = sorted(completed_reps(out))
    per_rep = pd.DataFrame.from_dict(
        {rep: read_replication(out, rep) for rep in reps}, orient="index"
    )
    per_rep.index.name = "rep"
    per_rep = per_rep[ordered_columns(per_rep.columns)]
    from sim.outputs.statistics import summarise

    return ExperimentResult(scenario=manifest.get("scenario"), out_dir=out, per_rep=per_rep,
                            summary=summarise(per_rep), manifest=manifest)

