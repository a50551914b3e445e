"""How many replications: the confidence interval method with a look-ahead.

The rule of Hoad, Robinson and Davies (2010), "Automated selection of the number of
replications for a discrete-event simulation", *Journal of the Operational Research
Society* 61(11), 1632-1644:

1. Run ``min_reps`` replications (3).
2. After ``n`` replications of the chosen KPI, compute the relative half-width of its
   Student t confidence interval, ``d_n = t_{1-alpha/2, n-1} * s_n / sqrt(n) / |mean_n|``.
3. The first ``n`` with ``d_n <= precision`` is a candidate ``N_sol``. Keep running for a
   look-ahead of ``f(k, N_sol)`` more replications (``k`` if ``N_sol <= 100``, else
   ``floor(k * N_sol / 100)``; ``k = 5`` in the paper). If ``d`` rises above the precision
   on the way the candidate is dropped and the search goes on; if it stays within, the
   rule stops and recommends ``N_sol``.
4. At ``max_reps`` it stops in any case (not converged unless a candidate held).

The rule reads the values in replication order (0, 1, ...), never in the order they
finish, so the decision, like the results, does not depend on the backend or the number
of workers. Replications run in batches of the worker count; any beyond the point where
the rule stopped are removed, so the result directory holds exactly the replications the
rule examined (``N_sol`` plus its look-ahead).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from sim.outputs import files as output
from sim.outputs.statistics import mean_ci, relative_half_width

log = logging.getLogger(__name__)

#: Where :func:`run_to_precision` records its decision, in the result directory.
PRECISION_FILE = output.PRECISION


def look_ahead_length(k: int, n_sol: int) -> int:
    """``f(k, N_sol)``: ``k`` while ``N_sol <= 100``, then ``floor(k * N_sol / 100)``."""
    if k <= 0:
        return 0
    return int(k) if n_sol <= 100 else int(math.floor(k * n_sol / 100))


@dataclass(frozen=True)
class Decision:
    """Where the replication rule stands after reading some replications.

    Attributes
    ----------
    done : bool
        Whether the rule has stopped (converged, or the cap was reached).
    converged : bool
        Whether the precision was reached and held over the look-ahead (or up to the cap).
    n_solution : int or None
        ``N_sol``: the recommended number of replications (None while there is none).
    n_used : int
        Replications the rule has read: when done, the replications to keep.
    n_next : int
        The least total number of replications the rule needs before it can stop.
    trace : list of (n, mean, half_width, relative half-width)
        The interval after each replication from ``min_reps`` on.
    """

    done: bool
    converged: bool
    n_solution: int | None
    n_used: int
    n_next: int
    precision: float
    confidence: float
    min_reps: int
    look_ahead: int
    max_reps: int
    trace: list[tuple[int, float, float, float]] = field(default_factory=list, repr=False)

    @property
    def relative_half_width(self) -> float:
        """Relative half-width after the last replication read (NaN before ``min_reps``)."""
        return self.trace[-1][3] if self.trace else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trace"] = [
            {"n": n, "mean": m, "half_width": h, "relative_half_width": r}
            for n, m, h, r in self.trace
        ]
        return d


def assess(
    values: ArrayLike,
    precision: float,
    *,
    confidence: float = 0.95,
    min_reps: int = 3,
    look_ahead: int = 5,
    max_reps: int = 50,
) -> Decision:
    """Apply the rule to KPI ``values`` given in replication order.

    ``precision`` is the relative half-width wanted (0.05: the interval within 5% of the
    mean). NaN values (a KPI undefined in a replication) are left out of the interval.

    Examples
    --------
    >>> assess([10.0, 10.2, 9.9, 10.1], 0.05, look_ahead=0).n_solution
    3
    """
    if not precision > 0:
        raise ValueError(f"precision must be positive, got {precision}")
    if min_reps < 2:
        raise ValueError(f"min_reps must be at least 2, got {min_reps}")
    if max_reps < min_reps:
        raise ValueError(f"max_reps ({max_reps}) must be at least min_reps ({min_reps})")
    if look_ahead < 0:
        raise ValueError(f"look_ahead must not be negative, got {look_ahead}")
    arr = np.asarray(values, dtype=float).ravel()[:max_reps]
    common = dict(precision=float(precision), confidence=float(confidence),
                  min_reps=int(min_reps), look_ahead=int(look_ahead), max_reps=int(max_reps))
    trace: list[tuple[int, float, float, float]] = []
    candidate: int | None = None
    for n in range(min_reps, arr.size + 1):
        mean, half, _ = mean_ci(arr[:n], confidence)
        d = relative_half_width(mean, half)
        trace.append((n, mean, half, d))
        if d <= precision:  # False for NaN
            if candidate is None:
                candidate = n
            stop_at = min(candidate + look_ahead_length(look_ahead, candidate), max_reps)
            if n >= stop_at:
                return Decision(True, True, candidate, n, n, trace=trace, **common)
        else:
            candidate = None
    n_read = max(int(arr.size), 0)
    if n_read >= max_reps:
        return Decision(True, candidate is not None, candidate, max_reps, max_reps,
                        trace=trace, **common)
    if candidate is not None:
        n_next = min(candidate + look_ahead_length(look_ahead, candidate), max_reps)
    else:
        first = max(n_read + 1, min_reps)
        n_next = min(first + look_ahead_length(look_ahead, first), max_reps)
    return Decision(False, False, candidate, n_read, n_next, trace=trace, **common)


def _batch_size(backend: Any, workers: int | None) -> int:
    if workers is not None:
        return max(1, int(workers))
    size = getattr(backend, "workers", None)
    if isinstance(size, int) and size > 0:
        return size
    from sim.experiments.backends import default_workers

    return default_workers() if backend is None else 1


def run_to_precision(
    scenario: Any,
    *,
    kpi: str,
    precision: float = 0.05,
    max_reps: int = 50,
    min_reps: int = 3,
    look_ahead: int = 5,
    confidence: float = 0.95,
    out_dir: str | os.PathLike[str],
    resume: bool = False,
    workers: int | None = None,
    backend: Any = None,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> tuple[Any, Decision]:
    """Run replications of ``scenario`` until ``kpi`` is known to ``precision``.

    Runs :func:`sim.experiments.runs.run_experiment` in growing batches (the worker count at a
    time) until :func:`assess` stops, then keeps exactly the replications the rule read.
    Other keyword arguments (``seed``, ``years``, ``warmup``, ``command``, ``simulate``,
    ``reform_start``, ``log_warmup``) go to ``run_experiment``. Writes the decision to
    ``DIR/precision.json``.

    Returns ``(ExperimentResult, Decision)``.

    Examples
    --------
    >>> result, decision = run_to_precision(                   # doctest: +SKIP
    ...     load_scenario("baseline"), kpi="referrals_per_year", precision=0.02,
    ...     out_dir="results/auto")
    >>> decision.n_solution, decision.converged                 # doctest: +SKIP
    (6, True)
    """
    from sim.experiments import runs as experiment
    from sim.outputs.kpis import KPIS
    from sim.outputs.results import completed_reps

    if KPIS and kpi not in KPIS:
        raise experiment.ExperimentError(
            f"unknown KPI {kpi!r}; known KPIs: {', '.join(KPIS)}")
    rule = dict(confidence=confidence, min_reps=min_reps, look_ahead=look_ahead,
                max_reps=max_reps)
    first = assess([], precision, **rule)  # validates the rule's settings
    batch = _batch_size(backend, workers)
    out = Path(out_dir)
    overwrite = bool(kwargs.pop("overwrite", False))
    n = min(max_reps, max(first.n_next, batch))
    experiment.check_experiment(scenario, reps=n, seed=kwargs.get("seed", 1),
                                years=kwargs.get("years", 5.0),
                                warmup=kwargs.get("warmup", experiment.DEFAULT_WARMUP_YEARS),
                                out_dir=out, resume=resume, overwrite=overwrite,
                                reform_start=kwargs.get("reform_start", "window"),
                                log_warmup=kwargs.get("log_warmup", False))
    with experiment.locked(out):
        if resume:
            n = max(n, min(len(completed_reps(out)), max_reps))
        keep_going = resume
        while True:
            result = experiment.run_experiment(
                scenario, reps=n, out_dir=out, resume=keep_going, workers=workers,
                backend=backend, progress=progress, overwrite=overwrite and not keep_going,
                **kwargs,
            )
            (out / PRECISION_FILE).unlink(missing_ok=True)  # until the rule has decided
            keep_going = True
            if kpi not in result.per_rep.columns:
                raise experiment.ExperimentError(f"the replications have no KPI {kpi!r}")
            decision = assess(result.per_rep[kpi].to_numpy(dtype=float), precision, **rule)
            log.info("%d replications: relative half-width of %s %.4g (want %.4g)", n, kpi,
                     decision.relative_half_width, precision)
            if decision.done:
                break
            n = min(max_reps, max(decision.n_next, n + batch))
        if decision.n_used < len(result.per_rep):
            result = experiment.run_experiment(
                scenario, reps=decision.n_used, out_dir=out, resume=True, workers=workers,
                backend=backend, progress=progress, trim=True, **kwargs,
            )
        output.atomic_write_json(out / PRECISION_FILE, {"kpi": kpi, **decision.to_dict()})
    if not decision.converged:
        log.warning("%s: relative half-width %.3g after %d replications (the cap) is above "
                    "the precision %.3g", kpi, decision.relative_half_width, decision.n_used,
                    precision)
    return result, decision


def describe(decision: Decision, kpi: str) -> str:
    """One line for the command line about what the rule decided."""
    d = decision.relative_half_width
    shown = "-" if not math.isfinite(d) else f"{100 * d:.2f}%"
    if decision.converged:
        return (f"replications: {decision.n_solution} recommended for {kpi} within "
                f"{100 * decision.precision:g}% (relative half-width {shown} after "
                f"{decision.n_used}, look-ahead {decision.n_used - decision.n_solution})")
    return (f"replications: precision {100 * decision.precision:g}% for {kpi} not reached "
            f"within the cap of {decision.max_reps} (relative half-width {shown} after "
            f"{decision.n_used})")


__all__: Sequence[str] = [
    "Decision",
    "assess",
    "describe",
    "look_ahead_length",
    "run_to_precision",
]
