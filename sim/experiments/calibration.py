"""Calibration: fitting the few parameters marked ``calibrated`` to the published figures.

History matching with Gaussian-process emulators (Vernon, Goldstein and Bower 2010,
"Galaxy formation: a Bayesian uncertainty analysis", *Bayesian Analysis* 5(4); Andrianakis
et al. 2015, "Bayesian history matching of complex infectious disease models using
emulation", *PLoS Computational Biology* 11(1)).

Why this method. The simulation is stochastic: the KPIs of one candidate are a mean over a
few replications and carry noise, so a search that follows the loss point by point
(finite differences, a simplex) chases that noise and stalls near its start, and a single
best point says nothing about how well the targets pin each parameter down. Here each
target KPI gets its own Gaussian-process emulator (scikit-learn's
``GaussianProcessRegressor``, a Matern 5/2 kernel with one length scale per parameter and
a noise term fed with each candidate's replication variance), fitted to every candidate
run so far. The emulators average the noise over neighbouring candidates, predict the
KPIs with an uncertainty anywhere in the plausible ranges at no simulation cost, and so
give both a point estimate and, per parameter, the range of values consistent with the
targets.

The search space is the unit cube, mapped linearly onto each parameter's plausible range
(declared in :mod:`sim.parameters` before any fitting). The budget of ``max_evals``
candidates is spent in waves:

1. the starting values, then a Latin hypercube over the whole cube;
2. after each wave the emulators are refitted, and a candidate ``u`` is *implausible*
   when for some target ``k``

       I_k(u) = |E[f_k(u)] - z_k| / sqrt(Var[f_k(u)] + (halfwidth_k / 2)^2 / w_k)  > 3

   (``z_k`` the published value, the band taken as a 95% interval, so its half-width is
   about two standard deviations of observation and model error; ``w_k`` the weight of
   the target's confidence, high 1, medium 0.5, low 0.1, see
   :data:`sim.outputs.targets.CONFIDENCE_WEIGHT`; 3 is Pukelsheim's three-sigma rule);
3. the next wave is drawn from the points not ruled out, half spread over them and half
   among those whose emulated loss is lowest;
4. finally the point that minimises the emulated loss

       sum over targets k of  w_k * ((E[f_k(u)] - z_k) / halfwidth_k) ** 2

   is run once more on the simulator (fresh replications) to report its actual loss.

Identifiability: the points not ruled out after the last wave (a dense sample of the
cube, refined around the points kept) are projected on each parameter; the interval they
span is the range of that parameter consistent with the targets. A parameter is
*identified* (the targets pin it down) when that interval is narrower than
:data:`IDENTIFIED_WIDTH` of its plausible range; otherwise the point value is one of
many that fit equally well and should not be read as an estimate.

Replications. Candidate ``i`` runs replications ``i * reps`` to ``i * reps + reps - 1`` of
the base seed: every candidate draws independent random numbers, so the emulators see
independent noise and average it out (with common random numbers every candidate would
share one realisation's bias). ``reps`` is sized so that the noise of the loss is below
its tolerance: the loss at a point changes by about 1 when one high-confidence KPI moves
by one half-band, and the standard deviation of the loss over independent sets of
replications must stay well under that. Measured:

* in the recovery test (tests/test_calibration.py: a 20,000-child LA, 0.5 + 1.5 years,
  four targets whose half-bands are at least one replication's standard deviation) the
  loss at the planted point has a standard deviation of 1.0 with 2 replications, 0.32
  with 3 and 0.17 with 4 (disjoint sets of 36 replications): 3 are used;
* at the shipped baseline against the shipped targets (whole LA, 16 + 5 years; sets of 4
  of 20 replications at seeds 2 and 3) it is about 2 with 4 replications (the default),
  0.84 without serious case reviews. Every KPI's mean over 4 replications is known to
  within 0.4 of a half-band except serious case reviews (0.77: a rare event, a handful a
  replication). The emulators see each candidate's replication variance and average it
  over neighbouring candidates, which is what makes 4 replications workable; a fit that
  needs a single candidate's loss to be below 1 needs about 16 (``--reps 16``).

Replications of a candidate run on the experiment backends.

The result is written as a new scenario file over the original, with the identifiability
table in its header; targets are never edited.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import optimize
from scipy.stats import qmc

from sim.clock import DEFAULT_WARMUP_YEARS, Window
from sim.outputs.targets import CONFIDENCE_WEIGHT, load_targets
from sim.parameters import SCHEMA

log = logging.getLogger(__name__)

#: Implausibility above which a candidate is ruled out (three-sigma rule).
IMPLAUSIBILITY_CUTOFF: float = 3.0
#: A parameter is identified when the values consistent with the targets span less than
#: this share of its plausible range.
IDENTIFIED_WIDTH: float = 0.5
#: Waves of history matching (the first is a Latin hypercube).
DEFAULT_WAVES: int = 3


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


def _used(targets: pd.DataFrame) -> pd.DataFrame:
    """Target rows with a non-zero weight, with columns z, half and w."""
    w = targets["confidence"].map(lambda c: CONFIDENCE_WEIGHT.get(str(c), 0.0)).astype(float)
    out = pd.DataFrame({
        "z": targets["per_la_value"].astype(float),
        "half": ((targets["high"] - targets["low"]) / 2.0).astype(float).clip(lower=1e-12),
        "w": w,
    }, index=targets.index)
    return out[out["w"] > 0]


def residuals(means: dict[str, float], targets: pd.DataFrame) -> np.ndarray:
    """Weighted residuals ``sqrt(w_k) * (mean_k - target_k) / halfwidth_k``, one per target
    with a non-zero weight (a KPI the run cannot produce counts as 10 half-bands off)."""
    out = []
    for kpi, t in _used(targets).iterrows():
        m = means.get(kpi, float("nan"))
        r = (m - t["z"]) / t["half"] if math.isfinite(m) else 10.0
        out.append(math.sqrt(t["w"]) * r)
    return np.asarray(out, dtype=float)


def loss(means: dict[str, float], targets: pd.DataFrame) -> float:
    """Confidence-weighted squared distance of KPI means from the targets (see module)."""
    return float(np.sum(residuals(means, targets) ** 2))


def _mean(values: list[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _var_of_mean(values: list[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.var(ddof=1) / x.size) if x.size >= 2 else float("nan")


@dataclass
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    values : dict
        Fitted value of each parameter (the minimum of the emulated loss).
    loss : float
        Loss at the fitted values, run on the simulator with fresh replications.
    start_loss : float
        Loss at the starting values (the first candidate).
    means : dict
        KPI means at the fitted values (the same run as ``loss``).
    history : pandas.DataFrame
        One row per evaluation: wave, the parameters and the loss.
    identifiability : pandas.DataFrame
        One row per parameter: ``low`` and ``high`` (the values consistent with the
        targets), ``width`` (their share of the plausible range), ``identified``, and the
        plausible range ``plausible_low``, ``plausible_high``.
    """

    values: dict[str, float]
    loss: float
    start_loss: float
    means: dict[str, float]
    history: pd.DataFrame = field(repr=False)
    params: list[str] = field(default_factory=list)
    identifiability: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def identified(self) -> list[str]:
        """The parameters the targets pin down."""
        t = self.identifiability
        return list(t.index[t["identified"]]) if len(t) else []


