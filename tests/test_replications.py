"""The automatic replication rule (Hoad, Robinson and Davies 2010) on KPIs of known variance."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from fakes import CALLS_ENV, referrals_of, referrals_simulate
from scipy import stats

from sim.experiments.replications import assess, describe, look_ahead_length, run_to_precision
from sim.outputs import files as output
from sim.scenario import load_scenario

#: 110, 90, 110, ... (mean 100, sd about 10).
ALTERNATING = np.array([referrals_of(r) for r in range(60)], dtype=float)


def _relative_half_width(x: np.ndarray) -> float:
    n = x.size
    return stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n) / abs(x.mean())


def test_first_crossing_worked_by_hand() -> None:
    # n = 17: mean 100.588, s 10.29, t(16) 2.120 -> half-width 5.29, 5.26% of the mean;
    # n = 18: mean 100, s 10.29, t(17) 2.110 -> 5.12%; n = 19: mean 100.526, s 10.26,
    # t(18) 2.101 -> 4.95, 4.92% of the mean: the first n within 5%.
    assert _relative_half_width(ALTERNATING[:17]) > 0.05
    assert _relative_half_width(ALTERNATING[:18]) > 0.05
    assert _relative_half_width(ALTERNATING[:19]) <= 0.05
    for n in range(3, 19):
        d = assess(ALTERNATING[:n], 0.05, look_ahead=0)
        assert not d.done and d.n_solution is None, n
    d = assess(ALTERNATING[:19], 0.05, look_ahead=0)
    assert d.done and d.converged and d.n_solution == 19 and d.n_used == 19
    assert d.relative_half_width == pytest.approx(_relative_half_width(ALTERNATING[:19]))
    # more values than needed: the rule still stops at 19
    assert assess(ALTERNATING, 0.05, look_ahead=0).n_solution == 19


def test_look_ahead_confirms_the_solution() -> None:
    # the precision holds from 19 on, so with k = 5 the rule reads 19 + 5 = 24 values
    for n in range(19, 24):
        d = assess(ALTERNATING[:n], 0.05)
        assert not d.done and d.n_solution == 19 and d.n_next == 24
    d = assess(ALTERNATING[:24], 0.05)
    assert d.done and d.converged and (d.n_solution, d.n_used) == (19, 24)
    assert [t[0] for t in d.trace] == list(range(3, 25))


def test_look_ahead_drops_a_candidate_that_does_not_hold() -> None:
    values = ALTERNATING.copy()
    values[20] = 160.0  # an outlier inside the look-ahead of 19
    expected = next(n for n in range(21, 60) if all(
        _relative_half_width(values[:m]) <= 0.05 for m in range(n, n + 6)))
    d = assess(values, 0.05)
    assert d.done and d.converged and d.n_solution == expected > 21
    assert d.n_used == expected + 5


def test_cap_without_convergence() -> None:
    d = assess(ALTERNATING, 0.001, max_reps=30)
    assert d.done and not d.converged and d.n_solution is None and d.n_used == 30
    d = assess(ALTERNATING[:10], 0.001, max_reps=30)
    assert not d.done and d.n_next == 11 + 5
    assert "not reached" in describe(assess(ALTERNATING, 0.001, max_reps=30), "x")


def test_constant_and_undefined_values() -> None:
    assert assess([5.0, 5.0, 5.0], 0.01, look_ahead=0).n_solution == 3
    assert assess([0.0, 0.0, 0.0], 0.01, look_ahead=0).n_solution == 3  # no spread at all
    d = assess([math.nan] * 10, 0.05, max_reps=10)
    assert d.done and not d.converged
    with pytest.raises(ValueError):
        assess([1.0], 0.0)
    with pytest.raises(ValueError):
        assess([1.0], 0.05, min_reps=1)


def test_look_ahead_length() -> None:
    assert look_ahead_length(5, 19) == 5
    assert look_ahead_length(5, 100) == 5
    assert look_ahead_length(5, 240) == 12
    assert look_ahead_length(0, 19) == 0


class _Batches:
    """An in-process backend that claims ``workers`` workers (so batches overshoot)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.maps: list[int] = []

    def map(self, fn, items):
        items = list(items)
        self.maps.append(len(items))
        for item in reversed(items):
            yield item, fn(item)


@pytest.mark.parametrize("workers", [1, 4])
def test_run_to_precision_stops_at_the_right_count(tmp_path: Path, workers: int) -> None:
    scenario = load_scenario("baseline")
    backend = _Batches(workers)
    result, decision = run_to_precision(
        scenario, kpi="referrals_per_year", precision=0.05, out_dir=tmp_path,
        backend=backend, seed=1, years=1.0, warmup=0.0, simulate=referrals_simulate,
    )
    assert decision.converged and (decision.n_solution, decision.n_used) == (19, 24)
    assert list(result.per_rep.index) == list(range(24))
    assert result.per_rep["referrals_per_year"].tolist() == ALTERNATING[:24].tolist()
    # replications beyond those the rule read (a batch overshooting) are removed
    assert sorted(output.rep_of(p) for p in (tmp_path / "replications").iterdir()) == \
        list(range(24))
    assert len(list((tmp_path / "journeys.parquet").iterdir())) == 24
    saved = json.loads((tmp_path / "precision.json").read_text())
    assert saved["kpi"] == "referrals_per_year" and saved["n_solution"] == 19
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["referrals_per_year"]["n"] == 24
    assert sum(backend.maps) >= 24


def test_run_to_precision_resume_runs_nothing_new(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario("baseline")
    kw = dict(kpi="referrals_per_year", precision=0.05, out_dir=tmp_path, workers=1, seed=1,
              years=1.0, warmup=0.0, simulate=referrals_simulate)
    first, _ = run_to_precision(scenario, **kw)
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    again, decision = run_to_precision(scenario, resume=True, **kw)
    assert list(calls.iterdir()) == []
    assert decision.n_used == 24
    assert first.per_rep.equals(again.per_rep)


def test_run_to_precision_cap(tmp_path: Path) -> None:
    result, decision = run_to_precision(
        load_scenario("baseline"), kpi="referrals_per_year", precision=0.001, max_reps=7,
        out_dir=tmp_path, workers=1, years=1.0, warmup=0.0, simulate=referrals_simulate)
    assert not decision.converged and decision.n_used == 7 and len(result.per_rep) == 7


def test_unknown_kpi(tmp_path: Path) -> None:
    from sim.experiments.runs import ExperimentError

    with pytest.raises(ExperimentError, match="unknown KPI"):
        run_to_precision(load_scenario("baseline"), kpi="nope", out_dir=tmp_path,
                         simulate=referrals_simulate)
