"""Experiments: many independent replications of one scenario, run in parallel, resumable.

A replication is identified by its number ``rep`` (0, 1, ...). Its random streams derive
from ``(seed, rep)`` only (``numpy SeedSequence(seed, spawn_key=(rep, stream))``, inside
the model), never from the worker that runs it, so the results are the same whatever
the number of workers and whatever order the replications finish in.

Each replication writes its journey log and monthly stocks, computes its KPIs from those
records, and writes ``replications/rep-NNNN.json`` last: that file's presence means the
replication is complete, which is what ``resume`` relies on.

What may happen to an existing result directory (:func:`plan_directory`, checked before
anything is written, and again once the directory's lock is held):

* empty, or missing: the run starts;
* holding results of the same experiment: ``resume`` keeps them (and removes the files
  of replications left half-written); without it the run is refused;
* holding results of another experiment: refused, unless ``overwrite``, which removes
  only the files the earlier manifest owns;
* holding files no manifest of ours accounts for: refused, whatever the options.

Files that are not the program's own are never removed or replaced. The directory is
locked (:class:`sim.outputs.files.DirectoryLock`) for the whole run, so a second run
into it is refused at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    partial_files,
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
    log_warmup: bool = False,
) -> dict[str, float]:
    """Run replication ``rep`` of ``scenario``, write its records, return its KPIs.

    Writes ``journeys.parquet/rep-NNNN.parquet`` (streamed while the model runs),
    ``stocks.parquet/rep-NNNN.parquet`` and, last, ``replications/rep-NNNN.json``.
    KPIs are computed from the records only, over the window after ``warmup_years``.
    ``simulate`` defaults to :func:`sim.model.simulation.simulate`. ``log_warmup``: the
    journey log keeps the warm-up (default: the measured window only, with the rows
    describing the cases open at its start, see :mod:`sim.records`); a ``simulate``
    that takes no ``log_warmup`` argument writes what it writes.
    """
    if simulate is None:
        from sim.model import simulation as model

        simulate = model.simulate
    out = Path(out_dir)
    log.info("replication %d: simulating %.3g + %.3g years", rep, warmup_years, years)
    extra = {"log_warmup": log_warmup} if _takes(simulate, "log_warmup") else {}
    with output.JourneyWriter(out, rep) as sink:
        stocks = simulate(
            scenario, rep=rep, seed=seed, warmup_years=warmup_years, years=years,
            journey_sink=sink, **extra,
        )
    return finish_replication(scenario, rep, stocks, seed=seed, warmup_years=warmup_years,
                              years=years, out_dir=out)


def _takes(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` names the keyword argument ``name``."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params  # not through **kwargs: a wrapper may not pass it on


def finish_replication(scenario: Any, rep: int, stocks: pd.DataFrame, *, seed: int,
                       warmup_years: float, years: float,
                       out_dir: str | os.PathLike[str]) -> dict[str, float]:
    """Write a replication's stocks, compute its KPIs from its records (the journey log
    already written) and write ``replications/rep-NNNN.json`` last; return the KPIs."""
    from sim.outputs.kpis import RunRecords, compute_kpis

    out = Path(out_dir)
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


#: What ``reform_start`` may be: ``window`` (a reform begins at the start of the measured
#: window, on the root scenario's settled state: the default) or ``run`` (it applies from
#: the start of the run, to see its long-run state).
REFORM_STARTS: tuple[str, ...] = ("window", "run")


def reform_scenario(scenario: Any, reform_start: str, warmup: float) -> tuple[Any, str | None]:
    """The scenario as it runs under ``reform_start``, and a note when it runs otherwise
    than asked.

    Under ``window`` a scenario whose values differ from the root of its chain (usually
    the baseline) gets ``start_year = warmup`` (:meth:`sim.scenario.Scenario.starting_at`);
    one with its own ``start_year`` keeps it, and one that changes what cannot change
    part-way through a run (posts) applies from the start, each with a note. Under
    ``run`` the scenario is unchanged.
    """
    if reform_start not in REFORM_STARTS:
        raise ExperimentError(f"reform_start must be one of {', '.join(REFORM_STARTS)}, "
                              f"got {reform_start!r}")
    if reform_start == "run" or not hasattr(scenario, "starting_at"):
        return scenario, None
    if getattr(scenario, "before", None) is not None:
        if math.isclose(float(scenario.start_year), float(warmup)):
            return scenario, None
        return scenario, (f"{scenario.name} has its own start_year "
                          f"({float(scenario.start_year):g} years), which is kept")
    from sim.scenario import ScenarioError

    try:
        return scenario.starting_at(float(warmup)), None
    except ScenarioError as exc:
        return scenario, (f"{scenario.name} applies from the start of the run, not from the "
                          f"window: {exc}")


def run_extra(scenario: Any, *, reform_start: str, log_warmup: bool,
              notes: Sequence[str] = (), branch: Mapping[str, Any] | None = None
              ) -> dict[str, Any]:
    """The manifest keys saying how a run was made (see :func:`output.build_manifest`)."""
    start = getattr(scenario, "start_year", 0.0) or 0.0
    return {
        "reform_start": reform_start,
        "reform_start_year": float(start) if getattr(scenario, "before", None) is not None
        else None,
        "log_warmup": bool(log_warmup),
        "branch": None if branch is None else dict(branch),
        "notes": list(notes),
    }


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
              warmup: float, log_warmup: bool = False) -> bool:
    try:
        return (
            manifest["scenario"]["digest"] == scenario.digest()
            and int(manifest["seed"]) == int(seed)
            and math.isclose(float(manifest["years"]), float(years))
            and math.isclose(float(manifest["warmup_years"]), float(warmup))
            # logs written before the window-only default kept the warm-up
            and bool(manifest.get("log_warmup", True)) == bool(log_warmup)
        )
    except (KeyError, TypeError, ValueError):
        return False


# -- result directories: what may be done with one -------------------------------------------------


@dataclasses.dataclass
class Plan:
    """What a run will do with its directory: ``fresh`` (nothing there to keep),
    ``resume`` (keep the finished results) or ``overwrite`` (remove the files the earlier
    manifest owns first). ``state`` is what the directory held when checked."""

    out: Path
    action: str
    state: output.DirectoryState


_WHAT = {"run": "replications", "comparison": "a comparison",
         "sensitivity": "a sensitivity analysis"}


def _describe(out: Path, state: output.DirectoryState) -> str:
    manifest = state.manifest or {}
    kind = output.manifest_kind(manifest)
    scenario = manifest.get("scenario")
    name = scenario.get("name") if isinstance(scenario, Mapping) else manifest.get("base")
    of = f" of scenario {name}" if isinstance(name, str) and name else ""
    if kind == "run":
        n = len(completed_reps(out))
        what = f"{n} finished replication{'s' if n != 1 else ''}" if n else "results"
    else:
        what = f"results of {_WHAT[kind]}"
    return f"{what}{of}"


def plan_directory(out_dir: str | os.PathLike[str], *, kind: str,
                   same: Callable[[dict[str, Any]], bool], resume: bool = False,
                   overwrite: bool = False, differs: str = "") -> Plan:
    """Decide what a run of ``kind`` may do with ``out_dir``; raise :class:`ExperimentError`
    (saying how to proceed) when it may not. Reads only; see the module docstring.

    ``same(manifest)`` tells whether the directory's manifest records this experiment;
    ``differs`` words what would differ, for the message.
    """
    out = Path(out_dir)
    if resume and overwrite:
        raise ExperimentError("--resume keeps earlier results and --overwrite removes them: "
                              "give one or the other")
    try:
        state = output.scan_directory(out, skip_children=kind == "comparison")
    except NotADirectoryError:
        raise ExperimentError(f"{out} exists and is not a directory; use another --out") \
            from None
    except OSError as exc:
        raise ExperimentError(f"cannot read {exc.filename or out}: "
                              f"{exc.strerror or exc}") from None
    if state.empty:
        return Plan(out, "fresh", state)
    manifest = state.manifest
    if manifest is None:
        if not state.foreign and not state.owned:  # only result directories of its own
            return Plan(out, "fresh", state)
        shown = ", ".join(state.foreign[:3]) + (", ..." if len(state.foreign) > 3 else "")
        raise ExperimentError(
            f"{out} is not empty ({shown}) and is not a childsim result directory (no "
            "manifest.json of childsim), so nothing there may be replaced: use another --out "
            "(--overwrite removes only files a childsim manifest lists)")
    is_same = output.manifest_kind(manifest) == kind and same(manifest)
    if overwrite:
        return Plan(out, "overwrite", state)
    if not state.results:  # only a manifest: a run stopped before writing any result
        return Plan(out, "fresh", state)
    if resume:
        if is_same:
            return Plan(out, "resume", state)
        differs = differs or "experiment"
        raise ExperimentError(
            f"{out} holds {_describe(out, state)} run with a different {differs}; "
            "--resume cannot mix them: use another --out, or --overwrite to replace them "
            "(only the files its manifest.json lists are removed)")
    if is_same:
        raise ExperimentError(
            f"{out} already holds {_describe(out, state)} of this experiment: use --resume to "
            "keep them and run only what is missing, --overwrite to replace them, or "
            "another --out")
    raise ExperimentError(
        f"{out} holds {_describe(out, state)} of another experiment: use another --out, or "
        "--overwrite to replace them (only the files its manifest.json lists are removed)")


@contextlib.contextmanager
def locked(out_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``out_dir``'s lock (creating the directory); refused at once if another
    process holds it."""
    try:
        lock = output.DirectoryLock(out_dir).acquire()
    except output.DirectoryBusyError as exc:
        raise ExperimentError(f"{out_dir} is in use: {exc.strerror}") from None
    try:
        yield
    finally:
        lock.release()


