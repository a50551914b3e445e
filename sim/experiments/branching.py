"""Branching: one warm-up per replication, shared by every scenario of an experiment.

When reforms begin at the start of the measured window (``reform_start="window"``), the
scenarios of a comparison whose chains share a root (the baseline) are all the same run
up to that point: the root scenario, with the same random streams. So each replication's
warm-up is run once, on the root, and every scenario continues from that state.

How: the task that owns replication ``rep`` (a local pool worker or a Dask task) runs the
root to the branch point (:func:`sim.model.simulation.simulate_branches`), then, at the
switch, forks one child process per scenario, one after another. A child holds an exact
copy of the warm model (event queue, children, workers, random streams part-way through
their blocks, unflushed journal rows), points the journal at its own scenario's writer
(after copying into it the batches the warm-up already wrote), reconfigures with its
scenario's values, runs to the end, writes its records and KPIs like any replication
(:func:`sim.experiments.runs.finish_replication`) and leaves with ``os._exit``: it never
returns into the caller's code. The parent waits for each child, reads the KPIs it
wrote, and stops its own run there. See ``docs/design.md`` (Branching) for why a fork.

Exactness: the child does at the switch exactly what a straight run of its scenario
with ``start_year`` at the branch point does (same event, same place in the order of
events, same values), so its records are bit-identical to that run's.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim.experiments.backends import Backend, LocalBackend, die_with_parent, shares_files
from sim.experiments.runs import (
    ExperimentError,
    ExperimentResult,
    _Portable,
    _write_shipped,
    check_experiment,
    finish_replication,
    locked,
    open_run,
    run_extra,
)
from sim.outputs import files as output
from sim.outputs.results import read_replication
from sim.records import JOURNEY_SCHEMA

log = logging.getLogger(__name__)


def can_branch() -> bool:
    """Whether this platform can fork (POSIX)."""
    return hasattr(os, "fork")


def branch_groups(scenarios: Sequence[Any], *, warmup: float) -> tuple[list[list[Any]],
                                                                         list[Any]]:
    """Split scenarios (as they run, see :func:`sim.experiments.runs.reform_scenario`)
    into groups that can branch from one warm-up, and the rest.

    A scenario can branch when it starts at the window (``start_year == warmup``, with
    the root's values before) or is the root itself (no ``start_year``, values equal to
    its root's). Those sharing a root digest form a group; a group of one, and every
    other scenario, runs separately.
    """
    groups: dict[str, list[Any]] = {}
    alone: list[Any] = []
    for s in scenarios:
        before = getattr(s, "before", None)
        if not hasattr(s, "root_digest") or not warmup > 0:
            alone.append(s)
        elif before is not None and float(s.start_year) == float(warmup):
            groups.setdefault(s.root_digest(), []).append(s)
        elif before is None and s.root_digest() == s.digest():
            groups.setdefault(s.digest(), []).append(s)
        else:
            alone.append(s)
    branched = [g for g in groups.values() if len(g) > 1]
    alone += [g[0] for g in groups.values() if len(g) == 1]
    return branched, alone


# -- one replication, branched ---------------------------------------------------------------


class _Recorder:
    """The journal's sink during the warm-up: keeps every batch, exactly, in an Arrow IPC
    file, for each branch to copy into its own log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: Any = pa.ipc.new_file(str(path), JOURNEY_SCHEMA)
        self.batches = 0

    def __call__(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.batches += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def replay(self, sink: Callable[[pa.RecordBatch], None]) -> None:
        """Send every recorded batch to ``sink``, in order."""
        with pa.memory_map(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                sink(reader.get_batch(i))


class _Branched(Exception):
    """Raised in the parent at the branch point once every child has finished."""

    def __init__(self, status: dict[str, int]) -> None:
        super().__init__("branched")
        self.status = status


def _fork() -> int:
    for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
        with contextlib.suppress(Exception):
            stream.flush()
    with warnings.catch_warnings():  # a Dask worker has threads; the child uses none
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _exit_child(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def run_branches(root: Any, branches: Sequence[Any], rep: int, *, seed: int,
                 warmup_years: float, years: float, out_dirs: Mapping[str, Path],
                 log_warmup: bool = False) -> dict[str, dict[str, float]]:
    """Replication ``rep`` of every scenario in ``branches``, from one warm-up of ``root``.

    Each branch's records are written to ``out_dirs[name]`` exactly as
    :func:`sim.experiments.runs.run_replication` would write those of a straight run of
    it with ``start_year = warmup_years``; returns ``{name: KPIs}``. Raises
    :class:`ExperimentError` naming the scenario when a branch fails.
    """
    from sim.model.simulation import simulate_branches

    parent = os.getpid()
    chosen: dict[str, Any] = {}

    def branch(model: Any) -> dict[str, Any] | None:
        recorder.close()
        status: dict[str, int] = {}
        for scenario in branches:
            pid = _fork()
            if pid == 0:  # the child: continue as this scenario
                try:
                    die_with_parent(parent)
                    writer = output.JourneyWriter(out_dirs[scenario.name], rep)
                    recorder.replay(writer)
                    model.journal.sink = writer
                    chosen.update(scenario=scenario, writer=writer)
                    if getattr(scenario, "before", None) is None:
                        return None  # the root itself: nothing changes
                    return dict(scenario.values)
                except BaseException:
                    traceback.print_exc()
                    _exit_child(1)
            _, code = os.waitpid(pid, 0)
            status[scenario.name] = os.waitstatus_to_exitcode(code)
        raise _Branched(status)

    with tempfile.TemporaryDirectory(prefix="childsim-branch-") as tmp:
        recorder = _Recorder(Path(tmp) / "warmup.arrow")
        try:
            stocks = simulate_branches(
                dict(root.values if getattr(root, "before", None) is None else root.before),
                rep=rep, seed=seed,
                warmup_years=warmup_years, years=years, branch_years=warmup_years,
                journey_sink=recorder, branch=branch, log_warmup=log_warmup)
        except _Branched as done:
            failed = {n: c for n, c in done.status.items() if c != 0}
            if failed:
                shown = ", ".join(f"{n} (exit status {c})" for n, c in failed.items())
                raise ExperimentError(f"replication {rep} failed in the branch of {shown}; "
                                      "its error is shown above") from None
            return {s.name: read_replication(out_dirs[s.name], rep) for s in branches}
        except BaseException:
            if os.getpid() != parent:
                traceback.print_exc()
                _exit_child(1)
            raise
        if os.getpid() == parent:  # the run ended before its branch point
            raise ExperimentError(f"replication {rep} never reached its branch point at "
                                  f"{warmup_years:g} years")
        code = 1
        try:  # the child: its records, then leave without returning
            chosen["writer"].close()
            scenario = chosen["scenario"]
            finish_replication(scenario, rep, stocks, seed=seed, warmup_years=warmup_years,
                               years=years, out_dir=out_dirs[scenario.name])
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            _exit_child(code)
    raise AssertionError("unreachable")  # pragma: no cover


def _branch_task(item: tuple[int, tuple[str, ...]], *, root: _Portable,
                 scenarios: Mapping[str, _Portable], out_dirs: Mapping[str, str] | None,
                 seed: int, warmup_years: float, years: float,
                 log_warmup: bool) -> dict[str, Any]:
    """A backend task: replication ``item[0]`` of the scenarios named ``item[1]``.

    With ``out_dirs`` (a shared filesystem) the records are written there and the KPIs
    returned; without, they are written in a temporary directory and returned as files
    (``{name: {"kpis", "files"}}``), as :func:`sim.experiments.runs._run_portable_shipped`.
    """
    rep, names = item
    branches = [scenarios[n].obj for n in names]
    if out_dirs is not None:
        dirs = {n: Path(out_dirs[n]) for n in names}
        return run_branches(root.obj, branches, rep, seed=seed, warmup_years=warmup_years,
                            years=years, out_dirs=dirs, log_warmup=log_warmup)
    with tempfile.TemporaryDirectory(prefix="childsim-rep-") as tmp:
        dirs = {n: Path(tmp) / n for n in names}
        kpis = run_branches(root.obj, branches, rep, seed=seed, warmup_years=warmup_years,
                            years=years, out_dirs=dirs, log_warmup=log_warmup)
        shipped: dict[str, Any] = {}
        for n in names:
            paths = (output.journey_path(dirs[n], rep), output.stocks_path(dirs[n], rep),
                     output.replication_path(dirs[n], rep))
            shipped[n] = {"kpis": kpis[n], "files": {
                os.path.relpath(p, dirs[n]): Path(p).read_bytes() for p in paths}}
        return shipped


# -- an experiment of several scenarios, branched --------------------------------------------


def run_branched(
    scenarios: Sequence[Any],
    *,
    reps: int,
    seed: int,
    years: float,
    warmup: float,
    out_dirs: Mapping[str, Path],
    resume: bool = False,
    overwrite: bool = False,
    workers: int | None = None,
    backend: Backend | None = None,
    progress: Callable[[str], Callable[[int, int], None] | None] | None = None,
    command: Sequence[str] | str | None = None,
    log_warmup: bool = False,
    notes: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, ExperimentResult]:
    """Run ``reps`` replications of scenarios sharing a root, branched from one warm-up.

    ``scenarios`` are as they run (each starting at the window, or the root itself; see
    :func:`branch_groups`), each written to ``out_dirs[name]`` exactly as
    :func:`sim.experiments.runs.run_experiment` would write it (same directory checks,
    lock, manifest and resume), with the manifest's ``branch`` saying where it branched.
    A task per replication runs the scenarios that replication still lacks.
    """
    if not can_branch():  # pragma: no cover - POSIX only
        raise ExperimentError("branching needs os.fork (POSIX)")
    first = scenarios[0]
    root_values = first.root_values()
    root = first if getattr(first, "before", None) is None else None
    root_name = root.name if root is not None else "the root of " + first.name
    branch = {"root": root_name, "root_digest": first.root_digest(),
              "at_years": float(warmup), "with": [s.name for s in scenarios]}

    def check(s: Any) -> Any:
        return check_experiment(s, reps=reps, seed=seed, years=years, warmup=warmup,
                                out_dir=out_dirs[s.name], resume=resume, overwrite=overwrite,
                                log_warmup=log_warmup)

    for s in scenarios:
        check(s)
    with ExitStack() as stack:
        for s in scenarios:
            stack.enter_context(locked(out_dirs[s.name]))
        runs = {}
        for s in scenarios:
            extra = run_extra(s, reform_start="window", log_warmup=log_warmup,
                              notes=list((notes or {}).get(s.name, ())), branch=branch)
            runs[s.name] = open_run(check(s), s, reps=reps, seed=seed, years=years,
                                    warmup=warmup, command=command, extra=extra,
                                    progress=progress(s.name) if progress else None)
        todo: dict[int, list[str]] = {}
        for s in scenarios:
            for rep in runs[s.name].todo:
                todo.setdefault(rep, []).append(s.name)
        items = [(rep, tuple(todo[rep])) for rep in sorted(todo)]
        runner: Backend = backend if backend is not None else LocalBackend(workers)
        shipped = not shares_files(runner)
        fn = functools.partial(
            _branch_task, root=_Portable(_RootValues(root_values)),
            scenarios={s.name: _Portable(s) for s in scenarios},
            out_dirs=None if shipped else {n: os.fspath(d) for n, d in out_dirs.items()},
            seed=seed, warmup_years=warmup, years=years, log_warmup=log_warmup)
        log.info("branching %d scenarios from one warm-up of %s per replication",
                 len(scenarios), root_name)
        for (rep, names), result in runner.map(fn, items):
            for n in names:
                kpis = (_write_shipped(Path(out_dirs[n]), rep, result[n]) if shipped
                        else result[n])
                runs[n].finished(rep, kpis)
        return {n: run.close() for n, run in runs.items()}


class _RootValues:
    """The root's values, as :func:`run_branches` reads them (``values``)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)
        self.before = None


__all__ = ["branch_groups", "can_branch", "run_branched", "run_branches"]
