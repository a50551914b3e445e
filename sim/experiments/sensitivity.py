"""Global sensitivity analysis with SALib, over the plausible ranges of the parameter schema.

Which parameters matter for a KPI? Each parameter to vary is a float or int parameter
with a plausible range in :data:`sim.parameters.SCHEMA` (``Param.plausible``): the policy
levers by default (``Param.role``), others when named (:func:`sensitivity_parameters`).
:func:`plan_sensitivity` tells how many runs that takes and roughly how long. SALib draws
the sample points:

* ``morris``: the elementary effects method (Morris 1991, with the ``mu*`` of Campolongo,
  Cariboni and Saltelli 2007): ``samples`` trajectories of ``D + 1`` points on a grid of
  ``levels`` levels; cheap screening. Indices: ``mu_star`` (mean absolute elementary
  effect, in KPI units over the parameter's range) with its bootstrap confidence
  half-width ``mu_star_conf``, ``sigma`` (spread of the effects: interaction or
  non-linearity) and ``mu``.
* ``sobol``: variance-based indices with Saltelli's sampling (``samples * (D + 2)`` points,
  ``samples`` a power of 2): first-order ``S1`` and total ``ST`` shares of the KPI's
  variance, each with a bootstrap confidence half-width (``S1_conf``, ``ST_conf``).

Each sample point is the scenario with those values (``Scenario.with_values``; int
parameters rounded), run for ``reps`` replications with the same seed and replication
numbers as every other point (common random numbers across points), and the KPI value of
the point is the mean over its replications. Points run on any backend
(:mod:`sim.experiments.backends`); each point's KPIs are written to ``DIR/points/`` as
it finishes, so an interrupted analysis resumes where it stopped.

Layout of ``DIR``::

    DIR/manifest.json                       scenario, method, parameters and bounds, samples,
                                            seeds, years, warm-up, reps
    DIR/points/point-NNNNNN-rep-NNNN.json   the KPIs of one replication of one point
    DIR/samples.csv                         each point's parameter values and KPI means
    DIR/sensitivity.csv                     one row per KPI and parameter: the indices
    DIR/sensitivity.json                    the same with the manifest
    DIR/sensitivity-<kpi>.png               Morris mu*-sigma scatter, or Sobol ST bars
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.outputs import files as output

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("morris", "sobol")
#: Index columns written for each method.
INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    "morris": ("mu_star", "mu_star_conf", "sigma", "mu"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
}
POINTS = "points"
SAMPLES_CSV = "samples.csv"
RESULT_CSV = "sensitivity.csv"
RESULT_JSON = "sensitivity.json"


class SensitivityError(ValueError):
    """A sensitivity analysis cannot run as asked (unknown parameter or KPI, bad method)."""


# -- the problem ---------------------------------------------------------------------------------


#: Words that name groups of parameters in ``params``: the roles of
#: :data:`sim.parameters.ROLES` (``levers`` for ``lever``) and ``all``.
GROUPS: tuple[str, ...] = ("levers", "behaviour", "size", "initial", "all")


def _eligible(p: Any) -> bool:
    return p.kind in (int, float) and p.plausible is not None \
        and float(p.plausible[0]) < float(p.plausible[1])


def sensitivity_parameters(names: Sequence[str] | None = None) -> dict[str, Any]:
    """The parameters to vary, ``{key: Param}`` in schema order.

    Each is a float or int parameter with a plausible range. Without ``names``: the
    policy levers (``Param.role == "lever"``); the size of the authority and its initial
    state, which would dominate any ranking without being policy, are varied only when
    named. ``names`` may hold dotted keys, section names (the section's parameters that
    are levers or behaviour) and group words (:data:`GROUPS`: ``levers``, ``behaviour``,
    ``size``, ``initial``, or ``all`` for every parameter with a plausible range).
    """
    from sim.parameters import SCHEMA, SECTIONS

    if not names:
        return {k: p for k, p in SCHEMA.items() if _eligible(p) and p.role == "lever"}
    chosen: set[str] = set()
    for name in names:
        if name in GROUPS:
            role = "lever" if name == "levers" else name
            chosen |= {k for k, p in SCHEMA.items()
                       if _eligible(p) and (name == "all" or p.role == role)}
            continue
        if name in SECTIONS:
            chosen |= {k for k, p in SCHEMA.items() if k.startswith(name + ".")
                       and _eligible(p) and p.role in ("lever", "behaviour")}
            continue
        if name not in SCHEMA:
            raise SensitivityError(
                f"unknown parameter {name!r}: give dotted keys (sim/parameters.py), section "
                f"names or one of {', '.join(GROUPS)}")
        if not _eligible(SCHEMA[name]):
            raise SensitivityError(
                f"{name} has no plausible range to vary (only float and int parameters with "
                "a plausible range in the schema)")
        chosen.add(name)
    return {k: SCHEMA[k] for k in SCHEMA if k in chosen}


def describe_parameters(names: Sequence[str] | None, chosen: dict[str, Any]) -> str:
    """Words for what is varied: ``"the 33 policy levers"``, ``"2 parameters"``."""
    n = len(chosen)
    if not names:
        return (f"the {n} policy levers with a plausible range (size, initial state and "
                "behaviour only when named)")
    return f"{n} parameter{'s' if n != 1 else ''}"


# -- how long it takes -----------------------------------------------------------------------------

#: Seconds of one worker per simulated year of the baseline authority (73,000 children),
#: measured on a 2-core machine (``benchmarks/bench_model.py``); a run of a smaller or
#: larger authority takes proportionally less or more. An estimate, not a promise.
SECONDS_PER_YEAR = 1.5
#: Seconds of one worker per run, whatever its length (start-up, KPIs, files).
SECONDS_PER_RUN = 1.0
_REFERENCE_POPULATION = 73_000


def estimate_seconds(scenario: Any, *, runs: int, years: float, warmup: float,
                     workers: int) -> float:
    """Rough wall-clock seconds for ``runs`` runs of ``warmup + years`` years on ``workers``."""
    try:
        size = float(scenario["population.child_population"]) / _REFERENCE_POPULATION
    except (KeyError, TypeError, ValueError):
        size = 1.0
    per_run = SECONDS_PER_RUN + SECONDS_PER_YEAR * size * (float(years) + float(warmup))
    return runs * per_run / max(1, int(workers))


def format_duration(seconds: float) -> str:
    """``"40 s"``, ``"12 min"``, ``"3 h 20 min"``, ``"2.5 days"``."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{round(minutes)} min"
    hours = minutes / 60
    if hours < 48:
        h, m = divmod(round(minutes), 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{hours / 24:.1f} days"


@dataclass(frozen=True)
class SensitivityPlan:
    """What a sensitivity analysis will run, told before it starts.

    ``points`` sample points (Morris: ``samples x (parameters + 1)``; Sobol:
    ``samples x (parameters + 2)``) of ``reps`` replications each: ``runs`` runs of
    ``warmup + years`` simulated years, about ``seconds`` on ``workers`` workers.
    """

    scenario: str
    method: str
    params: tuple[str, ...]
    what: str
    samples: int
    points: int
    reps: int
    years: float
    warmup: float
    workers: int
    seconds: float

    @property
    def runs(self) -> int:
        return self.points * self.reps

    def __str__(self) -> str:
        per = "trajectories" if self.method == "morris" else "base samples"
        extra = 1 if self.method == "morris" else 2
        return (f"{self.method} sensitivity of {self.scenario}: {self.what}; "
                f"{self.samples} {per} x ({len(self.params)} + {extra}) = {self.points:,} "
                f"sample points x {self.reps} replication{'s' if self.reps != 1 else ''} = "
                f"{self.runs:,} runs of {self.warmup + self.years:g} simulated years "
                f"({self.warmup:g} warm-up + {self.years:g} measured); about "
                f"{format_duration(self.seconds)} on {self.workers} "
                f"worker{'s' if self.workers != 1 else ''} (a rough estimate)")


def n_points(method: str, samples: int, n_params: int) -> int:
    """Sample points SALib draws: Morris ``N (D + 1)``, Sobol (first order) ``N (D + 2)``."""
    if method == "morris":
        return samples * (n_params + 1)
    if method == "sobol":
        return samples * (n_params + 2)
    raise SensitivityError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")


def plan_sensitivity(scenario: Any, *, method: str = "morris", samples: int = 10,
                     params: Sequence[str] | None = None, reps: int = 1, years: float = 5.0,
                     warmup: float = DEFAULT_WARMUP_YEARS, workers: int | None = None
                     ) -> SensitivityPlan:
    """The runs a sensitivity analysis needs and roughly how long they take."""
    from sim.experiments.backends import default_workers

    chosen = sensitivity_parameters(params)
    points = n_points(method, samples, len(chosen))
    workers = default_workers() if workers is None else int(workers)
    seconds = estimate_seconds(scenario, runs=points * reps, years=years, warmup=warmup,
                               workers=workers)
    return SensitivityPlan(getattr(scenario, "name", str(scenario)), method, tuple(chosen),
                           describe_parameters(params, chosen), samples, points, reps,
                           float(years), float(warmup), workers, seconds)


def problem(params: dict[str, Any]) -> dict[str, Any]:
    """The SALib problem: names and plausible bounds."""
    return {
        "num_vars": len(params),
        "names": list(params),
        "bounds": [[float(p.plausible[0]), float(p.plausible[1])] for p in params.values()],
    }


def draw(method: str, prob: dict[str, Any], samples: int, *, seed: int,
         levels: int = 4) -> np.ndarray:
    """The sample matrix (points x parameters) of ``method``."""
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, N=samples, num_levels=levels, seed=seed)
    if method == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            return sobol.sample(prob, N=samples, calc_second_order=False, seed=seed)
    raise SensitivityError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")


