"""Validation: the model's KPIs against the published national figures.

Runs a scenario, then judges every target by the rule fit for its kind (see
:mod:`sim.outputs.validation`): most KPIs by whether the mean over replications lies in
the band; rare events (serious case reviews) by whether the 95% interval of the mean
overlaps the band, with the replications extended beyond the requested number, when
needed, until the replication rule of :mod:`sim.experiments.replications` finds the
interval as narrow as the band (its relative half-width at most
:func:`sim.outputs.validation.rare_event_precision`; at most ``max_reps``). A scenario
passes when every high- and medium-confidence target is met; low-confidence rows are
plausibility bands, reported but not required. The verdict reads the targets; the model
never does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.outputs.targets import load_targets
from sim.outputs.validation import (
    RARE_EVENT_KPIS,
    Validation,
    format_table,
    rare_event_precision,
    validation_table,
    write_validation,
)

#: Most replications a rare-event KPI may ask for.
MAX_REPS: int = 50

__all__: Sequence[str] = [
    "MAX_REPS", "format_table", "run_validation", "validate", "validation_table",
    "write_validation",
]


def run_validation(scenario: Any, *, reps: int, seed: int, years: float, warmup: float,
                   out_dir: str | os.PathLike[str],
                   targets: pd.DataFrame | str | os.PathLike[str] | None = None,
                   max_reps: int = MAX_REPS, **kwargs: Any) -> tuple[Any, Validation, dict]:
    """Run ``reps`` replications, more if a rare-event KPI needs them, and judge them.

    Other keyword arguments (``workers``, ``backend``, ``resume``, ``progress``,
    ``command``) go to :func:`sim.experiments.runs.run_experiment`. Returns the
    experiment result, the :class:`~sim.outputs.validation.Validation` and, per rare-event
    KPI, the :class:`~sim.experiments.replications.Decision` of the replication rule.
    """
    from sim.experiments.replications import assess
    from sim.experiments.runs import run_experiment

    if not isinstance(targets, pd.DataFrame):
        targets = load_targets(targets)
    common = dict(seed=seed, years=years, warmup=warmup, out_dir=out_dir)
    result = run_experiment(scenario, reps=reps, **common, **kwargs)
    kwargs["resume"], kwargs["overwrite"] = True, False  # more of the same experiment
    rare = [k for k in targets.index if k in RARE_EVENT_KPIS and k in result.per_rep]
    decisions: dict[str, Any] = {}
    n = reps
    while True:
        decisions = {k: assess(result.per_rep[k].to_numpy(dtype=float),
                               rare_event_precision(targets.loc[k]),
                               max_reps=max(max_reps, reps)) for k in rare}
        need = max([d.n_next for d in decisions.values() if not d.done], default=n)
        if need <= n:
            break
        n = need
        result = run_experiment(scenario, reps=n, **common, **kwargs)
    return result, validation_table(result.summary, targets), decisions


def validate(scenario: Any = "baseline", *, reps: int = 10, years: float = 5.0,
             warmup: float = DEFAULT_WARMUP_YEARS, seed: int = 1,
             out: str | os.PathLike[str] | None = None,
             workers: int | None = None, backend: Any = None,
             targets: pd.DataFrame | str | os.PathLike[str] | None = None,
             progress: Any = None, overwrite: bool = False,
             max_reps: int = MAX_REPS) -> Validation:
    """Run a scenario and compare its KPIs with the published figures.

    Parameters
    ----------
    scenario : Scenario, name or path
        The scenario (default: the baseline).
    reps, years, warmup, seed : int, float, float, int
        Replications (more for a rare-event KPI if the replication rule asks), measured
        years, warm-up years and base seed of the run.
    out : path-like, optional
        Result directory (default: a new temporary directory); ``validation.csv`` and
        ``validation.png`` are written there beside the run's records.
    targets : DataFrame or path, optional
        Targets (default: the shipped England 2010-11 figures); read and checked
        (:func:`sim.outputs.targets.check_targets`) before anything runs.
    overwrite : bool
        Replace an earlier run in ``out`` (only the files its manifest owns are removed).

    Examples
    --------
    >>> v = validate("baseline", reps=10)          # doctest: +SKIP
    >>> v.passed, v.failures                        # doctest: +SKIP
    """
    import tempfile

    from sim.experiments.runs import check_experiment, locked
    from sim.outputs.targets import check_targets
    from sim.scenario import load_scenario

    sc = scenario if hasattr(scenario, "values") else load_scenario(scenario)
    table = check_targets(targets)
    if out is not None:
        check_experiment(sc, reps=reps, seed=seed, years=years, warmup=warmup, out_dir=out,
                         overwrite=overwrite)
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="childsim-validate-"))
    with locked(out_dir):
        _, v, _ = run_validation(sc, reps=reps, seed=seed, years=years, warmup=warmup,
                                 out_dir=out_dir, workers=workers, backend=backend,
                                 progress=progress, targets=table, max_reps=max_reps,
                                 overwrite=overwrite)
        write_validation(v, out_dir)
    return v