def prepare_directory(plan: Plan) -> None:
    """Carry out a plan (under the directory's lock): remove what ``overwrite`` replaces,
    and the scratch and half-written replications of earlier runs."""
    out = plan.out
    if plan.action == "overwrite":
        removed = output.remove_owned(out, plan.state)
        log.info("%s: removed %d files of the earlier results", out, len(removed))
    else:
        output.remove_owned(out, dataclasses.replace(plan.state, owned=[]))
    for path in partial_files(out):  # replications left half-written
        path.unlink(missing_ok=True)


def check_experiment(scenario: Any, *, reps: int, seed: int, years: float, warmup: float,
                     out_dir: str | os.PathLike[str], resume: bool = False,
                     overwrite: bool = False, log_warmup: bool = False,
                     reform_start: str = "window") -> Plan:
    """Check an experiment's arguments, the scenario against the run length and the result
    directory, touching nothing; raise :class:`ExperimentError` with what to do instead.
    The scenario is checked as it runs under ``reform_start`` (:func:`reform_scenario`)."""
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ExperimentError(f"reps must be a whole number of at least 1, got {reps!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExperimentError(f"seed must be a whole number of 0 or more, got {seed!r}")
    if not (isinstance(years, int | float) and math.isfinite(years) and years > 0):
        raise ExperimentError(f"years must be positive, got {years}")
    if not (isinstance(warmup, int | float) and math.isfinite(warmup) and warmup >= 0):
        raise ExperimentError(f"warmup must not be negative, got {warmup}")
    scenario = reform_scenario(scenario, reform_start, warmup)[0]
    check_run_length(scenario, years=years, warmup=warmup)
    plan = plan_directory(
        out_dir, kind="run", resume=resume, overwrite=overwrite,
        differs="scenario content (or seed, years, warm-up, reform start or log)",
        same=lambda m: _same_run(m, scenario, seed, years, warmup, log_warmup))
    for entry in output.RESULT_ENTRIES:
        path = plan.out / entry
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise ExperimentError(f"{path} is not a folder of childsim results (a file or a "
                                  "symbolic link is there): use another --out")
    return plan


def check_run_length(scenario: Any, *, years: float, warmup: float) -> None:
    """Refuse a scenario whose ``start_year`` lies beyond the end of the run."""
    from sim.scenario import ScenarioError, check_start_year

    try:
        check_start_year(scenario, years=years, warmup=warmup)
    except ScenarioError as exc:
        raise ExperimentError(str(exc)) from None


def check_resumable(scenario: Any, out_dir: str | os.PathLike[str], *, seed: int,
                    years: float, warmup: float, log_warmup: bool = False,
                    reform_start: str = "window") -> int:
    """Raise :class:`ExperimentError` unless a resume of ``scenario`` into ``out_dir`` is safe.

    Safe means: nothing there, or ``manifest.json`` records the same scenario content
    (digest), seed, years and warm-up. Returns the number of finished replications that a
    resume would keep.
    """
    scenario = reform_scenario(scenario, reform_start, warmup)[0]
    plan_directory(out_dir, kind="run", resume=True,
                   differs="scenario content (or seed, years, warm-up, reform start or log)",
                   same=lambda m: _same_run(m, scenario, seed, years, warmup, log_warmup))
    return len(completed_reps(Path(out_dir)))


def _drop_reps_beyond(out: Path, reps: int) -> None:
    """Remove files of replications numbered ``reps`` or more (the automatic replication
    rule keeping exactly the replications it read)."""
    for entry in output.RESULT_ENTRIES:
        folder = out / entry
        if folder.is_symlink() or not folder.is_dir():
            continue
        for p in folder.glob("rep-*"):
            r = output.rep_of(p)
            if (r is not None and r >= reps and not p.is_symlink()
                    and output.matches(f"{entry}/{p.name}", output.OWNED["run"])):
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
    overwrite: bool = False,
    trim: bool = False,
    reform_start: str = "window",
    log_warmup: bool = False,
) -> ExperimentResult:
    """Run ``reps`` replications of ``scenario`` and write the results to ``out_dir``.

    Parameters
    ----------
    reps : number of replications (numbered 0 .. reps-1).
    seed : base seed; replication ``rep`` draws from ``SeedSequence(seed, spawn_key=(rep, ...))``.
    years, warmup : measured years, and warm-up years before them (not counted in KPIs).
    out_dir : result directory (see :mod:`sim.outputs.files` for its layout).
    workers : processes for the default :class:`LocalBackend` (None: all cores).
    resume : keep the replications already complete in ``out_dir`` and run only the rest
        (those beyond ``reps`` are kept too, and summarised; ``notes`` of the result says
        so); refused (:class:`ExperimentError`) unless ``out_dir/manifest.json`` records
        the same scenario digest, seed, years and warm-up. Files of replications left
        half-written are removed.
    overwrite : replace the results of an earlier run in ``out_dir``: only the files its
        manifest owns are removed. Without ``resume`` or ``overwrite``, a directory
        holding results is refused (see :func:`plan_directory`).
    trim : with ``resume``, remove the replications numbered ``reps`` or more instead of
        keeping them (for the automatic replication rule).
    backend : where to run replications (default ``LocalBackend(workers)``; see
        :mod:`sim.experiments.backends`). One whose ``shared_filesystem`` is False gets each
        replication's files sent back and written here.
    progress : called as ``progress(done, total)`` when the run starts and after each
        replication.
    command : the command line, recorded in the manifest.
    simulate : the model's ``simulate`` function (default :func:`sim.model.simulation.simulate`);
        must be picklable when a process pool is used.
    reform_start : ``"window"`` (default): a scenario that differs from the root of its
        chain (a reform over the baseline) takes effect at the start of the measured
        window, on the root's settled state; ``"run"``: from the start of the run. See
        :func:`reform_scenario`; the manifest records it.
    log_warmup : keep the warm-up in the journey log (default: the measured window, with
        the cases open at its start marked ``at_start``).
    """
    out = Path(out_dir)
    effective, note = reform_scenario(scenario, reform_start, warmup)
    check = functools.partial(check_experiment, effective, reps=reps, seed=seed, years=years,
                              warmup=warmup, out_dir=out, resume=resume, overwrite=overwrite,
                              log_warmup=log_warmup, reform_start=reform_start)
    check()  # before anything is touched
    extra = run_extra(effective, reform_start=reform_start, log_warmup=log_warmup,
                      notes=[note] if note else [])
    with locked(out):
        run = open_run(check(), effective, reps=reps, seed=seed, years=years, warmup=warmup,
                       command=command, trim=trim, extra=extra, progress=progress)
        runner: Backend = backend if backend is not None else LocalBackend(workers)
        shipped = not shares_files(runner)
        fn = functools.partial(
            _run_portable_shipped if shipped else _run_portable, _Portable(effective),
            seed=seed, warmup_years=warmup, years=years, out_dir=out, simulate=simulate,
            log_warmup=log_warmup,
        )
        for rep, result in runner.map(fn, run.todo):
            run.finished(rep, _write_shipped(out, rep, result) if shipped else result)
        return run.close()