def point_values(params: dict[str, Any], row: np.ndarray) -> dict[str, Any]:
    """The overrides of one sample point (int parameters rounded, values kept allowed)."""
    values: dict[str, Any] = {}
    for (key, p), x in zip(params.items(), row, strict=True):
        v = float(x)
        if p.low is not None:
            v = max(v, float(p.low))
        if p.high is not None:
            v = min(v, float(p.high))
        values[key] = int(round(v)) if p.kind is int else v
    return values


# -- running the points --------------------------------------------------------------------------


def point_path(out_dir: str | os.PathLike[str], point: int, rep: int) -> Path:
    """``DIR/points/point-NNNNNN-rep-NNNN.json``."""
    return Path(out_dir) / POINTS / f"point-{int(point):06d}-{output.rep_stem(rep)}.json"


def _run_point(portable: Any, item: tuple[int, int, tuple[tuple[str, Any], ...]], *, seed: int,
               warmup_years: float, years: float,
               simulate: Callable[..., pd.DataFrame] | None) -> dict[str, float]:
    """Run replication ``rep`` of sample point ``point`` in a scratch directory."""
    from sim.experiments.runs import run_replication

    point, rep, overrides = item
    scenario = portable.obj.with_values(dict(overrides), source=f"<sample point {point}>",
                                        rules=False)
    with tempfile.TemporaryDirectory(prefix="childsim-point-") as tmp:
        return run_replication(scenario, rep, seed=seed, warmup_years=warmup_years,
                               years=years, out_dir=tmp, simulate=simulate)


