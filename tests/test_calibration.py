"""Calibration and validation: honest fitting against published figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.backends import LocalBackend
from sim.experiments.calibration import calibrate, calibrated_parameters, loss, replication_kpis
from sim.experiments.validation import validate
from sim.outputs.statistics import summarise
from sim.outputs.targets import CONFIDENCE_WEIGHT, TARGET_FILES, load_targets
from sim.outputs.validation import format_table, validation_table, write_validation
from sim.parameters import SCHEMA
from sim.scaling import scale_to_population
from sim.scenario import load_scenario

SMALL = {"population.child_population": 20_000, "workforce.posts_fte": 42.0,
         "front_door.staff_fte": 4.0, "supervision.managers": 6.0,
         "court.sitting_days_per_week": 3.0}


def test_targets_ship_unchanged_with_the_package():
    shipped = load_targets()
    assert len(shipped) == 22 + 6  # england-2010-11.csv and care-flows-2010-11.csv
    assert {"referrals_per_year", "cp_plans_open", "caseload_mean"} <= set(shipped.index)
    assert {"looked_after_started_per_year", "adopted_per_year"} <= set(shipped.index)
    # byte for byte as published (../shared/calibration)
    data = Path(__file__).resolve().parents[1] / "sim" / "data" / "calibration"
    for name in TARGET_FILES:
        text = (data / name).read_text(encoding="utf-8")
        assert text.startswith("kpi,unit,per_la_value,low,high,"), name
    assert set(shipped["confidence"]) <= set(CONFIDENCE_WEIGHT)
    assert (shipped["low"] <= shipped["per_la_value"]).all()
    assert (shipped["per_la_value"] <= shipped["high"]).all()


def test_every_target_is_a_kpi_with_the_same_unit():
    from sim.outputs.kpis import KPIS

    for kpi, row in load_targets().iterrows():
        assert kpi in KPIS, kpi
        assert KPIS[kpi].unit == row["unit"], kpi


def test_calibrated_parameters_are_few_numeric_and_bounded():
    params = calibrated_parameters()
    assert 3 <= len(params) <= 15
    base = load_scenario("baseline")
    for key in params:
        p = SCHEMA[key]
        assert p.plausible is not None and p.kind in (float, int)
        assert p.plausible[0] <= base[key] <= p.plausible[1], key


def test_loss_is_zero_at_the_targets_and_weighted_by_confidence():
    targets = load_targets()
    at_target = {k: float(v) for k, v in targets["per_la_value"].items()}
    assert loss(at_target, targets) == 0.0
    one_band = dict(at_target)
    high_row = targets[targets["confidence"] == "high"].index[0]
    low_row = targets[targets["confidence"] == "low"].index[0]
    for k in (high_row, low_row):
        one_band[k] = targets.loc[k, "per_la_value"] + (
            targets.loc[k, "high"] - targets.loc[k, "low"]) / 2
    assert loss(one_band, targets) == pytest.approx(
        CONFIDENCE_WEIGHT["high"] + CONFIDENCE_WEIGHT["low"])


def test_validation_verdict_follows_the_targets_not_the_model(tmp_path):
    """Honesty: changing a target file changes the verdict but not the model's output."""
    sc = load_scenario("baseline").with_values(SMALL)
    per_rep = pd.DataFrame([replication_kpis(sc, r, seed=2, warmup=0.5, years=1.0)
                            for r in range(2)])
    summary = summarise(per_rep)
    shipped = load_targets()
    v1 = validation_table(summary, shipped)
    # a target band moved so that the model's mean lies inside it, then outside
    moved = shipped.copy()
    k = "referrals_per_year"
    m = float(summary.loc[k, "mean"])
    moved.loc[k, ["low", "per_la_value", "high"]] = [m * 0.9, m, m * 1.1]
    v_in = validation_table(summary, moved)
    moved.loc[k, ["low", "per_la_value", "high"]] = [m * 2, m * 2.5, m * 3]
    v_out = validation_table(summary, moved)
    row = {v: t.set_index("kpi").loc[k, "in_band"] for v, t in
           (("in", v_in.table), ("out", v_out.table))}
    assert row == {"in": True, "out": False}
    assert k not in v_in.failures and k in v_out.failures
    # the model's output is the same whatever the targets say
    path = tmp_path / "targets.csv"
    moved.reset_index().to_csv(path, index=False)
    again = pd.DataFrame([replication_kpis(sc, r, seed=2, warmup=0.5, years=1.0)
                          for r in range(2)])
    pd.testing.assert_frame_equal(per_rep, again)
    v_file = validation_table(summary, path)
    assert v_file.table.set_index("kpi").loc[k, "in_band"] == False  # noqa: E712
    assert list(v1.table["kpi"]) == list(shipped.index)
    text = format_table(v1.table)
    assert "referrals_per_year" in text and "band" in text
    out = write_validation(v1, tmp_path / "v")
    assert out.exists() and (tmp_path / "v" / "validation.png").stat().st_size > 1000


