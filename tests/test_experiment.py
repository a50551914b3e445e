"""Experiments: replications written, worker-count invariance, resume and its refusal.

The model is replaced by a small deterministic fake (a top-level function, so process
pools can pickle it by reference) that emits journey batches and monthly stocks drawn
from ``numpy Generator(SeedSequence(seed, spawn_key=(rep,)))``.
"""

from __future__ import annotations

import json
import os
import sys
import types
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim.clock import MONTH, YEAR
from sim.experiments import runs as experiment
from sim.outputs import files as output
from sim.records import JOURNEY_SCHEMA, STOCK_COLUMNS
from sim.scenario import load_scenario

CALLS_ENV = "CHILDSIM_TEST_CALLS"
_DICT = pa.dictionary(pa.int8(), pa.string())
_PATH = [
    ("community", "concern", ""),
    ("front_door", "contact", ""),
    ("referral", "referral", ""),
    ("assessment", "initial_assessment_started", ""),
    ("assessment", "initial_assessment_done", "on_time"),
    ("left", "closed", ""),
]


def fake_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """Deterministic stand-in for sim.model.simulation.simulate."""
    calls = os.environ.get(CALLS_ENV)
    if calls:
        Path(calls, f"rep-{rep:04d}-{uuid.uuid4().hex}").touch()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(rep,))))
    horizon = (warmup_years + years) * YEAR
    n_children = 40
    starts = np.sort(rng.random(n_children) * horizon * 0.9)
    rows = []
    for child, t0 in enumerate(starts):
        steps = int(rng.integers(2, len(_PATH) + 1))
        t = float(t0)
        tier = int(rng.integers(0, 4))
        for stage, event, detail in _PATH[:steps]:
            rows.append((t, child, stage, event, detail, tier))
            t += float(rng.exponential(5.0))
    rows.sort(key=lambda r: r[0])
    for lo in range(0, len(rows), 25):  # several bounded batches
        chunk = rows[lo:lo + 25]
        n = len(chunk)
        journey_sink(pa.record_batch(
            [
                pa.array(np.full(n, rep), pa.int32()),
                pa.array([r[0] for r in chunk], pa.float64()),
                pa.array([r[1] for r in chunk], pa.int64()),
                pa.array(np.ones(n), pa.int32()),
                pa.array([r[2] for r in chunk]).dictionary_encode().cast(_DICT),
                pa.array([r[3] for r in chunk]).dictionary_encode().cast(_DICT),
                pa.array(np.zeros(n), pa.int32()),
                pa.array([r[5] for r in chunk], pa.int8()),
                pa.array([r[5] for r in chunk], pa.int8()),
                pa.array([r[4] for r in chunk]).dictionary_encode().cast(_DICT),
                pa.array(np.full(len(chunk), -3000.0)),  # birth (days)
                pa.array([False] * len(chunk)),
            ],
            schema=JOURNEY_SCHEMA,
        ))
    months = max(1, int(horizon / MONTH))
    stocks = {c: rng.random(months) * 10.0 for c in STOCK_COLUMNS}
    stocks["rep"] = np.full(months, rep)
    stocks["month"] = np.arange(1, months + 1)
    stocks["time"] = np.arange(1, months + 1) * MONTH
    return pd.DataFrame(stocks, columns=list(STOCK_COLUMNS))


def install_fake_model(monkeypatch: pytest.MonkeyPatch, fake=fake_simulate) -> None:
    """Replace sim.model.simulation.simulate (or provide the module if it cannot be imported)."""
    try:
        import sim.model.simulation as model
    except ImportError:
        model = types.ModuleType("sim.model.simulation")
        monkeypatch.setitem(sys.modules, "sim.model.simulation", model)
        import sim

        monkeypatch.setattr(sim, "model", model, raising=False)
    monkeypatch.setattr(model, "simulate", fake, raising=False)


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_model(monkeypatch)


@pytest.fixture(scope="module")
def baseline():
    return load_scenario("baseline")


SHORT = dict(years=0.5, warmup=0.25)


