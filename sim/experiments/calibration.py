"""Calibration: fitting the few parameters marked ``calibrated`` to the published figures.

Simulation-based optimisation. A candidate point is a vector in the unit cube, mapped
linearly onto each parameter's plausible range (declared in :mod:`sim.parameters` before
any fitting). Every candidate is run for the same replications with the same seed, so
candidates are compared under common random numbers and the objective is a deterministic
function of the point. The loss is

    sum over targets k of  w_k * ((mean_k - target_k) / halfwidth_k) ** 2

where ``halfwidth_k`` is half the target band and ``w_k`` the weight of the target's
confidence (high 1, medium 0.5, low 0.1; see :data:`sim.outputs.targets.CONFIDENCE_WEIGHT`).
By default scipy.optimize.least_squares (trust region reflective, bounded to the cube)
minimises it from the scenario's current values, with finite differences whose step
(5% of each range) is wide enough to see through the simulation's graininess; common
random numbers keep those differences from being swamped by noise. Nelder-Mead is the
alternative (``method="nelder-mead"``). Either way there is a budget of evaluations, and
the best point seen is returned. Replications of a candidate run on the experiment
backends.

The result is written as a new scenario file over the original; targets are never
edited.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import optimize

from sim.clock import DEFAULT_WARMUP_YEARS, Window
from sim.outputs.targets import CONFIDENCE_WEIGHT, load_targets
from sim.parameters import SCHEMA

log = logging.getLogger(__name__)


def calibrated_parameters() -> list[str]:
    """The parameters the schema marks as calibrated."""
    return [k for k, p in SCHEMA.items() if p.calibrated]


def replication_kpis(scenario: Any, rep: int, *, seed: int, warmup: float, years: float
                     ) -> dict[str, float]:
    """KPIs of one replication, computed in memory from its records (nothing written)."""
    from sim.model.simulation import simulate
    from sim.outputs.kpis import RunRecords, compute_kpis

    batches: list[pa.RecordBatch] = []
    stocks = simulate(scenario, rep=rep, seed=seed, warmup_years=warmup, years=years,
                      journey_sink=batches.append)
    journeys = pa.Table.from_batches(batches).to_pandas()
    return compute_kpis(RunRecords(journeys, stocks, Window.from_years(warmup, years),
                                   int(scenario["population.child_population"])))


def _rep_task(rep: int, *, scenario: Any, seed: int, warmup: float, years: float
              ) -> dict[str, float]:
    return replication_kpis(scenario, rep, seed=seed, warmup=warmup, years=years)


def residuals(means: dict[str, float], targets: pd.DataFrame) -> np.ndarray:
    """Weighted residuals ``sqrt(w_k) * (mean_k - target_k) / halfwidth_k``, one per target
    with a non-zero weight (a KPI the run cannot produce counts as 10 half-bands off)."""
    out = []
    for kpi, t in targets.iterrows():
        w = CONFIDENCE_WEIGHT.get(str(t["confidence"]), 0.0)
        if w == 0.0:
            continue
        m = means.get(kpi, float("nan"))
        half = max((t["high"] - t["low"]) / 2.0, 1e-12)
        r = (m - t["per_la_value"]) / half if math.isfinite(m) else 10.0
        out.append(math.sqrt(w) * r)
    return np.asarray(out, dtype=float)


def loss(means: dict[str, float], targets: pd.DataFrame) -> float:
    """Confidence-weighted squared distance of KPI means from the targets (see module)."""
    return float(np.sum(residuals(means, targets) ** 2))


def _mean(values: list[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


@dataclass
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    values : dict
        Fitted value of each parameter.
    loss : float
        Loss at the fitted values.
    start_loss : float
        Loss at the starting values.
    means : dict
        KPI means at the fitted values.
    history : pandas.DataFrame
        One row per evaluation: the parameters and the loss.
    """

    values: dict[str, float]
    loss: float
    start_loss: float
    means: dict[str, float]
    history: pd.DataFrame = field(repr=False)
    params: list[str] = field(default_factory=list)


def _bounds(params: Sequence[str]) -> list[tuple[float, float]]:
    out = []
    for key in params:
        p = SCHEMA[key]
        if p.plausible is None or p.kind not in (float, int):
            raise ValueError(f"{key}: only numeric parameters with a plausible range can be "
                             "calibrated")
        out.append((float(p.plausible[0]), float(p.plausible[1])))
    return out