@pytest.mark.slow
def test_validate_passes_the_high_confidence_targets_at_reduced_size(tmp_path):
    """The shipped baseline, run by ``validate`` with fewer replications than the default,
    has every high-confidence target's model mean inside its published band."""
    v = validate("baseline", reps=6, years=5.0, seed=1, out=tmp_path, workers=2)
    table = v.table.set_index("kpi")
    high = table[table["confidence"] == "high"]
    assert len(high) >= 10 and (high["n"] == 6).all()
    missed = high.loc[~high["in_band"], ["low", "high", "mean", "ci_low", "ci_high"]]
    assert missed.empty, missed.to_string()
    assert (tmp_path / "validation.csv").exists()


@pytest.mark.slow
def test_calibrate_recovers_planted_parameters():
    """Targets generated by the model at planted values; from a perturbed start the fit
    recovers the planted values within 10% of each parameter's plausible range."""
    base = load_scenario("baseline").with_values(SMALL)
    planted = {"population.concern_rate_tier2": 260.0,
               "workforce.recruitment_delay_days": 200.0}
    kw = {"seed": 5, "warmup": 0.5, "years": 1.5}
    truth = base.with_values(planted)
    reps = 3
    runs = pd.DataFrame([replication_kpis(truth, r, **kw) for r in range(reps)])
    means = runs.mean()
    targets = pd.DataFrame({
        "kpi": ["referrals_per_year", "sw_vacancy_rate", "initial_assessments_per_year"],
        "unit": ["", "", ""], "confidence": ["high", "high", "medium"],
    }).set_index("kpi")
    targets["per_la_value"] = [means[k] for k in targets.index]
    targets["low"] = targets["per_la_value"] * 0.9
    targets["high"] = targets["per_la_value"] * 1.1
    start = {"population.concern_rate_tier2": 380.0, "workforce.recruitment_delay_days": 300.0}
    fit = calibrate(base, params=list(planted), targets=targets, reps=reps,
                    max_evals=45, backend=LocalBackend(2), start=start, **kw)
    assert fit.loss < fit.start_loss
    for key, value in planted.items():
        lo, hi = SCHEMA[key].plausible
        assert abs(fit.values[key] - value) <= 0.10 * (hi - lo), (key, fit.values[key], value)


@pytest.mark.slow
@pytest.mark.parametrize("children", [20_000, 250_000])
def test_rates_per_10k_stay_in_band_for_small_and_large_las(children):
    """Scale: the baseline scaled by child population keeps its per-10,000 referral rate
    within the published band, for a small LA and a large one."""
    sc = scale_to_population(load_scenario("baseline"), children)
    years = 2.0 if children > 100_000 else 3.0
    runs = [replication_kpis(sc, r, seed=3, warmup=2.0, years=years) for r in range(2)]
    rate = float(np.mean([r["referral_rate_per_10k"] for r in runs]))
    t = load_targets().loc["referral_rate_per_10k"]
    assert t["low"] <= rate <= t["high"], rate
    assert math.isfinite(rate)


def test_scaling_multiplies_capacities_by_the_same_factor():
    base = load_scenario("baseline")
    big = scale_to_population(base, 146_000)
    assert big["population.child_population"] == 146_000
    assert big["workforce.posts_fte"] == pytest.approx(2 * base["workforce.posts_fte"])
    assert big["front_door.staff_fte"] == pytest.approx(2 * base["front_door.staff_fte"])
    assert big["population.concern_rate_tier2"] == base["population.concern_rate_tier2"]
