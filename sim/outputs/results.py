"""A result directory read back: the KPIs of each finished replication, their summary,
and the records on disk (see :mod:`sim.outputs.files` for the layout).

Only whole replications are read (:func:`completed_reps`): a replication whose
``replications/rep-NNNN.json`` is missing (a run interrupted while writing it) is
ignored, even if some of its Parquet files are there.
"""

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

    notes: list[str] = field(default_factory=list)

    def _reps(self) -> list[int]:
        return sorted(int(r) for r in self.per_rep.index)

    def _files(self, entry: str) -> list[str]:
        files = output.rep_files(self.out_dir, entry, self._reps())
        if not files:
            raise FileNotFoundError(f"{self.out_dir / entry}: no complete replication")
        return [str(f) for f in files]

    def stocks(self) -> pd.DataFrame:
        """Monthly stocks of every replication (column ``rep`` tells them apart)."""
        return pd.read_parquet(self._files(output.STOCKS))

    def journeys(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The journey log of every replication, optionally only some ``columns``."""
        return pd.read_parquet(
            self._files(output.JOURNEYS), columns=None if columns is None else list(columns)
        )

    def journey_dataset(self) -> Any:
        """The journey log as a lazy :class:`pyarrow.dataset.Dataset` (for filtered scans)."""
        import pyarrow.dataset as ds

        return ds.dataset(self._files(output.JOURNEYS), format="parquet")


def _whole(out: Path, rep: int) -> bool:
    """Whether replication ``rep`` is complete: its KPI record reads back, and both of its
    Parquet files exist."""
    try:
        data = output.read_json(output.replication_path(out, rep))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or not isinstance(data.get("kpis"), dict):
        return False
    if not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool))
               for v in data["kpis"].values()):
        return False
    return (output.journey_path(out, rep).is_file()
            and output.stocks_path(out, rep).is_file())


def completed_reps(out: str | os.PathLike[str]) -> set[int]:
    """The replications of ``out`` that are whole (see :func:`_whole`)."""
    folder = Path(out) / output.REPLICATIONS
    if folder.is_symlink() or not folder.is_dir():
        return set()
    reps = {r for p in folder.glob("rep-*.json")
            if (r := output.rep_of(p)) is not None and p.name == f"{output.rep_stem(r)}.json"}
    return {r for r in reps if _whole(Path(out), r)}


def partial_files(out: str | os.PathLike[str]) -> list[Path]:
    """Per-replication files of replications that are not whole (what a resume removes)."""
    out = Path(out)
    whole = completed_reps(out)
    stray = []
    for entry in output.RESULT_ENTRIES:
        folder = out / entry
        if folder.is_symlink() or not folder.is_dir():
            continue
        for p in sorted(folder.glob("rep-*")):
            r = output.rep_of(p)
            if (r is not None and r not in whole and p.is_file() and not p.is_symlink()
                    and output.matches(f"{entry}/{p.name}", output.OWNED["run"])):
                stray.append(p)
    return stray


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

