"""Comparing scenarios with common random numbers.

Every scenario is run with the same base seed and the same replication numbers, so
replication ``k`` of each scenario draws the same numbers from each random stream (the
model derives its streams from ``(seed, rep)``). The difference of a KPI between a
scenario and the base is then estimated from the paired differences, replication by
replication (:func:`sim.outputs.statistics.paired_difference`): whatever the two runs share
cancels out, and the interval is narrower than the unpaired (Welch) one when the pairs
are positively correlated, as common random numbers make them.

Layout of a comparison directory ``DIR``::

    DIR/manifest.json       what is compared (kind ``comparison``) and the files it owns
    DIR/<scenario>/         the result directory of each scenario (see sim.outputs.files)
    DIR/comparison.csv      one row per KPI and scenario (see COLUMNS)
    DIR/comparison.json     what was compared (scenarios, digests, seed, reps, ...) and rows
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.outputs import files as output
from sim.outputs.comparison import (
    COLUMNS,
    COMPARISON_CSV,
    COMPARISON_JSON,
    compare_frames,
    read_comparison,
    write_comparison,
)

log = logging.getLogger(__name__)


@dataclass
class Comparison:
    """What :func:`run_comparison` produced.

    ``table`` has one row per KPI and scenario (:data:`COLUMNS`); ``results`` maps each
    scenario name to its :class:`sim.experiments.runs.ExperimentResult`; ``decision`` is the
    replication rule's decision when the number of replications was chosen automatically.
    """

    base: str
    scenarios: list[str]
    table: pd.DataFrame
    results: dict[str, Any]
    out_dir: Path
    reps: int
    decision: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    def significant(self) -> pd.DataFrame:
        """Rows whose paired difference from the base excludes zero."""
        return self.table[self.table["significant"]]


def scenario_dirs(out_dir: str | os.PathLike[str], names: Sequence[str]) -> dict[str, Path]:
    """``DIR/<name>`` for each scenario name."""
    return {n: Path(out_dir) / n for n in names}


def run_comparison(
    base: Any,
    scenarios: Sequence[Any],
    *,
    reps: int | str = 10,
    seed: int = 1,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    out_dir: str | os.PathLike[str],
    resume: bool = False,
    workers: int | None = None,
    backend: Any = None,
    progress: Callable[[str], Callable[[int, int], None] | None] | None = None,
    command: Sequence[str] | str | None = None,
    simulate: Callable[..., pd.DataFrame] | None = None,
    confidence: float = 0.95,
    kpi: str | None = None,
    precision: float = 0.05,
    max_reps: int = 50,
    look_ahead: int = 5,
    overwrite: bool = False,
    reform_start: str = "window",
    log_warmup: bool = False,
    branch: bool = True,
) -> Comparison:
    """Run ``base`` and each of ``scenarios`` with common random numbers and compare them.

    Every scenario gets ``reps`` replications numbered 0 .. reps-1 with base ``seed``, in
    ``DIR/<scenario name>/``. With ``reps="auto"`` the base runs until ``kpi`` is known to
    the relative ``precision`` (:func:`sim.experiments.replications.run_to_precision`, capped at
    ``max_reps``) and the others get the same number. With ``resume`` every scenario
    directory is checked first, and the comparison is refused
    (:class:`sim.experiments.runs.ExperimentError`) before anything runs if any holds results of
    other content, seed, years or warm-up. With ``overwrite`` the files earlier runs
    wrote in ``DIR`` and the scenario directories are removed first (only those their
    manifests own); without either, a directory holding results is refused before
    anything runs (see :func:`sim.experiments.runs.plan_directory`). ``progress(name)``
    gives the progress callback of each scenario's run. Writes ``manifest.json``,
    ``comparison.csv`` and ``comparison.json`` in ``DIR``.

    ``reform_start="window"`` (default) starts every scenario's changes from the root of
    its chain (the baseline) at the start of the measured window, on the root's settled
    state; ``"run"`` applies them from the start of the run (see
    :func:`sim.experiments.runs.reform_scenario`). Under ``window``, with ``branch`` (the
    default, on POSIX, with the model's own ``simulate``), scenarios sharing a root are
    run from one warm-up per replication (:mod:`sim.experiments.branching`), with results
    identical to running each on its own; the others run separately and ``meta["notes"]``
    says so. ``log_warmup`` keeps the warm-up in the journey logs.
    """
    from sim.experiments.runs import (
        ExperimentError,
        check_experiment,
        locked,
        plan_directory,
        prepare_directory,
        reform_scenario,
    )

    if not scenarios:
        raise ExperimentError("nothing to compare: give at least one scenario besides the base")
    every = [base, *scenarios]
    names = [s.name for s in every]
    notes: dict[str, list[str]] = {}
    as_run = []
    for s in every:
        s, note = reform_scenario(s, reform_start, warmup)
        as_run.append(s)
        if note:
            notes.setdefault(s.name, []).append(note)
    every = as_run
    base = every[0]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ExperimentError(
            f"several scenarios are named {', '.join(dupes)}; give them different names "
            "(each is written to DIR/<name>/)")
    out = Path(out_dir)
    dirs = scenario_dirs(out, names)
    auto = isinstance(reps, str)
    if auto and reps != "auto":
        raise ExperimentError(f"reps must be a whole number or 'auto', got {reps!r}")
    if auto and kpi is None:
        raise ExperimentError("automatic replications need a KPI (--kpi NAME)")
    if not auto and int(reps) < 1:
        raise ExperimentError(f"reps must be at least 1, got {reps}")
    manifest = _manifest(base, every, reps=reps, seed=seed, years=years, warmup=warmup,
                         command=command, reform_start=reform_start, log_warmup=log_warmup)

    def check() -> Any:
        for s in every:
            check_experiment(s, reps=1 if auto else int(reps), seed=seed, years=years,
                             warmup=warmup, out_dir=dirs[s.name], resume=resume,
                             overwrite=overwrite, log_warmup=log_warmup)
        return plan_directory(
            out, kind="comparison", resume=resume, overwrite=overwrite,
            differs="set of scenarios (or seed, years or warm-up)",
            same=lambda old: _same(old, manifest))

    check()  # every directory, before anything is touched
    with locked(out):
        plan = check()
        prepare_directory(plan)
        output.atomic_write_json(out / output.MANIFEST, manifest)
        for name in (COMPARISON_CSV, COMPARISON_JSON):  # written again once every run is done
            (out / name).unlink(missing_ok=True)
        return _run_all(base, every, names, out, dirs, reps=reps, seed=seed, years=years,
                        warmup=warmup, resume=resume, overwrite=overwrite, workers=workers,
                        backend=backend, progress=progress, command=command,
                        simulate=simulate, confidence=confidence, kpi=kpi,
                        precision=precision, max_reps=max_reps, look_ahead=look_ahead,
                        reform_start=reform_start, log_warmup=log_warmup,
                        branch=branch, notes=notes)


_SAME_KEYS = ("scenarios", "seed", "years", "warmup_years")


def _manifest(base: Any, every: Sequence[Any], *, reps: int | str, seed: int, years: float,
              warmup: float, command: Sequence[str] | str | None, reform_start: str,
              log_warmup: bool) -> dict[str, Any]:
    return output.to_jsonable({
        "kind": "comparison",
        "base": base.name,
        "scenarios": [{"name": s.name, "digest": s.digest()} for s in every],
        "reps": reps,
        "seed": int(seed),
        "seed_derivation": output.SEED_DERIVATION,
        "years": float(years),
        "warmup_years": float(warmup),
        "reform_start": reform_start,
        "log_warmup": bool(log_warmup),
        "command": None if command is None or isinstance(command, str)
        else [str(c) for c in command],
        "software": output.software_versions(),
        "git": output.git_info(),
        "owns": list(output.OWNED["comparison"]),
    })


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    try:
        return (all(old[k] == new[k] for k in _SAME_KEYS)
                and bool(old.get("log_warmup", True)) == bool(new["log_warmup"]))
    except (KeyError, TypeError):
        return False


def _run_all(base: Any, every: Sequence[Any], names: list[str], out: Path,
             dirs: dict[str, Path], *, reps: int | str, seed: int, years: float,
             warmup: float, resume: bool, overwrite: bool, workers: int | None, backend: Any,
             progress: Callable[[str], Callable[[int, int], None] | None] | None,
             command: Sequence[str] | str | None,
             simulate: Callable[..., pd.DataFrame] | None, confidence: float,
             kpi: str | None, precision: float, max_reps: int, look_ahead: int,
             reform_start: str, log_warmup: bool, branch: bool,
             notes: dict[str, list[str]]) -> Comparison:
    from sim.experiments.branching import branch_groups, can_branch, run_branched
    from sim.experiments.runs import run_experiment

    auto = isinstance(reps, str)
    common = dict(seed=seed, years=years, warmup=warmup, workers=workers, backend=backend,
                  command=command, simulate=simulate, overwrite=overwrite,
                  reform_start=reform_start, log_warmup=log_warmup)
    results: dict[str, Any] = {}
    decision = None
    pending = list(every)
    if auto:
        from sim.experiments.replications import run_to_precision

        results[base.name], decision = run_to_precision(
            base, kpi=kpi, precision=precision, max_reps=max_reps, look_ahead=look_ahead,
            confidence=confidence, out_dir=dirs[base.name], resume=resume,
            progress=progress(base.name) if progress else None, **common)
        n_reps = decision.n_used
        pending = pending[1:]
    else:
        n_reps = int(reps)
    groups: list[list[Any]] = []
    general: list[str] = []
    if reform_start == "window" and branch and len(pending) > 1:
        if simulate is not None:
            general.append("scenarios run separately: branching needs the model's own "
                           "simulate")
        elif not can_branch():  # pragma: no cover - POSIX only
            general.append("scenarios run separately: branching needs os.fork (POSIX)")
        else:
            groups, alone = branch_groups(pending, warmup=warmup)
            for s in alone:
                why = ("its chain does not share a root with the others"
                       if getattr(s, "before", None) is None or float(s.start_year) == warmup
                       else "it starts at its own start_year")
                notes.setdefault(s.name, []).append(
                    f"{s.name} ran separately from one warm-up of its own: {why}")
            pending = alone
    for group in groups:
        results.update(run_branched(
            group, reps=n_reps, seed=seed, years=years, warmup=warmup,
            out_dirs={s.name: dirs[s.name] for s in group}, resume=resume,
            overwrite=overwrite, workers=workers, backend=backend, progress=progress,
            command=command, log_warmup=log_warmup, notes=notes))
    for s in pending:
        results[s.name] = run_experiment(
            s, reps=n_reps, out_dir=dirs[s.name], resume=resume,
            progress=progress(s.name) if progress else None, **common)
    for name, extra in notes.items():
        result = results.get(name)
        if result is not None:
            result.notes.extend(n for n in extra if n not in result.notes)

    table = compare_frames({n: results[n].per_rep for n in names}, base.name, confidence)
    meta = {
        "base": base.name,
        "scenarios": [
            {"name": s.name, "description": getattr(s, "description", ""),
             "digest": s.digest(), "dir": os.fspath(dirs[s.name].relative_to(out))}
            for s in every
        ],
        "reps": n_reps,
        "seed": int(seed),
        "seed_derivation": output.SEED_DERIVATION,
        "years": float(years),
        "warmup_years": float(warmup),
        "confidence": float(confidence),
        "common_random_numbers": True,
        "reform_start": reform_start,
        "log_warmup": bool(log_warmup),
        "branched": [[s.name for s in g] for g in groups],
        "notes": general + [n for name in names for n in notes.get(name, ())],
        "reps_rule": None if decision is None else {"kpi": kpi, **decision.to_dict()},
        "command": None if command is None else (
            command if isinstance(command, str) else [str(c) for c in command]),
        "finished": output.utc_now(),
    }
    write_comparison(out, table, meta)
    return Comparison(base.name, names[1:], table, results, out, n_reps, decision, meta)


__all__: Sequence[str] = [
    "COLUMNS",
    "COMPARISON_CSV",
    "COMPARISON_JSON",
    "Comparison",
    "compare_frames",
    "read_comparison",
    "run_comparison",
    "write_comparison",
]
