"""The Python interface for notebooks: the ``childsim`` commands as functions.

Each function takes a scenario as a name (``"baseline"``), a path to a TOML file, or a
:class:`sim.scenario.Scenario` (e.g. ``load_scenario("baseline").with_values({...})``),
runs on the same backends as the command line, writes the same result directories
(``out=None``: a new temporary directory, kept, named in the result), and returns pandas
objects.

>>> import sim                                                      # doctest: +SKIP
>>> res = sim.run("baseline", reps=10)                              # doctest: +SKIP
>>> res.summary.loc["referrals_per_year"]                          # doctest: +SKIP
>>> table = sim.compare("baseline", "more-health-visitors", reps=20)  # doctest: +SKIP
>>> table[table.significant]                                        # doctest: +SKIP

* :func:`run` -> :class:`RunResult` (``.kpis``, ``.summary``, ``.stocks``, ``.journeys()``)
* :func:`compare` -> DataFrame, per KPI and scenario, with paired differences from the base
* :func:`sensitivity` -> DataFrame of sensitivity indices (SALib Morris or Sobol)
* :func:`warmup` -> :class:`sim.experiments.warmup.WarmupResult` (MSER-5 suggestion, series, chart)
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.experiments.progress import ProgressBar
from sim.experiments.warmup import WarmupResult

ScenarioLike = Any  # a Scenario, a scenario name, or a path to a scenario file


def as_scenario(scenario: ScenarioLike) -> Any:
    """A :class:`sim.scenario.Scenario` from a Scenario, a name or a path."""
    if hasattr(scenario, "digest") and hasattr(scenario, "values"):
        return scenario
    from sim.scenario import load_scenario

    return load_scenario(os.fspath(scenario))


def _out(out: str | os.PathLike[str] | None, label: str) -> Path:
    if out is not None:
        return Path(out)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
    return Path(tempfile.mkdtemp(prefix=f"childsim-{safe}-"))


@contextlib.contextmanager
def _backend(backend: Any, workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A backend from a name, an instance or None (closing only what it made)."""
    if backend is not None and not isinstance(backend, str):
        yield backend
        return
    from sim.experiments.backends import make_backend

    name = backend or ("dask" if scheduler else "local")
    made = make_backend(name, workers=workers, scheduler=scheduler)
    try:
        yield made
    finally:
        made.close()


def _Bar(label: str, unit: str = "rep") -> ProgressBar:  # noqa: N802
    """A progress bar for ``progress(done, total)`` callbacks (shown after a second)."""
    return ProgressBar(label, sys.stderr, unit=unit, auto=True)


@contextlib.contextmanager
def _progress(on: bool, label: str, unit: str = "rep") -> Iterator[Callable[..., Any] | None]:
    if not on:
        yield None
        return
    bar = _Bar(label, unit)
    try:
        yield bar
    finally:
        bar.close()


# -- run -------------------------------------------------------------------------------------------