def _read_point(path: Path) -> dict[str, float]:
    data = output.read_json(path)
    return {k: (math.nan if v is None else float(v)) for k, v in data["kpis"].items()}


@dataclass
class SensitivityResult:
    """What :func:`run_sensitivity` produced.

    ``indices`` has one row per KPI and parameter: ``kpi``, ``param``, then the method's
    index columns (:data:`INDEX_COLUMNS`). ``samples`` has one row per point: the varied
    parameters' values, then each KPI's mean over the point's replications.
    """

    method: str
    kpis: list[str]
    params: list[str]
    indices: pd.DataFrame
    samples: pd.DataFrame
    out_dir: Path
    charts: dict[str, Path] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def _manifest(scenario: Any, method: str, params: dict[str, Any], samples: int, levels: int,
              seed: int, reps: int, years: float, warmup: float, kpis: Sequence[str],
              n_points: int, command: Any) -> dict[str, Any]:
    return output.to_jsonable({
        "kind": "sensitivity",
        "scenario": {"name": scenario.name, "digest": scenario.digest(),
                     "description": getattr(scenario, "description", ""),
                     "files": [os.fspath(f) for f in getattr(scenario, "files", ())]},
        "method": method,
        "params": {k: list(p.plausible) for k, p in params.items()},
        "samples": int(samples),
        "levels": int(levels) if method == "morris" else None,
        "points": int(n_points),
        "seed": int(seed),
        "seed_derivation": output.SEED_DERIVATION,
        "sample_seed": int(seed),
        "reps": int(reps),
        "years": float(years),
        "warmup_years": float(warmup),
        "kpis": list(kpis),
        "command": command if command is None or isinstance(command, str)
        else [str(c) for c in command],
        "software": output.software_versions(),
        "git": output.git_info(),
        "owns": list(output.OWNED["sensitivity"]),
    })