@dataclasses.dataclass
class OpenRun:
    """A run under way in its (locked) directory: what is done, what is left, and how to
    record it (:func:`open_run`, :meth:`finished`, :meth:`close`)."""

    out: Path
    scenario: Any
    done: dict[int, dict[str, float]]
    todo: list[int]
    notes: list[str]
    started: Any
    manifest_args: dict[str, Any]
    progress: Callable[[int, int], None] | None = None

    @property
    def total(self) -> int:
        """Replications of the run when finished (those kept and those to run)."""
        return int(self.manifest_args["reps"])

    def finished(self, rep: int, kpis: dict[str, float]) -> None:
        """Record that replication ``rep`` is complete with ``kpis``."""
        self.done[rep] = kpis
        if self.progress is not None:
            self.progress(len(self.done), self.total)

    def close(self) -> ExperimentResult:
        """Write the summary and the final manifest; the result."""
        per_rep = pd.DataFrame.from_dict(self.done, orient="index").sort_index()
        per_rep.index.name = "rep"
        per_rep = per_rep[ordered_columns(per_rep.columns)]

        from sim.outputs.statistics import summarise

        summary = summarise(per_rep)
        output.write_summary(self.out / output.SUMMARY, summary, kpi_meta())
        manifest = output.build_manifest(
            self.scenario, started=self.started, finished=output.utc_now(),
            **self.manifest_args)
        output.atomic_write_json(self.out / output.MANIFEST, manifest)
        return ExperimentResult(scenario=self.scenario, out_dir=self.out, per_rep=per_rep,
                                summary=summary, manifest=manifest, notes=self.notes)


