"""MSER-5 warm-up: known truncation points on series with a planted initial transient."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import transient_simulate

from sim import cli
from sim.clock import MONTH
from sim.experiments import warmup as mser
from sim.scenario import load_scenario


def test_planted_transient_exact() -> None:
    # 20 observations of transient, then a steady state whose 5-batch means are all 1.4:
    # MSER(d) is 0 for every d >= 4 batches, and positive before: the cut is at 20.
    transient = [90.0, 80, 70, 60, 50, 45, 40, 35, 30, 25, 20, 18, 16, 14, 12, 10, 8, 6, 4, 3]
    y = transient + [1.0, 2, 1, 2, 1] * 16
    res = mser.mser(y)
    assert res.truncation == 20 and res.batches == 4 and res.reliable
    assert res.batch_means.size == len(y) // 5
    assert np.all(res.statistic[:4] > 0) and np.allclose(res.statistic[4:], 0)


def test_planted_transient_with_noise() -> None:
    rng = np.random.default_rng(7)
    k = np.arange(240)
    y = 100 + rng.normal(0, 1, 240) + np.where(k < 30, 40.0 * (1 - k / 30) + 15, 0.0)
    res = mser.mser(y)
    assert res.truncation in (30, 35)
    assert res.reliable


def test_no_transient_means_no_cut_and_batch_arithmetic() -> None:
    y = [3.0, 3, 3, 3, 3] * 4 + [7.0]  # an incomplete last batch is dropped
    res = mser.mser(y)
    assert res.truncation == 0 and list(res.batch_means) == [3.0] * 4
    assert mser.mser([5, 1, 5, 1], batch=1).batch_means.tolist() == [5, 1, 5, 1]


def test_statistic_matches_definition() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=50)
    res = mser.mser(y)
    z = y.reshape(10, 5).mean(axis=1)
    for d in range(9):
        tail = z[d:]
        assert res.statistic[d] == pytest.approx(((tail - tail.mean()) ** 2).sum()
                                                 / (10 - d) ** 2)


def test_rejects_short_or_missing_series() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        mser.mser(range(9))
    with pytest.raises(ValueError, match="missing"):
        mser.mser([1.0] * 9 + [np.nan] * 3)


def test_analyse_averages_replications() -> None:
    months = np.arange(1, 41)
    frames = []
    for rep in range(3):
        level = np.where(months <= 10, 50.0, 10.0) + rep  # cut after 10 months
        frames.append(pd.DataFrame({"rep": rep, "month": months, "time": months * MONTH,
                                    "cin_open": level}))
    res = mser.analyse(pd.concat(frames), "cin_open", scenario="x")
    assert res.months == 10 and res.years == pytest.approx(10 / 12)
    assert list(res.series.columns) == ["month", "time", "mean", "rep-0000", "rep-0001",
                                        "rep-0002"]
    assert res.series["mean"].iloc[0] == 51.0
    assert "10 months" in str(res)
    with pytest.raises(KeyError):
        mser.monthly_series(pd.concat(frames), "nope")


def test_suggest_warmup_writes_chart_and_files(tmp_path: Path) -> None:
    res = mser.suggest_warmup(load_scenario("baseline"), stock="cin_open", reps=2, years=8.0,
                              out_dir=tmp_path, workers=1, simulate=transient_simulate)
    assert res.months == 20 and res.reliable
    assert res.chart == tmp_path / "warmup-cin_open.png"
    assert res.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "warmup.json").read_text())
    assert saved["warmup_months"] == res.months and saved["method"] == "MSER-5"
    assert len(pd.read_csv(tmp_path / "warmup.csv")) == 96
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["warmup_years"] == 0.0 and manifest["years"] == 8.0


def test_cli_warmup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture) -> None:
    import sim.model.simulation

    monkeypatch.setattr(sim.model.simulation, "simulate", transient_simulate)
    code = cli.main(["warmup", "--stock", "cin_open", "--years", "8", "--reps", "2",
                     "--workers", "1", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "suggested warm-up:" in out and "months" in out and "years" in out
    assert "warm-up cut" in out
    assert (tmp_path / "warmup-cin_open.png").exists()
    assert cli.main(["warmup", "--stock", "nope", "--out", str(tmp_path / "n")]) == 2
    assert "no stock" in capsys.readouterr().err