def _bounds(params: Sequence[str]) -> list[tuple[float, float]]:
    out = []
    for key in params:
        p = SCHEMA[key]
        if p.plausible is None or p.kind not in (float, int):
            raise ValueError(f"{key}: only numeric parameters with a plausible range can be "
                             "calibrated")
        out.append((float(p.plausible[0]), float(p.plausible[1])))
    return out


class Emulators:
    """One Gaussian-process emulator per target KPI, over the unit cube."""

    def __init__(self, x: np.ndarray, means: pd.DataFrame, noise: pd.DataFrame,
                 used: pd.DataFrame, *, seed: int) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        self.used = used
        self.models: dict[str, tuple[Any, float, float]] = {}
        d = x.shape[1]
        for kpi in used.index:
            y = means[kpi].to_numpy(dtype=float)
            v = noise[kpi].to_numpy(dtype=float)
            ok = np.isfinite(y)
            if ok.sum() < 3:
                continue
            centre = float(np.mean(y[ok]))
            scale = float(np.std(y[ok])) or max(abs(centre), 1.0)
            var = np.where(np.isfinite(v[ok]), v[ok], np.nanmedian(v[ok]) if
                           np.isfinite(v[ok]).any() else 0.0) / scale**2
            kernel = (ConstantKernel(1.0, (1e-2, 1e2))
                      * Matern(length_scale=np.full(d, 0.5), length_scale_bounds=(0.03, 30.0),
                               nu=2.5)
                      + WhiteKernel(1e-3, (1e-8, 0.5)))
            gp = GaussianProcessRegressor(kernel, alpha=np.nan_to_num(var) + 1e-8,
                                          n_restarts_optimizer=1, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(x[ok], (y[ok] - centre) / scale)
            self.models[kpi] = (gp, centre, scale)

    def predict(self, u: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Emulated means and standard deviations of each KPI at the points ``u``."""
        mu, sd = {}, {}
        for kpi, (gp, centre, scale) in self.models.items():
            m, s = gp.predict(np.atleast_2d(u), return_std=True)
            mu[kpi], sd[kpi] = centre + scale * m, scale * s
        return pd.DataFrame(mu), pd.DataFrame(sd)

    def implausibility(self, u: np.ndarray) -> np.ndarray:
        """The largest implausibility over the target KPIs at each point (see module)."""
        mu, sd = self.predict(u)
        if mu.empty:
            return np.zeros(len(np.atleast_2d(u)))
        t = self.used.loc[mu.columns]
        obs = (t["half"] / 2.0) ** 2 / t["w"]
        imp = (mu - t["z"]).abs() / np.sqrt(sd**2 + obs)
        return imp.max(axis=1).to_numpy()

    def loss(self, u: np.ndarray) -> np.ndarray:
        """The emulated loss at each point."""
        mu, _ = self.predict(u)
        if mu.empty:
            return np.zeros(len(np.atleast_2d(u)))
        t = self.used.loc[mu.columns]
        return (t["w"] * ((mu - t["z"]) / t["half"]) ** 2).sum(axis=1).to_numpy()


def _maximin(pool: np.ndarray, k: int, taken: np.ndarray, rng: np.random.Generator
             ) -> np.ndarray:
    """``k`` points of ``pool`` chosen greedily, each farthest from those taken so far."""
    if k <= 0 or len(pool) == 0:
        return np.empty((0, pool.shape[1]))
    if len(pool) <= k:
        return pool
    chosen: list[np.ndarray] = []
    ref = taken if len(taken) else pool[rng.integers(len(pool))][None, :]
    dist = np.min(np.linalg.norm(pool[:, None, :] - ref[None, :, :], axis=2), axis=1)
    for _ in range(k):
        i = int(np.argmax(dist))
        chosen.append(pool[i])
        dist = np.minimum(dist, np.linalg.norm(pool - pool[i], axis=1))
    return np.asarray(chosen)


def _pool(d: int, kept: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Candidate points: a scrambled Sobol sample of the cube, plus points scattered
    around ``kept`` (the points not ruled out so far) to fill a small region densely."""
    m = int(math.ceil(math.log2(size)))
    sobol = qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)
    if len(kept) == 0:
        return sobol
    around = kept[rng.integers(len(kept), size=size)]
    spread = np.maximum(kept.std(axis=0), 0.01)
    around = np.clip(around + rng.normal(0.0, 1.0, around.shape) * spread * 0.5, 0.0, 1.0)
    return np.vstack([sobol, around])


def _wave_sizes(n: int, waves: int) -> list[int]:
    """Split ``n`` evaluations into waves: half in the first (at least 3, enough to fit an
    emulator), the rest shared evenly."""
    if waves <= 1 or n < 4:
        return [n]
    first = max(n // 2, 3)
    rest = n - first
    sizes = [rest // (waves - 1)] * (waves - 1)
    sizes[-1] += rest - sum(sizes)
    return [first, *[s for s in sizes if s > 0]]


def calibrate(scenario: Any, *, params: Sequence[str] | None = None,
              targets: pd.DataFrame | str | os.PathLike[str] | None = None,
              reps: int = 4, seed: int = 1, warmup: float = DEFAULT_WARMUP_YEARS,
              years: float = 3.0, max_evals: int = 60, waves: int = DEFAULT_WAVES,
              backend: Any = None, workers: int | None = None,
              start: dict[str, float] | None = None,
              progress: Callable[[int, float], None] | None = None) -> Calibration:
    """Fit ``params`` of ``scenario`` to ``targets`` by history matching (see module).

    Parameters
    ----------
    scenario : Scenario
        The scenario to fit (its current values are the first candidate).
    params : list of str, optional
        Dotted keys to fit (default: those marked calibrated in the schema).
    targets : DataFrame or path, optional
        Targets (default: the shipped England 2010-11 figures).
    reps, seed, warmup, years : int, int, float, float
        Replications per candidate, base seed, warm-up and measured years of each run.
        Candidate ``i`` runs replications ``i * reps`` to ``i * reps + reps - 1``.
    max_evals : int
        Budget of candidate evaluations, the final check of the fitted point included.
    waves : int
        Waves of history matching the budget is spent in.
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
    used = _used(targets)
    if used.empty:
        raise ValueError("no target with a non-zero weight to calibrate to")
    if max_evals < 4:
        raise ValueError(f"max_evals must be at least 4, got {max_evals}")
    bounds = _bounds(params)
    lo = np.array([b[0] for b in bounds])
    span = np.array([b[1] - b[0] for b in bounds])
    d = len(params)
    backend = backend or LocalBackend(workers)
    rng = np.random.default_rng([seed, 20_101])
    history: list[dict[str, Any]] = []
    points: list[np.ndarray] = []
    kpi_means: list[dict[str, float]] = []
    kpi_noise: list[dict[str, float]] = []

    def to_values(u: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, x in zip(params, lo + np.clip(u, 0.0, 1.0) * span, strict=True):
            out[key] = round(float(x)) if SCHEMA[key].kind is int else float(x)
        return out

    def run(u: np.ndarray, wave: int) -> tuple[float, dict[str, float]]:
        index = len(history)
        values = to_values(u)
        candidate = scenario.with_values(values, source="<calibration candidate>")
        task = functools.partial(_rep_task, scenario=candidate, seed=seed, warmup=warmup,
                                 years=years)
        numbers = range(index * reps, (index + 1) * reps)
        results = dict(backend.map(task, numbers))
        names = list(results[numbers[0]])
        means = {k: _mean([results[r][k] for r in numbers]) for k in names}
        value = loss(means, targets)
        points.append(np.clip(np.asarray(u, dtype=float), 0.0, 1.0))
        kpi_means.append(means)
        kpi_noise.append({k: _var_of_mean([results[r][k] for r in numbers]) for k in names})
        history.append({"wave": wave, **values, "loss": value})
        if progress is not None:
            progress(len(history), min(h["loss"] for h in history))
        log.info("calibration evaluation %d (wave %d): loss %.4g", len(history), wave, value)
        return value, means

    def emulate() -> Emulators:
        return Emulators(np.asarray(points), pd.DataFrame(kpi_means),
                         pd.DataFrame(kpi_noise), used, seed=seed)

    start_values = {k: float(scenario[k]) for k in params}
    if start:
        start_values.update(start)
    u0 = np.clip((np.array([start_values[k] for k in params]) - lo) / span, 0.0, 1.0)
    sizes = _wave_sizes(max_evals - 1, waves)
    start_loss, _ = run(u0, 1)
    for u in qmc.LatinHypercube(d, seed=rng).random(max(sizes[0] - 1, 0)):
        run(u, 1)
    for wave, size in enumerate(sizes[1:], start=2):
        em = emulate()
        kept = _not_ruled_out(em, np.asarray(points), rng, d)
        low_loss = kept[em.loss(kept) <= np.quantile(em.loss(kept), 0.1)]
        taken = np.asarray(points)
        explore = _maximin(kept, size - size // 2, taken, rng)
        exploit = _maximin(low_loss, size - len(explore), np.vstack([taken, explore]), rng)
        for u in np.vstack([explore, exploit]):
            run(u, wave)
    em = emulate()
    best = _minimise(em, np.asarray(points), rng, d)
    final_loss, final_means = run(best, len(sizes) + 1)
    kept = _not_ruled_out(em, np.asarray(points), rng, d, size=16_384)
    table = identifiability_table(params, kept, best, bounds)
    return Calibration(to_values(best), final_loss, start_loss, final_means,
                       pd.DataFrame(history), params, table)


def _not_ruled_out(em: Emulators, points: np.ndarray, rng: np.random.Generator, d: int,
                   size: int = 4096) -> np.ndarray:
    """Points of a candidate pool not ruled out by the emulators; refined twice around
    those kept, and at least the 1% least implausible when none is below the cutoff."""
    kept = np.empty((0, d))
    for _ in range(3):
        pool = _pool(d, kept if len(kept) else points, rng, size)
        imp = em.implausibility(pool)
        ok = imp <= IMPLAUSIBILITY_CUTOFF
        if ok.sum() >= max(10, size // 100):
            kept = pool[ok] if not len(kept) else np.vstack([kept, pool[ok]])
        else:
            least = pool[np.argsort(imp)[: max(10, size // 100)]]
            kept = least if not len(kept) else np.vstack([kept, least])
    return kept


def _minimise(em: Emulators, points: np.ndarray, rng: np.random.Generator, d: int
              ) -> np.ndarray:
    """The point of the cube with the least emulated loss: the best of a dense pool,
    polished by a bounded quasi-Newton search on the emulators (no simulation)."""
    pool = np.vstack([points, _pool(d, points, rng, 4096)])
    values = em.loss(pool)
    best, best_value = pool[int(np.argmin(values))], float(np.min(values))
    res = optimize.minimize(lambda u: float(em.loss(u[None, :])[0]), best,
                            method="L-BFGS-B", bounds=[(0.0, 1.0)] * d,
                            options={"maxiter": 50})
    if res.fun < best_value:
        best = np.clip(res.x, 0.0, 1.0)
    return best


def identifiability_table(params: Sequence[str], kept: np.ndarray, best: np.ndarray,
                          bounds: Sequence[tuple[float, float]]) -> pd.DataFrame:
    """Per parameter: the interval spanned by the points not ruled out, its width as a
    share of the plausible range, and whether it is narrow enough to be identified."""
    rows = []
    for i, (key, (lo, hi)) in enumerate(zip(params, bounds, strict=True)):
        u = np.append(kept[:, i], best[i]) if len(kept) else np.array([best[i]])
        low, high = float(u.min()), float(u.max())
        rows.append({"parameter": key, "low": lo + low * (hi - lo),
                     "high": lo + high * (hi - lo), "width": high - low,
                     "identified": bool(high - low < IDENTIFIED_WIDTH),
                     "plausible_low": lo, "plausible_high": hi})
    return pd.DataFrame(rows).set_index("parameter")


def format_identifiability(result: Calibration, *, prefix: str = "") -> str:
    """The identifiability table as fixed-width text, one parameter a line."""
    lines = [f"{prefix}{'parameter':40s} {'fitted':>10s} {'consistent with the targets':>27s}"
             f" {'of range':>8s}  identified"]
    for key, r in result.identifiability.iterrows():
        interval = f"{r['low']:.4g} to {r['high']:.4g}"
        lines.append(f"{prefix}{key:40s} {result.values[key]:>10.4g} {interval:>27s} "
                     f"{100 * r['width']:>7.0f}%  {'yes' if r['identified'] else 'no'}")
    return "\n".join(lines)


def write_calibrated_scenario(result: Calibration, scenario: Any, path: str | os.PathLike[str],
                              *, name: str, base: str, seed: int, reps: int, warmup: float,
                              years: float, targets_used: Sequence[str], command: str) -> Path:
    """Write the fitted values as a scenario file over ``base`` (atomically), with the
    identifiability table in its header."""
    from sim.outputs import files as output

    today = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d")
    lines = [
        f'name = "{name}"',
        f'description = "{scenario.description} (calibrated {today})"',
        f'base = "{base}"',
        "",
        f"# Fitted by: {command}",
        f"# Date: {today} (UTC); seed {seed}; {reps} replications of {warmup:g} warm-up + "
        f"{years:g} measured years per candidate (independent replications per candidate);",
        f"# history matching with Gaussian-process emulators, {len(result.history)} "
        "evaluations.",
        f"# Loss: {result.loss:.4g} (start {result.start_loss:.4g}), confidence-weighted "
        "squared distance in half-bands.",
        f"# Targets used: {', '.join(targets_used)}",
        "# Each value lies in the plausible range declared in sim/parameters.py.",
        f"# Identifiability: values consistent with the targets (implausibility <= "
        f"{IMPLAUSIBILITY_CUTOFF:g});",
        f"# a parameter is identified when they span less than {100 * IDENTIFIED_WIDTH:g}% "
        "of its plausible range.",
        format_identifiability(result, prefix="#   "),
    ]
    by_section: dict[str, list[str]] = {}
    for key, value in result.values.items():
        section, leaf = key.split(".", 1)
        p = SCHEMA[key]
        text = str(int(value)) if p.kind is int else repr(float(value))
        ident = result.identifiability.loc[key] if key in result.identifiability.index else None
        note = "" if ident is None else (
            "; identified" if ident["identified"] else "; NOT identified by the targets")
        by_section.setdefault(section, []).append(
            f"{leaf} = {text}  # {p.unit}; plausible {p.plausible[0]:g} to "
            f"{p.plausible[1]:g}; fitted (was {scenario[key]!r}){note}")
    for section, entries in by_section.items():
        lines += ["", f"[{section}]", *entries]
    out = Path(path)
    output.atomic_write_text(out, "\n".join(lines) + "\n")
    return out
