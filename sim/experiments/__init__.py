"""Experiments on the model: replications, comparisons, warm-up, sensitivity,
calibration, validation, and the backends that run them.

Each module is one kind of experiment. They run the model (:mod:`sim.model`) and read
its records through :mod:`sim.outputs`; they never import the interfaces.
"""

from __future__ import annotations

from sim.experiments.runs import ExperimentError, ExperimentResult, load_result, run_experiment

__all__ = ["ExperimentError", "ExperimentResult", "load_result", "run_experiment"]
