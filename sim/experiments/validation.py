"""Validation: the model's KPIs against the published national figures.

For every target row the table gives the band, the model's mean and 95% confidence
interval over replications, and whether the mean lies in the band. A scenario passes when
every high- and medium-confidence target's mean is in its band; low-confidence rows are
plausibility bands, reported but not required. The verdict reads the targets; the model
never does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.outputs.validation import (
    Validation,
    validation_table,
    write_validation,
)


def validate(scenario: Any = "baseline", *, reps: int = 10, years: float = 5.0,
             warmup: float = DEFAULT_WARMUP_YEARS, seed: int = 1,
             out: str | os.PathLike[str] | None = None,
             workers: int | None = None, backend: Any = None,
             targets: pd.DataFrame | str | os.PathLike[str] | None = None,
             progress: Any = None, overwrite: bool = False) -> Validation:
    """Run a scenario and compare its KPIs with the published figures.

    Parameters
    ----------
    scenario : Scenario, name or path
        The scenario (default: the baseline).
    reps, years, warmup, seed : int, float, float, int
        Replications, measured years, warm-up years and base seed of the run.
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

    from sim.experiments.runs import check_experiment, locked, run_experiment
    from sim.outputs.targets import check_targets
    from sim.scenario import load_scenario

    sc = scenario if hasattr(scenario, "values") else load_scenario(scenario)
    table = check_targets(targets)
    if out is not None:
        check_experiment(sc, reps=reps, seed=seed, years=years, warmup=warmup, out_dir=out,
                         overwrite=overwrite)
    out_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="childsim-validate-"))
    with locked(out_dir):
        result = run_experiment(sc, reps=reps, seed=seed, years=years, warmup=warmup,
                                out_dir=out_dir, workers=workers, backend=backend,
                                progress=progress, overwrite=overwrite)
        v = validation_table(result.summary, table)
        write_validation(v, out_dir)
    return v