def test_run_experiment_writes_every_replication(tmp_path: Path, baseline, fake_model) -> None:
    seen = []
    res = experiment.run_experiment(
        baseline, reps=3, seed=5, out_dir=tmp_path, workers=1,
        progress=lambda done, total: seen.append((done, total)), **SHORT,
    )
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert list(res.per_rep.index) == [0, 1, 2]
    assert res.per_rep.index.name == "rep"
    for rep in range(3):
        assert output.replication_path(tmp_path, rep).exists()
        assert output.journey_path(tmp_path, rep).exists()
        assert output.stocks_path(tmp_path, rep).exists()
    complete = res.per_rep.columns[res.per_rep.notna().all()]
    assert "referrals_per_year" in complete
    assert (res.summary.loc[complete, "n"] == 3).all()
    assert {"mean", "ci_low", "ci_high", "half_width", "n"} <= set(res.summary.columns)

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["referrals_per_year"]["n"] == 3
    assert summary["referrals_per_year"]["unit"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["finished"] is not None and manifest["seed"] == 5
    assert manifest["scenario"]["digest"] == baseline.digest()

    journeys = res.journeys(columns=["rep", "event"])
    assert list(journeys.columns) == ["rep", "event"]
    assert sorted(journeys["rep"].unique()) == [0, 1, 2]
    assert sorted(res.stocks()["rep"].unique()) == [0, 1, 2]
    assert pd.read_parquet(tmp_path / "journeys.parquet").shape[0] == len(journeys)
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))


def test_results_do_not_depend_on_worker_count(tmp_path: Path, baseline, fake_model) -> None:
    one = experiment.run_experiment(baseline, reps=4, seed=11, out_dir=tmp_path / "w1",
                                    workers=1, **SHORT)
    two = experiment.run_experiment(baseline, reps=4, seed=11, out_dir=tmp_path / "w2",
                                    workers=2, simulate=fake_simulate, **SHORT)
    pd.testing.assert_frame_equal(one.per_rep, two.per_rep)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    j1 = pd.read_parquet(tmp_path / "w1" / "journeys.parquet").sort_values(["rep", "time"])
    j2 = pd.read_parquet(tmp_path / "w2" / "journeys.parquet").sort_values(["rep", "time"])
    pd.testing.assert_frame_equal(j1.reset_index(drop=True), j2.reset_index(drop=True))
    other = experiment.run_experiment(baseline, reps=4, seed=12, out_dir=tmp_path / "s12",
                                      workers=1, **SHORT)
    assert not one.per_rep.equals(other.per_rep)


def test_resume_reruns_only_missing(tmp_path: Path, baseline, fake_model,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    out = tmp_path / "out"
    first = experiment.run_experiment(baseline, reps=4, seed=3, out_dir=out, workers=1, **SHORT)
    assert len(list(calls.iterdir())) == 4
    for p in calls.iterdir():
        p.unlink()

    output.replication_path(out, 2).unlink()
    again = experiment.run_experiment(baseline, reps=4, seed=3, out_dir=out, workers=1,
                                      resume=True, **SHORT)
    assert [p.name[:8] for p in calls.iterdir()] == ["rep-0002"]
    pd.testing.assert_frame_equal(first.per_rep, again.per_rep)
    pd.testing.assert_frame_equal(first.summary, again.summary)

    # more replications: only the new ones run
    for p in calls.iterdir():
        p.unlink()
    more = experiment.run_experiment(baseline, reps=5, seed=3, out_dir=out, workers=1,
                                     resume=True, **SHORT)
    assert [p.name[:8] for p in calls.iterdir()] == ["rep-0004"]
    pd.testing.assert_frame_equal(more.per_rep.loc[:3], first.per_rep)


def test_resume_refuses_other_scenario(tmp_path: Path, baseline, fake_model) -> None:
    experiment.run_experiment(baseline, reps=2, seed=3, out_dir=tmp_path, workers=1, **SHORT)
    changed = baseline.with_values({"population.child_population": 50_000})
    with pytest.raises(experiment.ExperimentError, match="different scenario"):
        experiment.run_experiment(changed, reps=2, seed=3, out_dir=tmp_path, workers=1,
                                  resume=True, **SHORT)
    with pytest.raises(experiment.ExperimentError, match="use another --out"):
        experiment.run_experiment(baseline, reps=2, seed=4, out_dir=tmp_path, workers=1,
                                  resume=True, **SHORT)
    # the refused runs touched nothing
    assert len(list((tmp_path / "replications").iterdir())) == 2


def test_results_are_replaced_only_when_asked_and_only_ours(tmp_path: Path, baseline,
                                                            fake_model) -> None:
    experiment.run_experiment(baseline, reps=3, seed=1, out_dir=tmp_path, workers=1, **SHORT)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "replications" / "mine.txt").write_text("mine too")
    before = sorted(p.name for p in (tmp_path / "replications").iterdir())
    for kw in ({}, {"resume": True}):  # another seed: refused, with or without resume
        with pytest.raises(experiment.ExperimentError, match="--overwrite"):
            experiment.run_experiment(baseline, reps=2, seed=2, out_dir=tmp_path, workers=1,
                                      **kw, **SHORT)
    with pytest.raises(experiment.ExperimentError, match="--resume"):  # the same: refused
        experiment.run_experiment(baseline, reps=3, seed=1, out_dir=tmp_path, workers=1,
                                  **SHORT)
    assert sorted(p.name for p in (tmp_path / "replications").iterdir()) == before
    res = experiment.run_experiment(baseline, reps=2, seed=2, out_dir=tmp_path, workers=1,
                                    overwrite=True, **SHORT)
    assert sorted(p.name for p in (tmp_path / "replications").iterdir()) == [
        "mine.txt", "rep-0000.json", "rep-0001.json"]
    assert sorted(res.stocks()["rep"].unique()) == [0, 1]
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resume_with_fewer_reps_keeps_them_all(tmp_path: Path, baseline, fake_model) -> None:
    first = experiment.run_experiment(baseline, reps=4, seed=1, out_dir=tmp_path, workers=1,
                                      **SHORT)
    again = experiment.run_experiment(baseline, reps=2, seed=1, out_dir=tmp_path, workers=1,
                                      resume=True, **SHORT)
    pd.testing.assert_frame_equal(first.per_rep, again.per_rep)
    assert again.notes and "4 replications" in again.notes[0]
    assert len(list((tmp_path / "replications").glob("rep-*.json"))) == 4


