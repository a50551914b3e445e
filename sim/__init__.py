"""The child's journey simulator: one English local authority's child protection system.

A discrete-event model (simpy) of children's journeys through universal services, the
front door, assessment, plans, proceedings and care, with worker time shared among cases
and a monthly system layer for feedback. Run it with ``childsim run``, or
from Python with :func:`sim.run`, :func:`sim.compare`, :func:`sim.sensitivity` and
:func:`sim.warmup` (:mod:`sim.api`), or :func:`sim.experiments.runs.run_experiment`;
``sim.parameters()`` lists every parameter (:mod:`sim.parameters` is also the schema).
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__: str = _metadata.version("childsim")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "run_experiment",
    "ExperimentResult",
    "load_scenario",
    "run",
    "compare",
    "sensitivity",
    "warmup",
    "load",
    "parameters",
    "sensitivity_plan",
    "sensitivity_chart",
    "RunResult",
]

#: The notebook functions of :mod:`sim.api`, available as ``sim.run`` etc.
_API = ("run", "compare", "sensitivity", "warmup", "load", "sensitivity_plan",
        "sensitivity_chart", "RunResult")


def __getattr__(name: str) -> object:
    """Lazy access to the main entry points, so ``import sim`` stays light."""
    if name in ("run_experiment", "ExperimentResult"):
        from sim.experiments import runs as experiment

        return getattr(experiment, name)
    if name in _API:
        from sim import api

        return getattr(api, name)
    if name == "parameters":  # the schema module, callable: sim.parameters() is a table
        import sim.parameters as module

        return module
    if name == "load_scenario":
        from sim import scenario

        return scenario.load_scenario
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
