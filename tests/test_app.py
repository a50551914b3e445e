"""The workbench's parts without a browser: what can be chosen, the scenario file it writes,
and the runs (cache, sessions kept apart, cancel, failures in words)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fakes import failing_simulate, referrals_simulate, slow_simulate

from sim.app import choices as ch
from sim.app.jobs import CANCELLED, FAILED, FINISHED, JobManager
from sim.app.worker import rounds
from sim.parameters import SCHEMA
from sim.scenario import load_scenario


def test_levers_offer_ranges_that_hold_the_baseline_and_every_reform():
    levers = ch.levers()
    assert levers, "no policy levers"
    for lv in levers:
        p = SCHEMA[lv.key]
        if lv.kind in ("float", "int"):
            assert lv.low <= lv.baseline <= lv.high
            assert p.low is None or lv.low >= p.low
            assert p.high is None or lv.high <= p.high
    for r in ch.reforms():
        for c in r.changes:
            if any(lv.key == c.key for lv in levers):
                lv = ch.lever(c.key)
                assert lv.check(c.value) == c.value


def test_values_outside_a_lever_range_are_refused():
    lv = next(lv for lv in ch.levers() if lv.kind == "float" and lv.high is not None)
    with pytest.raises(ch.ChoiceError, match="outside the range"):
        lv.check(lv.high + 10 * (lv.step or 1))
    with pytest.raises(ch.ChoiceError):
        ch.Choice(reform="community_teams", reps=0).checked()
    with pytest.raises(ch.ChoiceError):
        ch.Choice(reform="no_such_reform").checked()


def test_reforms_carry_their_description_and_evidence():
    r = ch.reform("community_teams")
    assert r.description
    assert any(c.key == "community_team.fte" and c.reason for c in r.changes)


def test_the_scenario_file_is_what_runs(tmp_path):
    lv = ch.lever("community_team.fte")
    choice = ch.Choice(reform="community_teams", levers={lv.key: 8.5}).checked()
    scenario, text = ch.chosen_scenario(choice, tmp_path)
    assert scenario.name == "community_teams_adjusted"
    assert scenario["community_team.fte"] == 8.5
    # the downloaded file, saved anywhere, loads to the same scenario
    saved = tmp_path / "elsewhere" / "mine.toml"
    saved.parent.mkdir()
    saved.write_text(text, encoding="utf-8")
    assert load_scenario(saved).digest() == scenario.digest()
    # unchanged levers give the reform itself
    same, _ = ch.chosen_scenario(ch.Choice(reform="community_teams").checked(), tmp_path)
    assert same.digest() == load_scenario("community_teams").digest()
    with pytest.raises(ch.ChoiceError, match="nothing"):
        ch.chosen_scenario(ch.Choice(reform=None), tmp_path)


def test_rounds_show_a_first_look_then_all():
    assert rounds(10, 2) == [2, 10]
    assert rounds(2, 2) == [2]
    assert rounds(10, 1) == [2, 10]


def _wait(job, timeout=120.0):
    end = time.monotonic() + timeout
    while job.active and time.monotonic() < end:
        time.sleep(0.2)
    return job


@pytest.fixture
def scenarios(tmp_path):
    base = ch.baseline_scenario()
    alt, _ = ch.chosen_scenario(ch.Choice(reform="community_teams").checked(), tmp_path)
    return base, alt


def test_runs_are_cached_and_sessions_kept_apart(tmp_path, scenarios):
    base, alt = scenarios
    manager = JobManager(tmp_path / "ws", workers=1, simulate=referrals_simulate)
    try:
        kw = dict(reps=2, years=1.0, warmup=1.0, seed=1, reform_start=None)
        job = _wait(manager.submit(base, alt, session="a", **kw))
        assert job.state == FINISHED, job.status()
        assert job.report.is_file() and (job.views_dir / "summary.html").is_file()
        assert manager.get(job.id, "b") is None  # another session cannot read it
        t0 = time.monotonic()
        again = manager.submit(base, alt, session="b", **kw)
        assert again.state == FINISHED and time.monotonic() - t0 < 1.0
        assert again.key == job.key and again.id != job.id
        other = manager.submit(base, alt, session="c", **{**kw, "seed": 2})
        assert other.key != job.key
        manager.cancel(other.id, "c")
        _wait(other)
    finally:
        manager.close()


def test_a_failing_run_says_so_in_words(tmp_path, scenarios):
    base, alt = scenarios
    manager = JobManager(tmp_path / "ws", workers=1, simulate=failing_simulate)
    try:
        job = _wait(manager.submit(base, alt, reps=2, years=1.0, warmup=1.0, seed=1,
                                   reform_start=None, session="a"))
        assert job.state == FAILED
        assert "the model broke on purpose" in job.status()
        assert "Traceback" not in job.status()
        assert (job.root / "error.log").is_file()
    finally:
        manager.close()


def test_cancel_stops_the_run_unless_another_session_waits(tmp_path, scenarios, monkeypatch):
    monkeypatch.setenv("CHILDSIM_TEST_SLEEP", "60")
    base, alt = scenarios
    manager = JobManager(tmp_path / "ws", workers=1, simulate=slow_simulate)
    try:
        kw = dict(reps=2, years=1.0, warmup=1.0, seed=1, reform_start=None)
        job = manager.submit(base, alt, session="a", **kw)
        joined = manager.submit(base, alt, session="b", **kw)
        assert joined is job  # the same run, under way
        time.sleep(1.0)
        manager.cancel(job.id, "a")
        time.sleep(0.5)
        assert job.active  # b still waits for it
        t0 = time.monotonic()
        manager.cancel(job.id, "b")
        _wait(job, 30)
        assert job.state == CANCELLED and time.monotonic() - t0 < 20
        # the run released its directory locks: another writer can take each at once (a
        # run stopped while taking a lock may leave the file, never a held lock)
        from sim.experiments.runs import locked

        for lock in Path(job.comparison_dir).rglob(".childsim.lock"):
            with locked(lock.parent):
                pass
    finally:
        manager.close()
