"""The experiment runner under the name earlier versions gave it.

Code written as ``sim.experiment.run_experiment`` keeps working; the runner lives in
:mod:`sim.experiments.runs` (also ``sim.run_experiment``).
"""

from __future__ import annotations

from sim.experiments.runs import (
    ExperimentError,
    ExperimentResult,
    check_resumable,
    load_result,
    run_experiment,
    run_replication,
)

__all__ = [
    "ExperimentError",
    "ExperimentResult",
    "check_resumable",
    "load_result",
    "run_experiment",
    "run_replication",
]