_SAME_KEYS = ("scenario", "method", "params", "samples", "levels", "seed", "reps", "years",
              "warmup_years")


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    try:
        return all(
            (old[k]["digest"] == new[k]["digest"]) if k == "scenario" else old[k] == new[k]
            for k in _SAME_KEYS
        )
    except (KeyError, TypeError):
        return False


def run_sensitivity(
    scenario: Any,
    *,
    method: str = "morris",
    kpis: Sequence[str],
    samples: int = 10,
    params: Sequence[str] | None = None,
    reps: int = 1,
    seed: int = 1,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    out_dir: str | os.PathLike[str],
    levels: int = 4,
    confidence: float = 0.95,
    num_resamples: int = 1000,
    resume: bool = False,
    workers: int | None = None,
    backend: Any = None,
    progress: Callable[[int, int], None] | None = None,
    command: Sequence[str] | str | None = None,
    simulate: Callable[..., pd.DataFrame] | None = None,
    charts: bool = True,
    overwrite: bool = False,
) -> SensitivityResult:
    """Sensitivity indices of ``kpis`` to the scenario's parameters (SALib).

    Parameters
    ----------
    method : ``"morris"`` or ``"sobol"``.
    kpis : KPI names (see ``sim.outputs.kpis.KPIS``).
    samples : Morris trajectories, or Sobol base samples (a power of 2 is best).
    params : what to vary: dotted keys, section names or group words (see
        :func:`sensitivity_parameters`; default: the policy levers).
    reps : replications per point (same seed and replication numbers at every point).
    seed : base seed of the replications, and the seed of SALib's sampling and bootstrap.
    levels : Morris grid levels.
    resume : keep the points already finished in ``out_dir`` (refused unless it holds the
        same scenario content, method, parameters, samples, seed, reps, years, warm-up).
    overwrite : replace an earlier analysis (or run) in ``out_dir``, removing only the files
        its manifest owns. Without either, a directory holding results is refused (see
        :func:`sim.experiments.runs.plan_directory`).
    """
    from sim.experiments.runs import (
        check_run_length,
        locked,
        plan_directory,
        prepare_directory,
    )
    from sim.outputs.kpis import KPIS

    if method not in METHODS:
        raise SensitivityError(f"unknown method {method!r}: expected one of {', '.join(METHODS)}")
    if not kpis:
        raise SensitivityError("name at least one KPI")
    unknown = [k for k in kpis if KPIS and k not in KPIS]
    if unknown:
        raise SensitivityError(f"unknown KPI {', '.join(unknown)}; known KPIs: {', '.join(KPIS)}")
    if samples < 1 or reps < 1:
        raise SensitivityError("samples and reps must be at least 1")
    if years <= 0 or warmup < 0:
        raise SensitivityError("years must be positive and warm-up not negative")
    chosen = sensitivity_parameters(params)
    if not chosen:
        raise SensitivityError("no parameter to vary")
    prob = problem(chosen)
    X = draw(method, prob, samples, seed=seed, levels=levels)
    n_points = X.shape[0]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SensitivityError(f"seed must be a whole number of 0 or more, got {seed!r}")
    check_run_length(scenario, years=years, warmup=warmup)
    out = Path(out_dir)
    manifest = _manifest(scenario, method, chosen, samples, levels, seed, reps, years, warmup,
                         kpis, n_points, command)
    check = functools.partial(
        plan_directory, out, kind="sensitivity", resume=resume, overwrite=overwrite,
        differs="scenario content (or method, parameters, samples, seed, reps, years or "
                "warm-up)",
        same=lambda old: _same(old, manifest))
    check()  # before anything is touched
    with locked(out):
        plan = check()
        prepare_directory(plan)
        return _run_points(plan.action == "resume", scenario, out, manifest, method=method,
                           kpis=kpis, chosen=chosen, prob=prob, X=X, reps=reps, seed=seed,
                           years=years, warmup=warmup, levels=levels, confidence=confidence,
                           num_resamples=num_resamples, workers=workers, backend=backend,
                           progress=progress, simulate=simulate, charts=charts)