def tidy_kpis(per_rep: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """One row per replication and KPI: ``scenario``, ``rep``, ``kpi``, ``value``.

    Rows are ordered by replication, then by KPI in the order of ``per_rep``'s columns.
    """
    wide = per_rep.copy()
    wide.index = wide.index.rename("rep")
    wide.columns = [str(c) for c in wide.columns]
    long = wide.reset_index().melt(id_vars="rep", var_name="kpi", value_name="value")
    long = long.sort_values("rep", kind="stable").reset_index(drop=True)
    long.insert(0, "scenario", scenario)
    long["rep"] = long["rep"].astype(int)
    long["value"] = long["value"].astype(float)
    return long[["scenario", "rep", "kpi", "value"]]


@dataclass
class RunResult:
    """Replications of one scenario, as returned by :func:`run`.

    Attributes
    ----------
    scenario : Scenario
    out_dir : Path
        The result directory (records, manifest, summary).
    kpis : DataFrame
        Tidy: one row per replication and KPI, columns ``scenario``, ``rep``, ``kpi``,
        ``value``.
    summary : DataFrame
        Indexed by KPI: ``mean``, ``ci_low``, ``ci_high``, ``half_width``, ``n`` (95% t
        interval over replications) and ``unit``.
    decision : Decision or None
        The replication rule's decision with ``reps="auto"``.
    experiment : ExperimentResult
        The underlying result (``per_rep``: one column per KPI).
    """

    scenario: Any
    out_dir: Path
    kpis: pd.DataFrame
    summary: pd.DataFrame
    experiment: Any
    decision: Any = None
    _stocks: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def per_rep(self) -> pd.DataFrame:
        """Wide KPIs: one row per replication (index ``rep``), one column per KPI."""
        return self.experiment.per_rep

    @property
    def stocks(self) -> pd.DataFrame:
        """Monthly stocks, wide: columns ``rep``, ``month``, ``time`` (days), then each stock."""
        if self._stocks is None:
            s = self.experiment.stocks()
            first = [c for c in ("rep", "month", "time") if c in s.columns]
            s = s[first + [c for c in s.columns if c not in first]]
            self._stocks = s.sort_values(first[:2] or first).reset_index(drop=True)
        return self._stocks

    def journeys(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The journey log of every replication (optionally only some ``columns``)."""
        return self.experiment.journeys(columns)


def _with_units(summary: pd.DataFrame) -> pd.DataFrame:
    try:
        from sim.outputs.kpis import KPIS
    except ImportError:
        KPIS = {}
    out = summary.copy()
    out["unit"] = [KPIS[k].unit if k in KPIS else "" for k in out.index]
    return out


def run(
    scenario: ScenarioLike = "baseline",
    *,
    reps: int | str = 10,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    seed: int = 1,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    backend: Any = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    kpi: str | None = None,
    precision: float = 0.05,
    max_reps: int = 50,
    look_ahead: int = 5,
    progress: bool = False,
    reform_start: str = "window",
    log_warmup: bool = False,
) -> RunResult:
    """Run replications of a scenario (``childsim run``).

    Parameters
    ----------
    scenario : name, path or Scenario.
    reps : replications, or ``"auto"``: until ``kpi``'s 95% CI is within ``precision``
        of its mean (Hoad, Robinson and Davies 2010), at most ``max_reps``.
    years, warmup : measured years and warm-up years (of 365.25 days).
    seed : base seed (replication ``r`` uses ``SeedSequence(seed, spawn_key=(r, ...))``).
    out : result directory (None: a new temporary directory).
    workers : local processes (None: all cores), or workers of a local Dask cluster.
    backend : ``"local"``, ``"dask"`` or a backend object (see :mod:`sim.experiments.backends`).
    scheduler : a Dask scheduler address (implies ``backend="dask"``).
    resume : keep replications already finished in ``out``.
    overwrite : replace an earlier run's results in ``out`` (only the files its manifest
        owns are removed); without it or ``resume``, a directory holding results is refused.
    progress : show a progress bar (after a second).
    reform_start : ``"window"`` (default): a reform's changes from the baseline begin at
        the start of the measured window, on the settled baseline; ``"run"``: from the
        start of the run (its long-run state).
    log_warmup : keep the warm-up in the journey log (default: the measured window only).

    Examples
    --------
    >>> res = run("baseline", reps=5, years=1, warmup=0.5)          # doctest: +SKIP
    >>> res.summary.loc["cin_open", ["mean", "ci_low", "ci_high"]]  # doctest: +SKIP
    >>> res.kpis.query("kpi == 'referrals_per_year'")             # doctest: +SKIP
    >>> res.stocks.groupby("month")["cin_open"].mean().plot()     # doctest: +SKIP
    """
    from sim.experiments.replications import run_to_precision
    from sim.experiments.runs import run_experiment

    sc = as_scenario(scenario)
    out_dir = _out(out, sc.name)
    decision = None
    with _backend(backend, workers, scheduler) as be, _progress(progress, sc.name) as bar:
        common = dict(seed=seed, years=years, warmup=warmup, out_dir=out_dir, resume=resume,
                      overwrite=overwrite, reform_start=reform_start, log_warmup=log_warmup,
                      backend=be, progress=bar, command="sim.api.run")
        if reps == "auto":
            if kpi is None:
                raise ValueError('reps="auto" needs kpi=NAME')
            result, decision = run_to_precision(sc, kpi=kpi, precision=precision,
                                                max_reps=max_reps, look_ahead=look_ahead,
                                                **common)
        else:
            result = run_experiment(sc, reps=int(reps), **common)
    return RunResult(sc, out_dir, tidy_kpis(result.per_rep, sc.name),
                     _with_units(result.summary), result, decision)


# -- compare ---------------------------------------------------------------------------------------


def compare(
    base: ScenarioLike,
    *scenarios: ScenarioLike,
    reps: int | str = 10,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    seed: int = 1,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    backend: Any = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    kpi: str | None = None,
    precision: float = 0.05,
    max_reps: int = 50,
    progress: bool = False,
    reform_start: str = "window",
    log_warmup: bool = False,
) -> pd.DataFrame:
    """Compare scenarios with ``base`` over common random numbers (``childsim compare``).

    Returns one row per KPI and scenario: ``kpi``, ``scenario``, ``is_base``, ``mean``,
    ``ci_low``, ``ci_high``, ``half_width``, ``n``, then the paired difference from the
    base ``diff``, ``diff_ci_low``, ``diff_ci_high``, ``diff_half_width``, ``n_pairs``,
    ``significant`` (its 95% CI excludes zero) and ``welch_half_width`` (the unpaired
    interval, for reference). ``table.attrs["out_dir"]`` is the comparison directory.
    Scenarios must have different names (``Scenario.with_values(..., name=...)``).
    ``reform_start`` and ``log_warmup`` are as for :func:`run`; under ``"window"``
    scenarios sharing a root run from one warm-up per replication (identical results).

    Examples
    --------
    >>> base = load_scenario("baseline")                                   # doctest: +SKIP
    >>> more = base.with_values({"front_door.staff_fte": 14}, name="more-staff")
    >>> t = compare(base, more, reps=10)                                  # doctest: +SKIP
    >>> t[t.significant][["kpi", "diff", "diff_ci_low", "diff_ci_high"]]  # doctest: +SKIP
    """
    from sim.experiments.comparison import run_comparison

    if not scenarios:
        raise ValueError("give at least one scenario to compare with the base")
    b = as_scenario(base)
    others = [as_scenario(s) for s in scenarios]
    out_dir = _out(out, f"compare-{b.name}")
    bars: list[Any] = []

    def bar(name: str) -> Any:
        if not progress:
            return None
        bars.append(_Bar(name))
        return bars[-1]

    try:
        with _backend(backend, workers, scheduler) as be:
            comp = run_comparison(b, others, reps=reps, seed=seed, years=years, warmup=warmup,
                                  out_dir=out_dir, resume=resume,
                                  overwrite=overwrite, backend=be, progress=bar,
                                  command="sim.api.compare", kpi=kpi, precision=precision,
                                  max_reps=max_reps, reform_start=reform_start,
                                  log_warmup=log_warmup)
    finally:
        for x in bars:
            x.close()
    table = comp.table.copy()
    table.attrs["out_dir"] = os.fspath(out_dir)
    table.attrs["reps"] = comp.reps
    return table


# -- sensitivity -----------------------------------------------------------------------------------


def sensitivity(
    scenario: ScenarioLike = "baseline",
    *,
    method: str = "morris",
    kpis: Sequence[str] = ("referrals_per_year",),
    samples: int = 10,
    params: Sequence[str] | None = None,
    reps: int = 1,
    years: float = 5.0,
    warmup: float = DEFAULT_WARMUP_YEARS,
    seed: int = 1,
    levels: int = 4,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    backend: Any = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    charts: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Sensitivity indices over the plausible parameter ranges (``childsim sensitivity``).

    Returns one row per KPI and parameter, most influential first: ``kpi``, ``param`` and,
    for Morris, ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``; for Sobol ``S1``,
    ``S1_conf``, ``ST``, ``ST_conf`` (``*_conf``: 95% bootstrap half-widths).
    ``attrs["out_dir"]`` is the result directory, ``attrs["samples"]`` the sample points
    with their KPI values.

    Examples
    --------
    >>> idx = sensitivity("baseline", method="morris", kpis=["cin_open"], samples=10,
    ...                   params=["front_door.staff_fte", "workforce.posts_fte"])  # doctest: +SKIP
    >>> idx.head()                                                                # doctest: +SKIP
    """
    from sim.experiments.sensitivity import run_sensitivity

    sc = as_scenario(scenario)
    out_dir = _out(out, f"sensitivity-{sc.name}-{method}")
    with _backend(backend, workers, scheduler) as be, \
            _progress(progress, sc.name, "run") as bar:
        res = run_sensitivity(sc, method=method, kpis=list(kpis), samples=samples,
                              params=params, reps=reps, seed=seed, years=years, warmup=warmup,
                              out_dir=out_dir, levels=levels, resume=resume,
                              overwrite=overwrite, backend=be,
                              progress=bar, command="sim.api.sensitivity", charts=charts)
    table = res.indices.copy()
    table.attrs["out_dir"] = os.fspath(out_dir)
    table.attrs["samples"] = res.samples
    table.attrs["charts"] = {k: os.fspath(v) for k, v in res.charts.items()}
    return table


# -- warmup ----------------------------------------------------------------------------------------


def warmup(
    scenario: ScenarioLike = "baseline",
    *,
    stock: str = "cin_open",
    reps: int = 5,
    years: float = 30.0,
    seed: int = 1,
    out: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    backend: Any = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    chart: bool = True,
    progress: bool = False,
) -> WarmupResult:
    """Suggest a warm-up by MSER-5 on a monthly stock (``childsim warmup``).

    Runs ``reps`` replications of ``years`` with no warm-up, averages ``stock`` by month
    and applies MSER-5. The result has ``months``, ``years``, ``reliable``, the ``series``
    (month, time, mean, one column per replication) and ``chart`` (a PNG).

    Examples
    --------
    >>> w = warmup("baseline", stock="cin_open")       # doctest: +SKIP
    >>> w.months, round(w.years, 2)                    # doctest: +SKIP
    """
    from sim.experiments.warmup import suggest_warmup

    sc = as_scenario(scenario)
    out_dir = _out(out, f"warmup-{sc.name}")
    with _backend(backend, workers, scheduler) as be, _progress(progress, sc.name) as bar:
        return suggest_warmup(sc, stock=stock, reps=reps, years=years, seed=seed,
                              out_dir=out_dir, backend=be, resume=resume,
                              overwrite=overwrite, progress=bar,
                              chart=chart, command="sim.api.warmup")


__all__ = [
    "RunResult",
    "WarmupResult",
    "as_scenario",
    "compare",
    "run",
    "sensitivity",
    "tidy_kpis",
    "warmup",
]