def test_half_written_replication_is_ignored_then_removed(tmp_path: Path, baseline,
                                                          fake_model) -> None:
    experiment.run_experiment(baseline, reps=3, seed=1, out_dir=tmp_path, workers=1, **SHORT)
    output.replication_path(tmp_path, 1).unlink()  # interrupted before its record
    loaded = experiment.load_result(tmp_path)
    assert list(loaded.per_rep.index) == [0, 2]
    assert sorted(loaded.stocks()["rep"].unique()) == [0, 2]
    assert sorted(loaded.journeys(["rep"])["rep"].unique()) == [0, 2]
    resumed = experiment.run_experiment(baseline, reps=3, seed=1, out_dir=tmp_path,
                                        workers=1, resume=True, **SHORT)
    assert list(resumed.per_rep.index) == [0, 1, 2]


def test_a_second_writer_is_refused_at_once(tmp_path: Path, baseline, fake_model) -> None:
    import multiprocessing

    from sim.outputs.files import DirectoryLock

    ready, done = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.get_context("fork").Process(
        target=_hold_lock, args=(str(tmp_path), ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(experiment.ExperimentError, match="in use") as info:
            experiment.run_experiment(baseline, reps=1, seed=1, out_dir=tmp_path, workers=1,
                                      **SHORT)
        assert str(holder.pid) in str(info.value)
        assert not (tmp_path / "manifest.json").exists()
    finally:
        done.set()
        holder.join(30)
    with DirectoryLock(tmp_path):  # free again, and removed on release
        pass
    assert not (tmp_path / ".childsim.lock").exists()


def _hold_lock(path: str, ready, done) -> None:
    from sim.outputs.files import DirectoryLock

    with DirectoryLock(path):
        ready.set()
        done.wait(30)


def _failing_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    if rep == 1:
        raise RuntimeError("model broke")
    return fake_simulate(scenario, rep=rep, seed=seed, warmup_years=warmup_years,
                         years=years, journey_sink=journey_sink)


def test_failed_replication_leaves_no_partial_files(tmp_path: Path, baseline) -> None:
    with pytest.raises(RuntimeError, match="model broke"):
        experiment.run_experiment(baseline, reps=3, seed=1, out_dir=tmp_path, workers=1,
                                  simulate=_failing_simulate, **SHORT)
    assert output.replication_path(tmp_path, 0).exists()
    assert not output.replication_path(tmp_path, 1).exists()
    assert not output.journey_path(tmp_path, 1).exists()
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["finished"] is None


def test_local_backend_yields_items_with_results() -> None:
    got = dict(experiment.LocalBackend(1).map(abs, [-1, -2, 3]))
    assert got == {-1: 1, -2: 2, 3: 3}
    got = dict(experiment.LocalBackend(2).map(abs, [-1, -2, 3]))
    assert got == {-1: 1, -2: 2, 3: 3}
    with pytest.raises(ValueError):
        experiment.LocalBackend(0)


def test_custom_backend(tmp_path: Path, baseline, fake_model) -> None:
    class Reversed:
        def map(self, fn, items):
            for item in reversed(list(items)):
                yield item, fn(item)

    a = experiment.run_experiment(baseline, reps=3, seed=9, out_dir=tmp_path / "a",
                                  backend=Reversed(), **SHORT)
    b = experiment.run_experiment(baseline, reps=3, seed=9, out_dir=tmp_path / "b",
                                  workers=1, **SHORT)
    pd.testing.assert_frame_equal(a.per_rep, b.per_rep)


# -- interruption and resume ---------------------------------------------------------------------


class _StopAfter:
    """fake_simulate that is interrupted (as by Ctrl-C) when it reaches replication ``k``."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, scenario, *, rep, **kwargs):
        if rep == self.k:
            raise KeyboardInterrupt
        return fake_simulate(scenario, rep=rep, **kwargs)


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path: Path, baseline) -> None:
    whole = experiment.run_experiment(baseline, reps=5, seed=2, out_dir=tmp_path / "whole",
                                      workers=1, simulate=fake_simulate, **SHORT)
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        experiment.run_experiment(baseline, reps=5, seed=2, out_dir=out, workers=1,
                                  simulate=_StopAfter(3), **SHORT)
    assert sorted(p.name for p in (out / "replications").iterdir()) == [
        "rep-0000.json", "rep-0001.json", "rep-0002.json"]
    assert not (out / "summary.json").exists()
    resumed = experiment.run_experiment(baseline, reps=5, seed=2, out_dir=out, workers=1,
                                        resume=True, simulate=fake_simulate, **SHORT)
    pd.testing.assert_frame_equal(whole.per_rep, resumed.per_rep, check_exact=True)
    pd.testing.assert_frame_equal(whole.summary, resumed.summary, check_exact=True)
    assert json.loads((out / "summary.json").read_text()) == \
        json.loads((tmp_path / "whole" / "summary.json").read_text())


SMALL_TOML = 'name = "small"\ndescription = "small LA"\nbase = "baseline"\n\n' \
    "[population]\nchild_population = 20000\n"
ROOT = Path(__file__).resolve().parent.parent


def _childsim(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def test_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    """A real run killed (SIGKILL) after its first replication, then resumed with --resume,
    gives the same replications, summary and journey files as an uninterrupted run; the
    files the killed replication left behind are never read as a finished replication."""
    import subprocess
    import time

    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL_TOML)
    common = [str(scenario), "--reps", "4", "--years", "0.5", "--warmup", "0.25",
              "--workers", "1", "--quiet", "--seed", "5"]
    out = tmp_path / "killed"
    proc = subprocess.Popen(_childsim("run", *common, "--out", str(out)), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "replications").glob("rep-*.json")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.kill()
    finally:
        proc.wait(timeout=60)
    finished = sorted((out / "replications").glob("rep-*.json"))
    assert 1 <= len(finished) < 4, "the run was not cut short"
    for p in finished:  # a finished replication's file is always complete
        assert json.loads(p.read_text())["kpis"]
    assert not (out / "summary.json").exists()
    resume = subprocess.run(_childsim("run", *common, "--out", str(out), "--resume"),
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert resume.returncode == 0, resume.stderr
    whole = tmp_path / "whole"
    full = subprocess.run(_childsim("run", *common, "--out", str(whole)), cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert full.returncode == 0, full.stderr
    a, b = experiment.load_result(out), experiment.load_result(whole)
    pd.testing.assert_frame_equal(a.per_rep, b.per_rep, check_exact=True)
    assert json.loads((out / "summary.json").read_text()) == \
        json.loads((whole / "summary.json").read_text())
    for entry in (output.JOURNEYS, output.STOCKS):
        names = sorted(p.name for p in (whole / entry).iterdir())
        assert names == sorted(p.name for p in (out / entry).iterdir())
        for name in names:
            assert (out / entry / name).read_bytes() == (whole / entry / name).read_bytes()
    assert not any(p.name.startswith(".") for p in out.rglob("*"))
