"""Experiments: many independent replications of one scenario, run in parallel, resumable.

A replication is identified by its number ``rep`` (0, 1, ...). Its random streams derive
from ``(seed, rep)`` only (``numpy SeedSequence(seed, spawn_key=(rep, stream))``, inside
the model), never from the worker that runs it, so the results are the same whatever
the number of workers and whatever order the replications finish in.

Each replication writes its journey log and monthly stocks, computes its KPIs from those
records, and writes ``replications/rep-NNNN.json`` last: that file's presence means the
replication is complete, which is what ``resume`` relies on.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.clock import DEFAULT_WARMUP_YEARS, Window
from sim.experiments.backends import (
    Backend,
    DaskBackend,
    LocalBackend,
    default_workers,
    shares_files,
)
from sim.outputs import files as output
from sim.outputs.results import (
    ExperimentResult,
    completed_reps,
    kpi_meta,
    load_result,
    ordered_columns,
    read_replication,
)

log = logging.getLogger(__name__)


class ExperimentError(ValueError):
    """An experiment cannot run as asked (for example a resume into another scenario's results)."""


# -- one replication -----------------------------------------------------------------------------


def run_replication(
    scenario: Any,
    rep: int,
    *,
    seed: int,
    warmup_years: float,
    years: float,
    out_dir: str | os.PathLike[str],
    simulate: Callable[..., pd.DataFrame] | None = None,
) -> dict[str, float]:
    """Run replication ``rep`` of ``scenario``, write its records, return its KPIs.

    Writes ``journeys.parquet/rep-NNNN.parquet`` (streamed while the model runs),
    ``stocks.parquet/rep-NNNN.parquet`` and, last, ``replications/rep-NNNN.json``.
    KPIs are computed from the records only, over the window after ``warmup_years``.
    ``simulate`` defaults to :func:`sim.model.simulation.simulate`.
    """
    if simulate is None:
        from sim.model import simulation as model

        simulate = model.simulate
    from sim.outputs.kpis import RunRecords, compute_kpis

    out = Path(out_dir)
    log.info("replication %d: simulating %.3g + %.3g years", rep, warmup_years, years)
    with output.JourneyWriter(out, rep) as sink:
        stocks = simulate(
            scenario, rep=rep, seed=seed, warmup_years=warmup_years, years=years,
            journey_sink=sink,
        )
    stocks = pd.DataFrame(stocks)
    if "rep" not in stocks.columns:
        stocks.insert(0, "rep", rep)
    output.atomic_write_parquet(output.stocks_path(out, rep), stocks)

    journeys = pq.read_table(output.journey_path(out, rep)).to_pandas()
    records = RunRecords(
        journeys=journeys,
        stocks=stocks,
        window=Window.from_years(warmup_years, years),
        child_population=int(scenario["population.child_population"]),
    )
    kpis = {str(k): float(v) for k, v in compute_kpis(records).items()}
    output.atomic_write_json(
        output.replication_path(out, rep), {"rep": int(rep), "seed": int(seed), "kpis": kpis}
    )
    log.info("replication %d: done (%d journey rows)", rep, len(journeys))
    return kpis


class _Portable:
    """Carries a scenario to worker processes.

    A frozen dataclass holding read-only mappings (``types.MappingProxyType``) cannot be
    pickled as is; this sends its fields as plain dicts and rebuilds it on the other side.
    Anything else is pickled unchanged.
    """

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __reduce__(self) -> tuple[Any, ...]:
        obj = self.obj
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            kwargs = {}
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                kwargs[f.name] = dict(value) if isinstance(value, MappingProxyType) else value
            return (_rebuild, (type(obj), kwargs))
        return (_Portable, (obj,))


def _rebuild(cls: type, kwargs: dict[str, Any]) -> _Portable:
    return _Portable(cls(**kwargs))


def _run_portable(portable: _Portable, rep: int, **kwargs: Any) -> dict[str, float]:
    return run_replication(portable.obj, rep, **kwargs)


def _run_portable_shipped(portable: _Portable, rep: int, **kwargs: Any) -> dict[str, Any]:
    """Run a replication in a temporary directory of the worker and return its files.

    For backends whose workers do not share this machine's filesystem: returns
    ``{"kpis": ..., "files": {relative path: bytes}}``, written here by
    :func:`_write_shipped` (records first, the replication's KPI file last).
    """
    kwargs.pop("out_dir", None)
    with tempfile.TemporaryDirectory(prefix="childsim-rep-") as tmp:
        kpis = run_replication(portable.obj, rep, out_dir=tmp, **kwargs)
        files = {
            rel: (Path(tmp) / rel).read_bytes()
            for rel in (
                os.path.relpath(output.journey_path(tmp, rep), tmp),
                os.path.relpath(output.stocks_path(tmp, rep), tmp),
                os.path.relpath(output.replication_path(tmp, rep), tmp),
            )
        }
    return {"kpis": kpis, "files": files}


def _write_shipped(out: Path, rep: int, shipped: dict[str, Any]) -> dict[str, float]:
    files: dict[str, bytes] = shipped["files"]
    last = os.path.relpath(output.replication_path(out, rep), out)
    for rel in sorted(files, key=lambda r: r == last):
        with output.atomic_path(out / rel) as tmp:
            tmp.write_bytes(files[rel])
    return shipped["kpis"]


# -- experiments -----------------------------------------------------------------------------------


def _same_run(manifest: dict[str, Any], scenario: Any, seed: int, years: float,
              warmup: float) -> bool:
    try:
        return (
            manifest["scenario"]["digest"] == scenario.digest()
            and int(manifest["seed"]) == int(seed)
            and math.isclose(float(manifest["years"]), float(years))
            and math.isclose(float(manifest["warmup_years"]), float(warmup))
        )
    except (KeyError, TypeError, ValueError):
        return False


def check_resumable(scenario: Any, out_dir: str | os.PathLike[str], *, seed: int,
                    years: float, warmup: float) -> int:
    """Raise :class:`ExperimentError` unless a resume of ``scenario`` into ``out_dir`` is safe.

    Safe means: no finished replication there, or ``manifest.json`` records the same
    scenario content (digest), seed, years and warm-up. Returns the number of finished
    replications that a resume would keep (before any beyond ``reps`` are dropped).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"{out} exists and is not a directory; use another --out")
    finished = completed_reps(out)
    if not finished:
        return 0
    try:
        old = output.read_json(out / output.MANIFEST)
    except (OSError, ValueError):
        old = None
    if old is None or not _same_run(old, scenario, seed, years, warmup):
        raise ExperimentError(
            f"{out} holds results of a different scenario (or seed, years or warm-up); "
            "use another --out or remove it"
        )
    return len(finished)


def _clear_results(out: Path) -> None:
    """Remove per-replication results and the summary; leave everything else alone."""
    for entry in output.RESULT_ENTRIES:
        path = out / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (out / output.SUMMARY).unlink(missing_ok=True)
    (out / output.PRECISION).unlink(missing_ok=True)


def _drop_reps_beyond(out: Path, reps: int) -> None:
    """Remove files of replications numbered ``reps`` or more (a resume with fewer reps)."""
    for entry in output.RESULT_ENTRIES:
        folder = out / entry
        if not folder.is_dir():
            continue
        for p in folder.glob("rep-*"):
            r = output.rep_of(p)
            if r is not None and r >= reps:
                p.unlink()


def run_experiment(
    scenario: Any,
    *,
    reps: int = 10,
    seed: int = 1,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    out_dir: str | os.PathLike[str],
    workers: int | None = None,
    resume: bool = False,
    backend: Backend | None = None,
    progress: Callable[[int, int], None] | None = None,
    command: Sequence[str] | str | None = None,
    simulate: Callable[..., pd.DataFrame] | None = None,
) -> ExperimentResult:
    """Run ``reps`` replications of ``scenario`` and write the results to ``out_dir``.

    Parameters
    ----------
    reps : number of replications (numbered 0 .. reps-1).
    seed : base seed; replication ``rep`` draws from ``SeedSequence(seed, spawn_key=(rep, ...))``.
    years, warmup : measured years, and warm-up years before them (not counted in KPIs).
    out_dir : result directory (see :mod:`sim.outputs.files` for its layout).
    workers : processes for the default :class:`LocalBackend` (None: all cores).
    resume : keep the replications already complete in ``out_dir`` and run only the rest;
        refused (:class:`ExperimentError`) unless ``out_dir/manifest.json`` records the
        same scenario digest, seed, years and warm-up. Without ``resume``, earlier
        replication results in ``out_dir`` are removed first (other files are kept).
    backend : where to run replications (default ``LocalBackend(workers)``; see
        :mod:`sim.experiments.backends`). One whose ``shared_filesystem`` is False gets each
        replication's files sent back and written here.
    progress : called as ``progress(done, total)`` when the run starts and after each
        replication.
    command : the command line, recorded in the manifest.
    simulate : the model's ``simulate`` function (default :func:`sim.model.simulation.simulate`);
        must be picklable when a process pool is used.
    """
    if reps < 1:
        raise ExperimentError(f"reps must be at least 1, got {reps}")
    if years <= 0:
        raise ExperimentError(f"years must be positive, got {years}")
    if warmup < 0:
        raise ExperimentError(f"warmup must not be negative, got {warmup}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"{out} exists and is not a directory; use another --out")

    done: dict[int, dict[str, float]] = {}
    manifest_path = out / output.MANIFEST
    if resume and completed_reps(out):
        check_resumable(scenario, out, seed=seed, years=years, warmup=warmup)
        _drop_reps_beyond(out, reps)
        for rep in sorted(completed_reps(out)):
            done[rep] = read_replication(out, rep)
        (out / output.SUMMARY).unlink(missing_ok=True)
    elif out.exists():
        _clear_results(out)

    out.mkdir(parents=True, exist_ok=True)
    for entry in output.RESULT_ENTRIES:
        (out / entry).mkdir(exist_ok=True)
        output.remove_temp_files(out / entry)

    started = output.utc_now()
    manifest_args = dict(seed=seed, reps=reps, years=years, warmup=warmup, command=command)
    output.atomic_write_json(
        manifest_path,
        output.build_manifest(scenario, started=started, finished=None, **manifest_args),
    )

    todo = [rep for rep in range(reps) if rep not in done]
    if done:
        log.info("resuming: %d of %d replications already complete", len(done), reps)
    if progress is not None:
        progress(len(done), reps)
    runner: Backend = backend if backend is not None else LocalBackend(workers)
    shipped = not shares_files(runner)
    fn = functools.partial(
        _run_portable_shipped if shipped else _run_portable, _Portable(scenario), seed=seed,
        warmup_years=warmup, years=years, out_dir=out, simulate=simulate,
    )
    for rep, result in runner.map(fn, todo):
        done[rep] = _write_shipped(out, rep, result) if shipped else result
        if progress is not None:
            progress(len(done), reps)

    per_rep = pd.DataFrame.from_dict(done, orient="index").sort_index()
    per_rep.index.name = "rep"
    per_rep = per_rep[ordered_columns(per_rep.columns)]

    from sim.outputs.statistics import summarise

    summary = summarise(per_rep)
    output.write_summary(out / output.SUMMARY, summary, kpi_meta())
    manifest = output.build_manifest(
        scenario, started=started, finished=output.utc_now(), **manifest_args
    )
    output.atomic_write_json(manifest_path, manifest)
    return ExperimentResult(scenario=scenario, out_dir=out, per_rep=per_rep, summary=summary,
                            manifest=manifest)


__all__ = [
    "Backend",
    "DaskBackend",
    "ExperimentError",
    "ExperimentResult",
    "LocalBackend",
    "check_resumable",
    "default_workers",
    "load_result",
    "read_replication",
    "run_experiment",
    "run_replication",
]