def _run_points(resume: bool, scenario: Any, out: Path, manifest: dict[str, Any], *,
                method: str, kpis: Sequence[str], chosen: dict[str, Any],
                prob: dict[str, Any], X: np.ndarray, reps: int, seed: int, years: float,
                warmup: float, levels: int, confidence: float, num_resamples: int,
                workers: int | None, backend: Any,
                progress: Callable[[int, int], None] | None,
                simulate: Callable[..., pd.DataFrame] | None,
                charts: bool) -> SensitivityResult:
    from sim.experiments.runs import _Portable

    n_points = X.shape[0]
    points_dir = out / POINTS
    done: dict[tuple[int, int], dict[str, float]] = {}
    if resume and points_dir.is_dir() and not points_dir.is_symlink():
        for p in points_dir.glob("point-*.json"):
            parts = p.stem.split("-")
            with contextlib.suppress(ValueError, IndexError, OSError, KeyError, TypeError,
                                     AttributeError):
                point, rep = int(parts[1]), int(parts[3])
                if point < n_points and rep < reps:
                    done[(point, rep)] = _read_point(p)
    for name in (SAMPLES_CSV, RESULT_CSV, RESULT_JSON):  # written again at the end
        (out / name).unlink(missing_ok=True)
    points_dir.mkdir(parents=True, exist_ok=True)
    output.atomic_write_json(out / output.MANIFEST, manifest)

    rows = [point_values(chosen, X[i]) for i in range(n_points)]
    items = [(i, rep, tuple(rows[i].items())) for i in range(n_points) for rep in range(reps)
             if (i, rep) not in done]
    total = n_points * reps
    if progress is not None:
        progress(len(done), total)
    fn = functools.partial(_run_point, _Portable(scenario), seed=seed, warmup_years=warmup,
                           years=years, simulate=simulate)
    if backend is None:
        from sim.experiments.backends import LocalBackend

        backend = LocalBackend(workers)
    for (i, rep, overrides), kpi_values in backend.map(fn, items):
        output.atomic_write_json(point_path(out, i, rep), {
            "point": i, "rep": rep, "seed": seed, "values": dict(overrides),
            "kpis": kpi_values})
        done[(i, rep)] = kpi_values
        if progress is not None:
            progress(len(done), total)

    # KPI value of each point: mean over its replications
    Y: dict[str, np.ndarray] = {}
    for kpi in kpis:
        per = np.array([[done[(i, r)].get(kpi, math.nan) for r in range(reps)]
                        for i in range(n_points)], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            Y[kpi] = np.nanmean(per, axis=1)
    samples_df = pd.DataFrame(X, columns=prob["names"])
    samples_df.insert(0, "point", np.arange(n_points))
    for kpi in kpis:
        samples_df[kpi] = Y[kpi]
    with output.atomic_path(out / SAMPLES_CSV) as tmp:
        samples_df.to_csv(tmp, index=False, float_format="%.10g")

    frames = [_analyse(method, prob, X, Y[kpi], kpi, levels=levels, confidence=confidence,
                       num_resamples=num_resamples, seed=seed) for kpi in kpis]
    indices = pd.concat(frames, ignore_index=True)
    with output.atomic_path(out / RESULT_CSV) as tmp:
        indices.to_csv(tmp, index=False, float_format="%.10g")
    meta = {**manifest, "confidence": confidence, "num_resamples": num_resamples,
            "finished": output.utc_now()}
    output.atomic_write_json(out / RESULT_JSON,
                             {**meta, "indices": indices.to_dict(orient="records")})
    result = SensitivityResult(method, list(kpis), prob["names"], indices, samples_df, out,
                               meta=meta)
    if charts:
        for kpi in kpis:
            result.charts[kpi] = plot(indices[indices["kpi"] == kpi], method, kpi,
                                      out / f"sensitivity-{kpi}.png",
                                      scenario=scenario.name)
    return result


def _analyse(method: str, prob: dict[str, Any], X: np.ndarray, y: np.ndarray, kpi: str, *,
             levels: int, confidence: float, num_resamples: int, seed: int) -> pd.DataFrame:
    cols = INDEX_COLUMNS[method]
    names = prob["names"]
    if not np.all(np.isfinite(y)):
        log.warning("%s is undefined at %d of %d points: its indices are left empty", kpi,
                    int((~np.isfinite(y)).sum()), y.size)
        data = {c: np.full(len(names), math.nan) for c in cols}
    else:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if method == "morris":
                from SALib.analyze import morris

                res = morris.analyze(prob, X, y, num_resamples=num_resamples,
                                     conf_level=confidence, num_levels=levels, seed=seed)
            else:
                from SALib.analyze import sobol

                res = sobol.analyze(prob, y, calc_second_order=False,
                                    num_resamples=num_resamples, conf_level=confidence,
                                    seed=seed)
        data = {c: np.asarray(res[c], dtype=float) for c in cols}
    frame = pd.DataFrame({"kpi": kpi, "param": names, **data})
    key = "mu_star" if method == "morris" else "ST"
    return frame.sort_values(key, ascending=False, kind="stable", na_position="last") \
        .reset_index(drop=True)


def figure(indices: pd.DataFrame, method: str, kpi: str, *, scenario: str = "",
           top: int = 20) -> Any:
    """The chart of one KPI's indices as a :class:`matplotlib.figure.Figure`
    (:func:`sim.outputs.figures.sensitivity_figure`; nothing global of matplotlib is
    changed). Morris: ``mu*`` against ``sigma`` (top parameters labelled without
    collisions); Sobol: ``ST`` (and ``S1``) with their confidence intervals, for the
    ``top`` parameters."""
    from sim.outputs.figures import sensitivity_figure

    d = indices.copy()
    d["kpi"] = kpi
    fig = sensitivity_figure(d, kpis=[kpi], top=min(top, 12) if method == "morris" else top)
    if scenario:
        fig.suptitle(f"{fig.get_suptitle()} of {scenario}")
    return fig


def plot(indices: pd.DataFrame, method: str, kpi: str, path: str | os.PathLike[str], *,
         scenario: str = "", top: int = 20) -> Path:
    """Write :func:`figure` as a PNG (atomically)."""
    fig = figure(indices, method, kpi, scenario=scenario, top=top)
    final = Path(path)
    with output.atomic_path(final) as tmp:
        fig.savefig(tmp, format="png", dpi=110, facecolor="white")
    return final


__all__: Sequence[str] = [
    "INDEX_COLUMNS",
    "METHODS",
    "SensitivityError",
    "SensitivityResult",
    "GROUPS",
    "SensitivityPlan",
    "draw",
    "estimate_seconds",
    "figure",
    "format_duration",
    "n_points",
    "plan_sensitivity",
    "plot",
    "point_values",
    "problem",
    "run_sensitivity",
    "sensitivity_parameters",
]
