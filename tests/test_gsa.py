"""Sensitivity analysis (SALib Morris and Sobol) over the schema's plausible ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fakes import CALLS_ENV, staff_simulate

from sim import cli
from sim.clock import DEFAULT_WARMUP_YEARS
from sim.experiments import sensitivity as gsa
from sim.experiments.runs import ExperimentError
from sim.parameters import SCHEMA
from sim.scenario import load_scenario

PARAMS = ["front_door.staff_fte", "population.complexity_sigma"]
FAKE = dict(years=1.0, warmup=0.0, workers=1, simulate=staff_simulate)


@pytest.fixture(scope="module")
def baseline():
    return load_scenario("baseline")


def test_parameters_from_the_schema() -> None:
    every = gsa.sensitivity_parameters()
    assert every and all(p.kind in (int, float) and p.plausible for p in every.values())
    assert list(every) == [k for k in SCHEMA if k in every]  # schema order
    # by default the policy levers only: never the size or the starting state
    assert all(p.role == "lever" for p in every.values())
    assert {"front_door.staff_fte", "workforce.posts_fte",
            "time.recording_per_direct_hour"} <= set(every)
    for key in ("population.child_population", "protection.initial_cin_plans",
                "population.concern_rate_tier2"):
        assert key not in every
    # named, they are varied
    assert "population.child_population" in gsa.sensitivity_parameters(["size"])
    initial = set(gsa.sensitivity_parameters(["initial"]))
    assert {"protection.initial_looked_after", "protection.initial_cin_plans",
            "protection.initial_cp_plans", "protection.initial_assessments",
            "protection.initial_s47", "court.initial_proceedings", "early_help.initial",
            "pressure.initial_prescription"} <= initial
    assert all(SCHEMA[k].role == "initial" for k in initial)
    everything = gsa.sensitivity_parameters(["all"])
    assert set(every) < set(everything) and "population.child_population" in everything
    front = gsa.sensitivity_parameters(["front_door"])
    assert front and all(k.startswith("front_door.") for k in front)
    assert set(gsa.sensitivity_parameters(PARAMS[::-1])) == set(PARAMS)
    with pytest.raises(gsa.SensitivityError, match="unknown parameter"):
        gsa.sensitivity_parameters(["front_door.nope"])
    no_range = next(k for k, p in SCHEMA.items() if p.plausible is None)
    with pytest.raises(gsa.SensitivityError, match="no plausible range"):
        gsa.sensitivity_parameters([no_range])
    prob = gsa.problem(gsa.sensitivity_parameters(PARAMS))
    bounds = dict(zip(prob["names"], prob["bounds"], strict=True))
    assert bounds["front_door.staff_fte"] == list(SCHEMA["front_door.staff_fte"].plausible)


def test_point_values_round_ints_and_stay_allowed() -> None:
    params = gsa.sensitivity_parameters(["population.child_population",
                                         "front_door.staff_fte"])
    values = gsa.point_values(params, [20_000.6, 7.25])
    assert values == {"population.child_population": 20_001, "front_door.staff_fte": 7.25}
    assert isinstance(values["population.child_population"], int)


def test_morris_finds_the_parameter_that_matters(tmp_path: Path, baseline) -> None:
    res = gsa.run_sensitivity(baseline, method="morris", kpis=["referrals_per_year"],
                              samples=4, params=PARAMS, out_dir=tmp_path, **FAKE)
    idx = res.indices.set_index("param")
    assert list(res.indices.columns) == ["kpi", "param", "mu_star", "mu_star_conf", "sigma",
                                         "mu"]
    lo, hi = SCHEMA["front_door.staff_fte"].plausible
    # referrals = 10 * staff: every elementary effect over the range is about 10 * (hi - lo)
    assert idx.loc["front_door.staff_fte", "mu_star"] == pytest.approx(10 * (hi - lo), rel=0.1)
    assert idx.loc["population.complexity_sigma", "mu_star"] == 0.0
    assert res.indices["param"].iloc[0] == "front_door.staff_fte"
    assert len(res.samples) == 4 * (len(PARAMS) + 1)
    for name in ("sensitivity.csv", "sensitivity.json", "samples.csv", "manifest.json"):
        assert (tmp_path / name).exists(), name
    png = tmp_path / "sensitivity-referrals_per_year.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "sensitivity.json").read_text())
    assert saved["method"] == "morris" and len(saved["indices"]) == 2
    assert len(list((tmp_path / "points").iterdir())) == len(res.samples)


def test_sobol_indices_with_intervals(tmp_path: Path, baseline) -> None:
    res = gsa.run_sensitivity(baseline, method="sobol", kpis=["referrals_per_year"],
                              samples=16, params=PARAMS, out_dir=tmp_path, **FAKE)
    idx = res.indices.set_index("param")
    assert list(res.indices.columns) == ["kpi", "param", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(res.samples) == 16 * (len(PARAMS) + 2)
    assert idx.loc["front_door.staff_fte", "ST"] == pytest.approx(1.0, abs=0.25)
    assert idx.loc["population.complexity_sigma", "ST"] == pytest.approx(0.0, abs=1e-9)
    assert (res.indices["ST_conf"] >= 0).all()
    assert (tmp_path / "sensitivity-referrals_per_year.png").exists()


def test_replications_per_point_share_seeds(tmp_path: Path, baseline,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    res = gsa.run_sensitivity(baseline, method="morris", kpis=["referrals_per_year"],
                              samples=2, params=PARAMS, reps=2, out_dir=tmp_path / "o", **FAKE)
    n_points = len(res.samples)
    names = sorted(p.name[:8] for p in calls.iterdir())
    assert names == ["rep-0000"] * n_points + ["rep-0001"] * n_points
    point = json.loads(gsa.point_path(tmp_path / "o", 0, 1).read_text())
    assert point["rep"] == 1 and point["seed"] == 1 and "front_door.staff_fte" in point["values"]


def test_resume_and_refusal(tmp_path: Path, baseline, monkeypatch: pytest.MonkeyPatch) -> None:
    kw = dict(method="morris", kpis=["referrals_per_year"], samples=2, params=PARAMS,
              out_dir=tmp_path / "o", **FAKE)
    first = gsa.run_sensitivity(baseline, **kw)
    gsa.point_path(tmp_path / "o", 1, 0).unlink()
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    again = gsa.run_sensitivity(baseline, resume=True, **kw)
    assert len(list(calls.iterdir())) == 1
    pd.testing.assert_frame_equal(first.indices, again.indices)
    with pytest.raises(ExperimentError, match="different scenario"):
        gsa.run_sensitivity(baseline, resume=True, **{**kw, "samples": 3})
    changed = baseline.with_values({"workforce.posts_fte": 150.0})
    with pytest.raises(ExperimentError, match="different scenario"):
        gsa.run_sensitivity(changed, resume=True, **kw)


def test_bad_requests(tmp_path: Path, baseline) -> None:
    with pytest.raises(gsa.SensitivityError, match="unknown method"):
        gsa.run_sensitivity(baseline, method="fast", kpis=["cin_open"], out_dir=tmp_path)
    with pytest.raises(gsa.SensitivityError, match="unknown KPI"):
        gsa.run_sensitivity(baseline, kpis=["nope"], out_dir=tmp_path)


def test_cli_sensitivity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture) -> None:
    import sim.model.simulation

    monkeypatch.setattr(sim.model.simulation, "simulate", staff_simulate)
    code = cli.main(["sensitivity", "--method", "morris", "--kpi", "referrals_per_year",
                     "--samples", "2", "--params", *PARAMS, "--years", "1", "--warmup", "0",
                     "--workers", "1", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "mu_star" in out and "front_door.staff_fte" in out
    assert (tmp_path / "sensitivity.csv").exists()
    assert cli.main(["sensitivity", "--kpi", "nope", "--out", str(tmp_path / "x")]) == 2
    assert cli.main(["sensitivity", "--kpi", "cin_open", "--params", "front_door.nope",
                     "--out", str(tmp_path / "y")]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_plan_counts_runs_and_estimates_time(baseline) -> None:
    plan = gsa.plan_sensitivity(baseline, method="morris", samples=10, years=5, warmup=16,
                                workers=2)
    levers = len(gsa.sensitivity_parameters())
    assert plan.points == 10 * (levers + 1) and plan.runs == plan.points
    assert plan.seconds == pytest.approx(
        plan.runs * (gsa.SECONDS_PER_RUN + gsa.SECONDS_PER_YEAR * 21) / 2)
    text = str(plan)
    assert f"{plan.runs:,} runs of 21 simulated years" in text and "policy levers" in text
    sobol = gsa.plan_sensitivity(baseline, method="sobol", samples=8, params=PARAMS, reps=2,
                                 workers=1)
    assert sobol.points == 8 * (2 + 2) and sobol.runs == 2 * sobol.points
    assert gsa.format_duration(30) == "30 s" and gsa.format_duration(3600 * 3 + 600) == \
        "3 h 10 min"
    # the drawn sample has the planned number of points
    prob = gsa.problem(gsa.sensitivity_parameters(PARAMS))
    assert len(gsa.draw("morris", prob, 3, seed=1)) == gsa.n_points("morris", 3, 2)
    assert len(gsa.draw("sobol", prob, 4, seed=1)) == gsa.n_points("sobol", 4, 2)


def test_cli_tells_the_plan_first(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["sensitivity", "--kpi", "cin_open", "--dry-run", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    years = int(DEFAULT_WARMUP_YEARS + 5)
    assert f"runs of {years} simulated years" in out and "about" in out and "2 workers" in out


def test_charts_leave_matplotlib_alone(tmp_path: Path, baseline) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    indices = pd.DataFrame({"kpi": "k", "param": ["a", "b"], "mu_star": [2.0, 1.0],
                            "mu_star_conf": [0.1, 0.1], "sigma": [1.0, 0.5], "mu": [2.0, 1.0]})
    fig = gsa.figure(indices, "morris", "k")
    assert type(fig).__name__ == "Figure"
    assert gsa.plot(indices, "morris", "k", tmp_path / "k.png").exists()
    assert matplotlib.get_backend() == before


def test_morris_on_the_real_model(tmp_path: Path, baseline) -> None:
    """A short real run: more front-door staff cannot matter less than nothing."""
    small = baseline.with_values({"population.child_population": 20_000})
    res = gsa.run_sensitivity(small, method="morris", kpis=["referrals_per_year", "cin_open"],
                              samples=3, params=["population.concern_rate_tier2",
                                                 "front_door.staff_fte"],
                              years=0.5, warmup=0.25, out_dir=tmp_path, workers=2)
    idx = res.indices.set_index(["kpi", "param"])
    assert idx["mu_star"].notna().all()
    # new tier-2 needs drive referrals far more than front-door staffing does
    assert idx.loc[("referrals_per_year", "population.concern_rate_tier2"), "mu_star"] > \
        idx.loc[("referrals_per_year", "front_door.staff_fte"), "mu_star"]
