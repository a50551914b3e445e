"""The Python interface for notebooks: the ``childsim`` commands as functions.

Each function takes a scenario as a name (``"baseline"``), a path to a TOML file, or a
:class:`sim.scenario.Scenario` (e.g. ``load_scenario("baseline").with_values({...})``),
runs on the same backends as the command line and returns pandas objects with numeric
columns. With ``out=DIR`` it writes the same result directory as the command; with
``out=None`` (the default) the records go to a temporary directory that belongs to the
result: :func:`run`'s is removed when the result is closed (``res.close()``, or a ``with``
block) or garbage-collected, or at the latest when Python exits; the others' as soon as
the function returns (``res.save(DIR)`` keeps a run's records). A progress bar is shown
in a notebook or a terminal by default (``progress=False`` hides it).

>>> import sim                                                      # doctest: +SKIP
>>> res = sim.run("baseline", reps=10)                              # doctest: +SKIP
>>> res.summary.loc["referrals_per_year"]                          # doctest: +SKIP
>>> table = sim.compare("baseline", "more-health-visitors", reps=20)  # doctest: +SKIP
>>> table[table.significant]                                        # doctest: +SKIP

* :func:`run` -> :class:`RunResult` (``.kpis``, ``.summary``, ``.stocks``, ``.journeys()``,
  ``.event_counts()``; :func:`load` re-opens a result directory)
* :func:`compare` -> DataFrame, per KPI and scenario, with paired differences from the base
* :func:`sensitivity` -> DataFrame of sensitivity indices (SALib Morris or Sobol)
* :func:`warmup` -> :class:`sim.experiments.warmup.WarmupResult` (MSER-5 suggestion, series, chart)
* :func:`parameters` -> DataFrame of every parameter: value, unit, ranges, role, source
* :func:`sensitivity_plan` -> the runs a sensitivity analysis needs and a time estimate
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS, YEAR, Window
from sim.experiments.progress import ProgressBar
from sim.experiments.warmup import WarmupResult

ScenarioLike = Any  # a Scenario, a scenario name, or a path to a scenario file


def as_scenario(scenario: ScenarioLike) -> Any:
    """A :class:`sim.scenario.Scenario` from a Scenario, a name or a path."""
    if hasattr(scenario, "digest") and hasattr(scenario, "values"):
        return scenario
    from sim.scenario import load_scenario

    return load_scenario(os.fspath(scenario))


class _Scratch:
    """A temporary result directory that belongs to a result object: removed by
    :meth:`close`, when the owner is garbage-collected, or when Python exits."""

    def __init__(self, label: str) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        self.path = Path(tempfile.mkdtemp(prefix=f"childsim-{safe}-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def close(self) -> None:
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive


@contextlib.contextmanager
def _scratch_or(out: str | os.PathLike[str] | None, label: str
                ) -> Iterator[tuple[Path, _Scratch | None]]:
    """``out``, or a temporary directory removed if the body fails."""
    if out is not None:
        yield Path(out), None
        return
    scratch = _Scratch(label)
    try:
        yield scratch.path, scratch
    except BaseException:
        scratch.close()
        raise


def _show_progress(progress: bool | None) -> bool:
    """``progress``, or by default: in a Jupyter kernel or when standard error is a terminal."""
    if progress is not None:
        return bool(progress)
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        try:
            shell = ipython.get_ipython()
        except Exception:  # noqa: BLE001 - any failure means "not in a kernel"
            shell = None
        if shell is not None and getattr(shell, "kernel", None) is not None:
            return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with object columns that hold only numbers (or missing values) converted
    to numbers, and flag columns to bool."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            values = out[col].dropna()
            if len(values) and all(isinstance(v, bool) for v in values):
                out[col] = out[col].astype(bool)
            elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out


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
def _progress(on: bool | None, label: str, unit: str = "rep"
              ) -> Iterator[Callable[..., Any] | None]:
    if not _show_progress(on):
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


WINDOWS: tuple[str, ...] = ("measured", "warmup", "all")


@dataclass
class RunResult:
    """Replications of one scenario, as returned by :func:`run` and :func:`load`.

    Attributes
    ----------
    scenario : Scenario
    out_dir : Path
        The result directory (records, manifest, summary); with ``out=None`` a temporary
        one that :meth:`close` removes (:meth:`save` keeps a copy).
    kpis : DataFrame
        Tidy: one row per replication and KPI, columns ``scenario``, ``rep`` (int),
        ``kpi``, ``value`` (float).
    summary : DataFrame
        Indexed by KPI: ``mean``, ``ci_low``, ``ci_high``, ``half_width`` (floats), ``n``
        (int) (95% t interval over replications) and ``unit``.
    decision : Decision or None
        The replication rule's decision with ``reps="auto"``.
    experiment : ExperimentResult
        The underlying result (``per_rep``: one column per KPI).

    The journey log is read from disk on demand (:meth:`journeys`, :meth:`event_counts`),
    by default only its measured window (after the warm-up), which is what the KPIs
    count; the monthly :attr:`stocks` are read once and kept.
    """

    scenario: Any
    out_dir: Path
    kpis: pd.DataFrame
    summary: pd.DataFrame
    experiment: Any
    decision: Any = None
    _stocks: pd.DataFrame | None = field(default=None, repr=False)
    _scratch: _Scratch | None = field(default=None, repr=False)

    # -- the temporary directory ---------------------------------------------------------------

    @property
    def temporary(self) -> bool:
        """Whether the records live in a temporary directory that :meth:`close` removes."""
        return self._scratch is not None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` removed the records (the KPIs and stocks stay)."""
        return self._scratch is not None and self._scratch.closed

    def close(self) -> None:
        """Remove the temporary records (``out=None``); a result directory given as ``out``
        is left alone. The KPIs, summary and stocks stay available."""
        if self._scratch is not None:
            _ = self.stocks  # kept in memory
            self._scratch.close()

    def __enter__(self) -> RunResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Copy the result directory to ``path`` (which must not exist yet): what
        ``childsim report`` and :func:`load` read."""
        self._check_open()
        target = Path(path)
        if target.exists():
            raise FileExistsError(f"{target} exists already: give a new directory")
        shutil.copytree(self.out_dir, target, ignore=shutil.ignore_patterns(".childsim.lock"))
        return target

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("the temporary records of this result were removed by close(); "
                             "run with out=DIR (or call save(DIR) before closing) to keep them")

    # -- the records -----------------------------------------------------------------------------

    @property
    def per_rep(self) -> pd.DataFrame:
        """Wide KPIs: one row per replication (index ``rep``), one column per KPI."""
        return self.experiment.per_rep

    @property
    def window(self) -> Window:
        """The measured window (days since the start of the run) the KPIs count."""
        m = getattr(self.experiment, "manifest", None) or {}
        return Window.from_years(float(m.get("warmup_years", 0.0)), float(m.get("years", 0.0)))

    @property
    def stocks(self) -> pd.DataFrame:
        """Monthly stocks of every month (warm-up included), wide: columns ``rep``,
        ``month``, ``time`` (days), then each stock; :meth:`in_window` keeps the measured
        months."""
        if self._stocks is None:
            self._check_open()
            s = self.experiment.stocks()
            first = [c for c in ("rep", "month", "time") if c in s.columns]
            s = s[first + [c for c in s.columns if c not in first]]
            self._stocks = s.sort_values(first[:2] or first).reset_index(drop=True)
        return self._stocks

    def in_window(self, frame: pd.DataFrame, window: str = "measured") -> pd.DataFrame:
        """The rows of ``frame`` (with a ``time`` column in days) in the ``measured``
        window, the ``warmup`` before it, or ``all``."""
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
        if window == "all":
            return frame
        w = self.window
        t = frame["time"]
        keep = (t >= w.start) & (t < w.end) if window == "measured" else t < w.start
        return frame[keep]

    def journeys(self, columns: Sequence[str] | None = None, *,
                 window: str = "measured") -> pd.DataFrame:
        """The journey log of every replication, optionally only some ``columns``.

        ``window``: ``"measured"`` (default: the events the KPIs count, after the
        warm-up), ``"warmup"`` or ``"all"``. So ``journeys(["rep", "event"])`` counted per
        replication gives the KPIs' counts (see :meth:`event_counts`).
        """
        self._check_open()
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
        if window == "all":
            return self.experiment.journeys(columns)
        import pyarrow.compute as pc

        w = self.window
        t = pc.field("time")
        cond = ((t >= w.start) & (t < w.end)) if window == "measured" else (t < w.start)
        table = self.experiment.journey_dataset().to_table(
            columns=None if columns is None else list(columns), filter=cond)
        return table.to_pandas().reset_index(drop=True)

    def event_log(self, *, window: str = "measured", start: Any = None) -> pd.DataFrame:
        """The journey log as a process-mining event table (as ``childsim export --format
        csv`` writes it): ``case:concept:name`` (``r<rep>-c<child>-e<episode>``),
        ``concept:name`` (the event), ``time:timestamp`` (a date: the measured window starts
        on ``start``, default 2010-04-01), then the journey columns; ready for
        ``pm4py.discover_petri_net_inductive`` and the like."""
        from sim.outputs.eventlog import Calendar, event_table, parse_start

        calendar = Calendar(parse_start(start), self.window.start)
        return event_table(self.journeys(window=window), calendar)

    def event_counts(self, events: Sequence[str] | str | None = None, *,
                     window: str = "measured", per_year: bool = False) -> pd.DataFrame:
        """Journey events counted per replication: index ``rep``, one column per event.

        ``events``: the events to count (default: every event in the log; names in
        :data:`sim.records.EVENTS`). ``per_year`` divides by the window's length in years,
        so ``event_counts("referral", per_year=True)["referral"]`` equals the
        ``referrals_per_year`` KPI of each replication.
        """
        from sim.records import EVENTS

        names = [events] if isinstance(events, str) else list(events or ())
        unknown = [e for e in names if e not in EVENTS]
        if unknown:
            raise ValueError(f"unknown event {', '.join(unknown)}; events: {', '.join(EVENTS)}")
        log = self.journeys(["rep", "event"], window=window)
        log["event"] = log["event"].astype(str)
        if names:
            log = log[log["event"].isin(names)]
        counts = log.groupby(["rep", "event"]).size().unstack("event", fill_value=0)
        reps = sorted(int(r) for r in self.per_rep.index)
        counts = counts.reindex(index=reps, columns=names or sorted(counts.columns),
                                fill_value=0)
        counts.index.name = "rep"
        counts.columns.name = None
        counts = counts.astype("int64")
        if per_year:
            if window == "all":
                years = self.window.end / YEAR
            elif window == "warmup":
                years = self.window.start / YEAR
            else:
                years = self.window.years
            counts = counts / years
        return counts


def _with_units(summary: pd.DataFrame) -> pd.DataFrame:
    try:
        from sim.outputs.kpis import KPIS
    except ImportError:
        KPIS = {}
    out = _numeric(summary)
    for col in ("mean", "ci_low", "ci_high", "half_width"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    if "n" in out.columns:
        out["n"] = pd.to_numeric(out["n"], errors="coerce").fillna(0).astype(int)
    out["unit"] = pd.Series([KPIS[k].unit if k in KPIS else "" for k in out.index],
                            index=out.index, dtype=str)
    return out


def _result(sc: Any, out_dir: Path, experiment: Any, decision: Any = None,
            scratch: _Scratch | None = None) -> RunResult:
    return RunResult(sc, out_dir, tidy_kpis(experiment.per_rep, sc.name),
                     _with_units(experiment.summary), experiment, decision, None, scratch)


def load(out_dir: str | os.PathLike[str]) -> RunResult:
    """Re-open a result directory written by ``childsim run`` or :func:`run` (its finished
    replications; the scenario is rebuilt from the manifest's resolved values).

    >>> res = load("results/baseline")          # doctest: +SKIP
    >>> res.summary.loc["cin_open", "mean"]      # doctest: +SKIP
    """
    from sim.outputs.results import load_result

    experiment = load_result(out_dir)
    sc = _manifest_scenario(experiment.manifest)
    experiment.scenario = sc
    return _result(sc, Path(out_dir), experiment)


def _manifest_scenario(manifest: dict[str, Any]) -> Any:
    from sim.scenario import Scenario

    entry = manifest.get("scenario") or {}
    nested = entry.get("resolved") or {}
    values: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(f"{prefix}{k}.", v)
            elif prefix:
                values[f"{prefix}{k}"] = v

    walk("", {k: v for k, v in nested.items() if isinstance(v, dict)})
    files = tuple(Path(f) for f in entry.get("files") or ())
    provenance = {k: Path(v) for k, v in (entry.get("provenance") or {}).items()}
    return Scenario(str(entry.get("name") or "result"), str(entry.get("description") or ""),
                    values, files, provenance)


def run(
    scenario: ScenarioLike = "baseline",
    *,
    params: Mapping[str, Any] | None = None,
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
    progress: bool | None = None,
    reform_start: str = "window",
    log_warmup: bool = False,
) -> RunResult:
    """Run replications of a scenario (``childsim run``).

    Parameters
    ----------
    scenario : name, path or Scenario.
    params : values to change first, as dotted keys (``{"front_door.staff_fte": 16.0}``;
        ``Scenario.with_values``, validated like a scenario file).
    reps : replications, or ``"auto"``: until ``kpi``'s 95% CI is within ``precision``
        of its mean (Hoad, Robinson and Davies 2010), at most ``max_reps``.
    years, warmup : measured years and warm-up years (of 365.25 days).
    seed : base seed (replication ``r`` uses ``SeedSequence(seed, spawn_key=(r, ...))``).
    out : result directory; None (the default): a temporary directory that belongs to the
        result, removed by ``res.close()`` (or a ``with`` block), when the result is
        garbage-collected, or when Python exits (``res.save(DIR)`` keeps a copy).
    workers : local processes (None: all cores), or workers of a local Dask cluster.
    backend : ``"local"``, ``"dask"`` or a backend object (see :mod:`sim.experiments.backends`).
    scheduler : a Dask scheduler address (implies ``backend="dask"``).
    resume : keep replications already finished in ``out``.
    overwrite : replace an earlier run's results in ``out`` (only the files its manifest
        owns are removed); without it or ``resume``, a directory holding results is refused.
    progress : show a progress bar (after a second); default: in a notebook or a terminal.
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
    if params:
        sc = sc.with_values(params, source="<params>")
    decision = None
    with _scratch_or(out, sc.name) as (out_dir, scratch), \
            _backend(backend, workers, scheduler) as be, _progress(progress, sc.name) as bar:
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
    return _result(sc, out_dir, result, decision, scratch)


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
    progress: bool | None = None,
    reform_start: str = "window",
    log_warmup: bool = False,
) -> pd.DataFrame:
    """Compare scenarios with ``base`` over common random numbers (``childsim compare``).

    Returns one row per KPI and scenario: ``kpi``, ``scenario``, ``is_base``, ``mean``,
    ``ci_low``, ``ci_high``, ``half_width``, ``n``, then the paired difference from the
    base ``diff``, ``diff_ci_low``, ``diff_ci_high``, ``diff_half_width``, ``n_pairs``,
    ``significant`` (its 95% CI excludes zero) and ``welch_half_width`` (the unpaired
    interval, for reference). ``table.attrs["out_dir"]`` is the comparison directory
    (None with ``out=None``: the runs were in a temporary directory, removed before this
    returns). Scenarios must have different names (``Scenario.with_values(..., name=...)``).
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
    bars: list[Any] = []
    show = _show_progress(progress)

    def bar(name: str) -> Any:
        if not show:
            return None
        bars.append(_Bar(name))
        return bars[-1]

    with _scratch_or(out, f"compare-{b.name}") as (out_dir, scratch):
        try:
            with _backend(backend, workers, scheduler) as be:
                comp = run_comparison(b, others, reps=reps, seed=seed, years=years,
                                      warmup=warmup, out_dir=out_dir, resume=resume,
                                      overwrite=overwrite, backend=be, progress=bar,
                                      command="sim.api.compare", kpi=kpi, precision=precision,
                                      max_reps=max_reps, reform_start=reform_start,
                                      log_warmup=log_warmup)
        finally:
            for x in bars:
                x.close()
        if scratch is not None:
            scratch.close()
    table = _numeric(comp.table)
    table.attrs["out_dir"] = None if scratch is not None else os.fspath(out_dir)
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
    progress: bool | None = None,
) -> pd.DataFrame:
    """Sensitivity indices over the plausible parameter ranges (``childsim sensitivity``).

    Varies the policy levers by default (``params``: dotted keys, section names or the
    groups ``levers``, ``behaviour``, ``size``, ``initial``, ``all``; see
    :func:`sim.experiments.sensitivity.sensitivity_parameters`). Before it starts it
    writes the number of runs and a rough time estimate to standard error
    (:func:`sensitivity_plan` gives them without running).

    Returns one row per KPI and parameter, most influential first: ``kpi``, ``param`` and,
    for Morris, ``mu_star``, ``mu_star_conf``, ``sigma``, ``mu``; for Sobol ``S1``,
    ``S1_conf``, ``ST``, ``ST_conf`` (``*_conf``: 95% bootstrap half-widths).
    ``attrs["out_dir"]`` is the result directory (None with ``out=None``),
    ``attrs["samples"]`` the sample points with their KPI values, ``attrs["charts"]`` the
    chart files (with ``out``); :func:`sensitivity_chart` draws one as a figure.

    Examples
    --------
    >>> idx = sensitivity("baseline", method="morris", kpis=["cin_open"], samples=10,
    ...                   params=["front_door.staff_fte", "workforce.posts_fte"])  # doctest: +SKIP
    >>> idx.head()                                                                # doctest: +SKIP
    """
    from sim.experiments.backends import default_workers
    from sim.experiments.sensitivity import run_sensitivity

    sc = as_scenario(scenario)
    with _backend(backend, workers, scheduler) as be:
        n_workers = getattr(be, "workers", None) or workers or default_workers()
        plan = sensitivity_plan(sc, method=method, samples=samples, params=params, reps=reps,
                                years=years, warmup=warmup, workers=n_workers)
        sys.stderr.write(f"{plan}\n")
        sys.stderr.flush()
        with _scratch_or(out, f"sensitivity-{sc.name}-{method}") as (out_dir, scratch), \
                _progress(progress, sc.name, "run") as bar:
            res = run_sensitivity(sc, method=method, kpis=list(kpis), samples=samples,
                                  params=params, reps=reps, seed=seed, years=years,
                                  warmup=warmup, out_dir=out_dir, levels=levels, resume=resume,
                                  overwrite=overwrite, backend=be, progress=bar,
                                  command="sim.api.sensitivity",
                                  charts=charts and scratch is None)
            if scratch is not None:
                scratch.close()
    table = _numeric(res.indices)
    table.attrs["out_dir"] = None if scratch is not None else os.fspath(out_dir)
    table.attrs["samples"] = res.samples
    table.attrs["method"] = method
    table.attrs["scenario"] = sc.name
    table.attrs["charts"] = {k: os.fspath(v) for k, v in res.charts.items()}
    return table


def sensitivity_plan(scenario: ScenarioLike = "baseline", *, method: str = "morris",
                     samples: int = 10, params: Sequence[str] | None = None, reps: int = 1,
                     years: float = 5.0, warmup: float = DEFAULT_WARMUP_YEARS,
                     workers: int | None = None) -> Any:
    """What :func:`sensitivity` would run, without running it: the parameters varied
    (``.params``), ``.points``, ``.runs`` and ``.seconds`` (a rough estimate on
    ``workers``; ``str()`` says it in words)."""
    from sim.experiments.sensitivity import plan_sensitivity

    return plan_sensitivity(as_scenario(scenario), method=method, samples=samples,
                            params=params, reps=reps, years=years, warmup=warmup,
                            workers=workers)


def sensitivity_chart(table: pd.DataFrame, kpi: str | None = None, *, top: int = 20) -> Any:
    """The chart of one KPI's indices from :func:`sensitivity`'s table, as a matplotlib
    Figure (Morris: mu* against sigma; Sobol: ST and S1 bars)."""
    from sim.experiments.sensitivity import figure

    method = "morris" if "mu_star" in table.columns else "sobol"
    kpi = kpi if kpi is not None else str(table["kpi"].iloc[0])
    return figure(table[table["kpi"] == kpi], method, kpi,
                  scenario=str(table.attrs.get("scenario", "")), top=top)


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
    progress: bool | None = None,
) -> WarmupResult:
    """Suggest a warm-up by MSER-5 on a monthly stock (``childsim warmup``).

    Runs ``reps`` replications of ``years`` with no warm-up, averages ``stock`` by month
    and applies MSER-5. The result has ``months``, ``years``, ``reliable``, the ``series``
    (month, time, mean, one column per replication), ``figure()`` (the chart) and, with
    ``out``, ``chart`` (its PNG file). With ``out=None`` the runs are removed before this
    returns.

    Examples
    --------
    >>> w = warmup("baseline", stock="cin_open")       # doctest: +SKIP
    >>> w.months, round(w.years, 2)                    # doctest: +SKIP
    """
    from sim.experiments.warmup import suggest_warmup

    sc = as_scenario(scenario)
    with _scratch_or(out, f"warmup-{sc.name}") as (out_dir, scratch), \
            _backend(backend, workers, scheduler) as be, _progress(progress, sc.name) as bar:
        result = suggest_warmup(sc, stock=stock, reps=reps, years=years, seed=seed,
                                out_dir=out_dir, backend=be, resume=resume,
                                overwrite=overwrite, progress=bar,
                                chart=chart and scratch is None, command="sim.api.warmup")
        if scratch is not None:
            scratch.close()
            result.out_dir = None
    return result


# -- parameters ------------------------------------------------------------------------------------


def parameters(section: str | None = None, *, scenario: ScenarioLike = "baseline",
               levers: bool = False) -> pd.DataFrame:
    """Every parameter, one row each: ``key``, ``section``, ``value`` (in ``scenario``),
    ``unit``, ``kind``, ``low``/``high`` (allowed), ``plausible_low``/``plausible_high``
    (what sensitivity analysis and calibration explore), ``role`` (``lever``, ``size``,
    ``initial``, ``behaviour``, ``switch``, ``shock``), ``lever``, ``calibrated``,
    ``description``, ``source`` (the source or assumption written beside the value) and
    ``file``. ``section`` keeps one section, ``levers`` only the policy levers
    (``childsim params``).

    >>> p = parameters("front_door")                          # doctest: +SKIP
    >>> p[p.lever][["key", "value", "unit", "plausible_low", "plausible_high"]]  # doctest: +SKIP
    """
    from sim.parameters import table

    return table(section, scenario=as_scenario(scenario), levers=levers)


__all__ = [
    "RunResult",
    "WarmupResult",
    "as_scenario",
    "compare",
    "load",
    "parameters",
    "run",
    "sensitivity",
    "sensitivity_chart",
    "sensitivity_plan",
    "tidy_kpis",
    "warmup",
]
