"""Branching from one warm-up: exact, with common random numbers up to the branch point.

A branched scenario's records are bit-identical to a straight run of that scenario with
``start_year`` at the branch point (same seed and replication); before the branch point
every scenario's run is the root's, row for row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.clock import YEAR
from sim.experiments import branching
from sim.experiments import runs as experiment
from sim.experiments.comparison import run_comparison
from sim.outputs import files as output
from sim.scaling import scale_to_population
from sim.scenario import load_scenario

pytestmark = pytest.mark.skipif(not branching.can_branch(), reason="needs os.fork")

TINY = {"population.child_population": 20000, "workforce.posts_fte": 42.0,
        "front_door.staff_fte": 4.0, "supervision.managers": 6.0}
WARMUP, YEARS = 1.0, 0.5
NAMES = ("baseline", "flexible_assessment", "less_recording")


def _scenarios(names=NAMES, warmup=WARMUP):
    return [load_scenario(n).with_values(TINY).starting_at(warmup) for n in names]


def _files(out: Path, rep: int) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (
        output.journey_path(out, rep), output.stocks_path(out, rep),
        output.replication_path(out, rep))}


@pytest.mark.parametrize("log_warmup", [False, True])
def test_branched_is_bit_identical_to_a_straight_run_from_the_branch_point(tmp_path,
                                                                          log_warmup):
    scenarios = _scenarios()
    assert scenarios[0].before is None and scenarios[1].start_year == WARMUP
    rep, seed = 1, 11
    dirs = {s.name: tmp_path / "branched" / s.name for s in scenarios}
    kpis = branching.run_branches(scenarios[0], scenarios, rep, seed=seed,
                                  warmup_years=WARMUP, years=YEARS, out_dirs=dirs,
                                  log_warmup=log_warmup)
    assert set(kpis) == set(NAMES)
    for s in scenarios:
        straight = tmp_path / "straight" / s.name
        got = experiment.run_replication(s, rep, seed=seed, warmup_years=WARMUP, years=YEARS,
                                         out_dir=straight, log_warmup=log_warmup)
        assert got == kpis[s.name]
        assert _files(dirs[s.name], rep) == _files(straight, rep), s.name
    # the reform changed something after the branch point
    assert kpis["flexible_assessment"] != kpis["baseline"]


def test_common_random_numbers_hold_exactly_up_to_the_branch(tmp_path):
    scenarios = _scenarios()
    dirs = {s.name: tmp_path / s.name for s in scenarios}
    branching.run_branches(scenarios[0], scenarios, 0, seed=5, warmup_years=WARMUP,
                           years=YEARS, out_dirs=dirs, log_warmup=True)
    t0 = WARMUP * YEAR
    logs = {n: pq.read_table(output.journey_path(d, 0)).to_pandas() for n, d in dirs.items()}
    stocks = {n: pd.read_parquet(output.stocks_path(d, 0)) for n, d in dirs.items()}
    base = logs["baseline"]
    for name in NAMES[1:]:
        other = logs[name]
        pd.testing.assert_frame_equal(base[base.time < t0].reset_index(drop=True),
                                      other[other.time < t0].reset_index(drop=True),
                                      check_exact=True)
        before = stocks["baseline"].time < t0 - 1e-9
        pd.testing.assert_frame_equal(stocks["baseline"][before], stocks[name][before],
                                      check_exact=True)
        assert not base[base.time >= t0].reset_index(drop=True).equals(
            other[other.time >= t0].reset_index(drop=True))


def test_comparison_branches_and_records_how(tmp_path):
    base, *others = [load_scenario(n).with_values(TINY) for n in NAMES]
    kw = dict(reps=2, seed=3, years=YEARS, warmup=WARMUP, workers=2)
    branched = run_comparison(base, others, out_dir=tmp_path / "b", **kw)
    assert branched.meta["branched"] == [list(NAMES)]
    assert branched.meta["reform_start"] == "window"
    straight = run_comparison(base, others, out_dir=tmp_path / "s", branch=False, **kw)
    assert straight.meta["branched"] == []
    pd.testing.assert_frame_equal(branched.table, straight.table, check_exact=True)
    for n in NAMES:
        for rep in (0, 1):
            assert _files(tmp_path / "b" / n, rep) == _files(tmp_path / "s" / n, rep)
        manifest = json.loads((tmp_path / "b" / n / output.MANIFEST).read_text())
        assert manifest["reform_start"] == "window" and not manifest["log_warmup"]
        assert manifest["branch"]["at_years"] == WARMUP
        assert manifest["reform_start_year"] == (None if n == "baseline" else WARMUP)
    # resume: nothing left to run, same results
    again = run_comparison(base, others, out_dir=tmp_path / "b", resume=True, **kw)
    pd.testing.assert_frame_equal(branched.table, again.table, check_exact=True)


def test_reform_start_run_applies_from_the_start(tmp_path):
    base, flex = [load_scenario(n).with_values(TINY) for n in NAMES[:2]]
    kw = dict(reps=1, seed=3, years=YEARS, warmup=WARMUP, workers=1)
    run = run_comparison(base, [flex], out_dir=tmp_path / "run", reform_start="run", **kw)
    window = run_comparison(base, [flex], out_dir=tmp_path / "window", **kw)
    assert run.meta["reform_start"] == "run" and run.meta["branched"] == []
    r = run.results["flexible_assessment"].per_rep
    w = window.results["flexible_assessment"].per_rep
    assert not r.equals(w)  # a different question
    pd.testing.assert_frame_equal(run.results["baseline"].per_rep,
                                  window.results["baseline"].per_rep, check_exact=True)
    for d in ("run", "window"):
        manifest = json.loads((tmp_path / d / "flexible_assessment" / output.MANIFEST)
                              .read_text())
        assert manifest["reform_start"] == d


def test_groups_by_root_and_says_what_runs_alone():
    scenarios = _scenarios(("baseline", "flexible_assessment", "less_recording"))
    own = load_scenario("flexible_assessment_from_year_7")
    other_root = load_scenario("baseline").with_values({"front_door.staff_fte": 9.0},
                                                       name="other")
    groups, alone = branching.branch_groups([*scenarios, own, other_root], warmup=WARMUP)
    assert [[s.name for s in g] for g in groups] == [list(NAMES)]
    assert {s.name for s in alone} == {"flexible_assessment_from_year_7", "other"}
    assert branching.branch_groups(scenarios, warmup=0.0)[0] == []


def test_a_failing_branch_names_its_scenario(tmp_path, monkeypatch):
    scenarios = _scenarios(NAMES[:2])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(branching, "finish_replication", broken)
    dirs = {s.name: tmp_path / s.name for s in scenarios}
    with pytest.raises(experiment.ExperimentError, match="baseline .*exit status 1"):
        branching.run_branches(scenarios[0], scenarios, 0, seed=1, warmup_years=WARMUP,
                               years=YEARS, out_dirs=dirs)


def test_three_las_branched_on_dask_match_the_local_backend(tmp_path):
    """A small national run: 3 LAs of different sizes, 2 replications, branched, on a
    local Dask cluster, identical to the local process pool."""
    pytest.importorskip("distributed")
    from sim.experiments.backends import DaskBackend

    reforms = ("baseline", "flexible_assessment")
    las = (10_000, 20_000, 35_000)
    kw = dict(reps=2, seed=2, years=0.25, warmup=0.5)

    def national(where: str, backend) -> dict[int, object]:
        out = {}
        for children in las:
            base, *rest = [scale_to_population(load_scenario(n), children) for n in reforms]
            out[children] = run_comparison(base, rest, out_dir=tmp_path / where / str(children),
                                           backend=backend, **kw)
        return out

    local = national("local", experiment.LocalBackend(2))
    with DaskBackend(workers=2) as dask:
        remote = national("dask", dask)
    for children in las:
        assert local[children].meta["branched"] == [[f"{n}-{children}" for n in reforms]]
        pd.testing.assert_frame_equal(local[children].table, remote[children].table,
                                      check_exact=True)
        for n in reforms:
            d = f"{n}-{children}"
            for rep in (0, 1):
                assert (_files(tmp_path / "local" / str(children) / d, rep)
                        == _files(tmp_path / "dask" / str(children) / d, rep))
    sizes = [local[c].results[f"baseline-{c}"].per_rep["referrals_per_year"].mean()
             for c in las]
    assert sizes == sorted(sizes)  # bigger LAs, more referrals
