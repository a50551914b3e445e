"""Comparing scenarios with common random numbers.

Every scenario is run with the same base seed and the same replication numbers, so
replication ``k`` of each scenario draws the same numbers from each random stream (the
model derives its streams from ``(seed, rep)``). The difference of a KPI between a
scenario and the base is then estimated from the paired differences, replication by
replication (:func:`sim.outputs.statistics.paired_difference`): whatever the two runs share
cancels out, and the interval is narrower than the unpaired (Welch) one when the pairs
are positively correlated, as common random numbers make them.

Layout of a comparison directory ``DIR``::

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
) -> Comparison:
    """Run ``base`` and each of ``scenarios`` with common random numbers and compare them.

    Every scenario gets ``reps`` replications numbered 0 .. reps-1 with base ``seed``, in
    ``DIR/<scenario name>/``. With ``reps="auto"`` the base runs until ``kpi`` is known to
    the relative ``precision`` (:func:`sim.experiments.replications.run_to_precision`, capped at
    ``max_reps``) and the others get the same number. With ``resume`` every scenario
    directory is checked first, and the comparison is refused
    (:class:`sim.experiments.runs.ExperimentError`) before anything runs if any holds results of
    other content, seed, years or warm-up. ``progress(name)`` gives the progress callback
    of each scenario's run. Writes ``comparison.csv`` and ``comparison.json`` in ``DIR``.
    """
    from sim.experiments.runs import ExperimentError, check_resumable, run_experiment

    if not scenarios:
        raise ExperimentError("nothing to compare: give at least one scenario besides the base")
    every = [base, *scenarios]
    names = [s.name for s in every]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ExperimentError(
            f"several scenarios are named {', '.join(dupes)}; give them different names "
            "(each is written to DIR/<name>/)")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"{out} exists and is not a directory; use another --out")
    dirs = scenario_dirs(out, names)
    auto = isinstance(reps, str)
    if auto and reps != "auto":
        raise ExperimentError(f"reps must be a whole number or 'auto', got {reps!r}")
    if auto and kpi is None:
        raise ExperimentError("automatic replications need a KPI (--kpi NAME)")
    if not auto and int(reps) < 1:
        raise ExperimentError(f"reps must be at least 1, got {reps}")
    if resume:
        for s in every:
            check_resumable(s, dirs[s.name], seed=seed, years=years, warmup=warmup)
    for name in (COMPARISON_CSV, COMPARISON_JSON):  # written again once every run is done
        (out / name).unlink(missing_ok=True)

    common = dict(seed=seed, years=years, warmup=warmup, workers=workers, backend=backend,
                  command=command, simulate=simulate)
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
    for s in pending:
        results[s.name] = run_experiment(
            s, reps=n_reps, out_dir=dirs[s.name], resume=resume,
            progress=progress(s.name) if progress else None, **common)

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