def calibrate(scenario: Any, *, params: Sequence[str] | None = None,
              targets: pd.DataFrame | str | os.PathLike[str] | None = None,
              reps: int = 4, seed: int = 1, warmup: float = DEFAULT_WARMUP_YEARS,
              years: float = 3.0,
              max_evals: int = 60, backend: Any = None, workers: int | None = None,
              start: dict[str, float] | None = None, method: str = "least-squares",
              progress: Callable[[int, float], None] | None = None) -> Calibration:
    """Fit ``params`` of ``scenario`` to ``targets`` by simulation-based optimisation.

    Parameters
    ----------
    scenario : Scenario
        The scenario to fit (its current values are the starting point).
    params : list of str, optional
        Dotted keys to fit (default: those marked calibrated in the schema).
    targets : DataFrame or path, optional
        Targets (default: the shipped England 2010-11 figures).
    reps, seed, warmup, years : int, int, float, float
        Replications per candidate (the same for every candidate: common random numbers),
        base seed, warm-up and measured years of each run.
    max_evals : int
        Budget of candidate evaluations.
    method : str
        ``"least-squares"`` (default) or ``"nelder-mead"``.
    backend : Backend, optional
        Where replications run (default: local processes, ``workers`` of them).
    start : dict, optional
        Starting values (default: the scenario's).
    progress : callable, optional
        Called as ``progress(evaluations, best_loss)`` after each evaluation.
    """
    from sim.experiments.backends import LocalBackend

    params = list(params or calibrated_parameters())
    if not isinstance(targets, pd.DataFrame):
        targets = load_targets(targets)
    bounds = _bounds(params)
    backend = backend or LocalBackend(workers)
    history: list[dict[str, float]] = []
    cache: dict[tuple[float, ...], tuple[float, dict[str, float]]] = {}

    def to_values(u: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (lo, hi), x in zip(params, bounds, np.clip(u, 0.0, 1.0), strict=True):
            v = lo + float(x) * (hi - lo)
            out[key] = round(v) if SCHEMA[key].kind is int else v
        return out

    def run(u: np.ndarray) -> tuple[float, dict[str, float]]:
        key = tuple(np.round(np.clip(u, 0.0, 1.0), 12))
        if key in cache:
            return cache[key]
        if len(history) >= max_evals:
            raise _BudgetSpent
        values = to_values(np.asarray(key))
        candidate = scenario.with_values(values, source="<calibration candidate>")
        task = functools.partial(_rep_task, scenario=candidate, seed=seed, warmup=warmup,
                                 years=years)
        results = dict(backend.map(task, range(reps)))
        means = {k: _mean([results[r][k] for r in range(reps)]) for k in results[0]}
        value = loss(means, targets)
        cache[key] = (value, means)
        history.append({**values, "loss": value})
        if progress is not None:
            progress(len(history), min(h["loss"] for h in history))
        log.info("calibration evaluation %d: loss %.4g", len(history), value)
        return value, means

    def evaluate(u: np.ndarray) -> float:
        # a point outside the cube is evaluated at its nearest point in it, plus a penalty
        outside = np.clip(u - 1.0, 0, None) ** 2 + np.clip(-u, 0, None) ** 2
        return run(u)[0] + 100.0 * float(np.sum(outside))

    def residual_vector(u: np.ndarray) -> np.ndarray:
        return residuals(run(u)[1], targets)

    start_values = {k: float(scenario[k]) for k in params}
    if start:
        start_values.update(start)
    u0 = np.array([(start_values[k] - lo) / (hi - lo) for k, (lo, hi) in zip(params, bounds,
                                                                               strict=True)])
    u0 = np.clip(u0, 0.0, 1.0)
    start_loss = evaluate(u0)
    with contextlib.suppress(_BudgetSpent):
        _search(method, evaluate, residual_vector, u0, max_evals)
    best_key = min(cache, key=lambda k: cache[k][0])
    best_loss, best_means = cache[best_key]
    return Calibration(to_values(np.asarray(best_key)), best_loss, start_loss, best_means,
                       pd.DataFrame(history), params)


class _BudgetSpent(Exception):
    """The budget of evaluations is spent: the search stops with the best point seen."""


def _search(method: str, evaluate: Callable[[np.ndarray], float],
            residual_vector: Callable[[np.ndarray], np.ndarray], u0: np.ndarray,
            max_evals: int) -> None:
    if method == "nelder-mead":
        simplex = [u0] + [u0 + np.where(np.arange(len(u0)) == i,
                                        0.15 if u0[i] < 0.85 else -0.15, 0.0)
                          for i in range(len(u0))]
        optimize.minimize(
            evaluate, u0, method="Nelder-Mead",
            options={"maxfev": max(1, max_evals - 1), "initial_simplex": np.array(simplex),
                     "xatol": 1e-3, "fatol": 1e-3})
    elif method == "least-squares":
        optimize.least_squares(
            residual_vector, u0, bounds=(0.0, 1.0), method="trf", diff_step=0.05,
            x_scale=1.0, max_nfev=max(1, max_evals), xtol=1e-3, ftol=1e-4)
    else:
        raise ValueError(f"unknown method {method!r}: least-squares or nelder-mead")


def write_calibrated_scenario(result: Calibration, scenario: Any, path: str | os.PathLike[str],
                              *, name: str, base: str, seed: int, reps: int, warmup: float,
                              years: float, targets_used: Sequence[str], command: str) -> Path:
    """Write the fitted values as a scenario file over ``base`` (atomically)."""
    from sim.outputs import files as output

    today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
    lines = [
        f'name = "{name}"',
        f'description = "{scenario.description} (calibrated {today})"',
        f'base = "{base}"',
        "",
        f"# Fitted by: {command}",
        f"# Date: {today} (UTC); seed {seed}; {reps} replications of {warmup:g} warm-up + "
        f"{years:g} measured years per candidate (common random numbers).",
        f"# Loss: {result.loss:.4g} (start {result.start_loss:.4g}), confidence-weighted "
        "squared distance in half-bands.",
        f"# Targets used: {', '.join(targets_used)}",
        "# Each value lies in the plausible range declared in sim/parameters.py.",
    ]
    by_section: dict[str, list[str]] = {}
    for key, value in result.values.items():
        section, leaf = key.split(".", 1)
        p = SCHEMA[key]
        text = str(int(value)) if p.kind is int else repr(float(value))
        by_section.setdefault(section, []).append(
            f"{leaf} = {text}  # {p.unit}; plausible {p.plausible[0]:g} to "
            f"{p.plausible[1]:g}; fitted (was {scenario[key]!r})")
    for section, entries in by_section.items():
        lines += ["", f"[{section}]", *entries]
    out = Path(path)
    output.atomic_write_text(out, "\n".join(lines) + "\n")
    return out