def open_run(plan: Plan, scenario: Any, *, reps: int, seed: int, years: float,
             warmup: float, command: Sequence[str] | str | None, trim: bool = False,
             extra: Mapping[str, Any] | None = None,
             progress: Callable[[int, int], None] | None = None) -> OpenRun:
    """Start a run in a directory whose lock is held: carry out ``plan``, read what a
    resume keeps, and write the manifest (unfinished)."""
    out = plan.out
    prepare_directory(plan)
    done: dict[int, dict[str, float]] = {}
    notes: list[str] = list((extra or {}).get("notes") or [])
    manifest_path = out / output.MANIFEST
    if plan.action == "resume":
        if trim:
            _drop_reps_beyond(out, reps)
        for rep in sorted(completed_reps(out)):
            done[rep] = read_replication(out, rep)
        extra_reps = sorted(r for r in done if r >= reps)
        if extra_reps:
            notes.append(
                f"{len(done)} replications were already finished in {out}, more than the "
                f"{reps} asked for: all are kept and summarised")
        (out / output.SUMMARY).unlink(missing_ok=True)

    out.mkdir(parents=True, exist_ok=True)
    for entry in output.RESULT_ENTRIES:
        (out / entry).mkdir(exist_ok=True)

    todo = [rep for rep in range(reps) if rep not in done]
    total = len(done) + len(todo)
    started = output.utc_now()
    manifest_args = dict(seed=seed, reps=total, years=years, warmup=warmup, command=command,
                         extra=extra)
    output.atomic_write_json(
        manifest_path,
        output.build_manifest(scenario, started=started, finished=None, **manifest_args),
    )
    if done:
        log.info("resuming: %d of %d replications already complete", len(done), total)
    if progress is not None:
        progress(len(done), total)
    return OpenRun(out, scenario, done, todo, notes, started, manifest_args, progress)


__all__ = [
    "Backend",
    "DaskBackend",
    "ExperimentError",
    "ExperimentResult",
    "LocalBackend",
    "Plan",
    "check_experiment",
    "check_resumable",
    "check_run_length",
    "OpenRun",
    "REFORM_STARTS",
    "finish_replication",
    "locked",
    "open_run",
    "plan_directory",
    "reform_scenario",
    "prepare_directory",
    "default_workers",
    "load_result",
    "read_replication",
    "run_experiment",
    "run_replication",
]
