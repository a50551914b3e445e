"""Calibration and validation: honest fitting against published figures."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.experiments.backends import LocalBackend
from sim.experiments.calibration import calibrate, calibrated_parameters, loss, replication_kpis
from sim.experiments.validation import validate
from sim.outputs.targets import CONFIDENCE_WEIGHT, TARGET_FILES, load_targets
from sim.outputs.validation import format_table, validation_table
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
    """Honesty: ``validate`` given a target file whose band is moved onto the model's mean
    changes its verdict on that row from missed to met (and writes the moved band), while
    the model's output, every replication's KPIs and the summary, is byte for byte the
    same."""
    sc = load_scenario("baseline").with_values(SMALL)
    run = dict(reps=3, max_reps=3, years=1.0, warmup=0.25, seed=2, workers=1)
    k = "referrals_per_year"
    shipped = validate(sc, out=tmp_path / "shipped", **run)
    row = shipped.table.set_index("kpi").loc[k]
    assert not row["met"] and k in shipped.failures  # a small LA has far fewer referrals
    m = float(row["mean"])
    moved = load_targets()
    moved.loc[k, ["low", "per_la_value", "high"]] = [m * 0.9, m, m * 1.1]
    path = tmp_path / "moved.csv"
    moved.reset_index().to_csv(path, index=False)
    v = validate(sc, out=tmp_path / "moved", targets=path, **run)
    assert v.table.set_index("kpi").loc[k, "met"] and k not in v.failures
    written = pd.read_csv(tmp_path / "moved" / "validation.csv").set_index("kpi")
    assert written.loc[k, "low"] == pytest.approx(0.9 * m) and written.loc[k, "met"]
    # the model's output is the same whatever the targets say
    reps = sorted(p.name for p in (tmp_path / "shipped" / "replications").glob("*"))
    assert reps
    for rel in ["summary.json", *(f"replications/{f}" for f in reps)]:
        assert ((tmp_path / "moved" / rel).read_bytes()
                == (tmp_path / "shipped" / rel).read_bytes()), rel
    assert list(shipped.table["kpi"]) == list(load_targets().index)
    text = format_table(shipped.table)
    assert "referrals_per_year" in text and "band" in text and "rule" in text
    assert (tmp_path / "shipped" / "validation.png").stat().st_size > 1000


def test_each_target_is_judged_by_a_rule_fit_for_its_kind():
    """Serious case reviews (a handful per replication) pass when their 95% interval
    overlaps the band; every other KPI when its mean lies in the band."""
    from sim.outputs.validation import INTERVAL_OVERLAPS_BAND, MEAN_IN_BAND

    targets = load_targets()
    summary = pd.DataFrame({"mean": targets["high"] * 1.05, "ci_low": targets["high"] * 0.9,
                            "ci_high": targets["high"] * 1.2, "n": 10})
    table = validation_table(summary, targets).table.set_index("kpi")
    assert table.loc["serious_case_reviews_per_year", "rule"] == INTERVAL_OVERLAPS_BAND
    assert table.loc["serious_case_reviews_per_year", "met"]
    others = table.drop(index="serious_case_reviews_per_year")
    assert (others["rule"] == MEAN_IN_BAND).all() and not others["met"].any()
    # an interval entirely above the band fails the rare-event rule too
    summary["ci_low"] = targets["high"] * 1.01
    row = validation_table(summary, targets).table.set_index("kpi").loc[
        "serious_case_reviews_per_year"]
    assert not row["met"]


#: Seeds of the verdict-stability test.
VERDICT_SEEDS = range(1, 21)


@pytest.mark.slow
def test_validation_verdict_is_the_same_at_19_of_20_seeds(tmp_path):
    """``validate`` at its default settings (10 replications, more for serious case
    reviews if the replication rule asks, of 5 measured years after the default 5-year
    warm-up) gives the same verdict, pass or fail and the same targets missed, at 19 of
    20 seeds or more, and that verdict is a pass.

    Cost: a replication of the whole-LA baseline for 10 years is about 4-5 s of CPU, so 20
    seeds of 10 replications are about 15 minutes of CPU, about 8 minutes on 2 cores: kept
    at the default settings on purpose (the verdict of the default is what is claimed)."""
    from collections import Counter

    from sim.experiments.validation import run_validation

    verdicts = {}
    with LocalBackend(2) as backend:
        for seed in VERDICT_SEEDS:
            _, v, _ = run_validation(load_scenario("baseline"), reps=10, seed=seed,
                                     years=5.0, warmup=DEFAULT_WARMUP_YEARS,
                                     out_dir=tmp_path / str(seed), backend=backend)
            verdicts[seed] = (v.passed, tuple(v.failures))
            shutil.rmtree(tmp_path / str(seed))
    (common, count), = Counter(verdicts.values()).most_common(1)
    assert count >= 19, verdicts
    assert common == (True, ()), verdicts


#: Planted values, starting values and the targets (with their confidence) of the recovery
#: test: referrals and initial assessments move with the concern rate, the share of initial
#: assessments on time with deadline compliance, the vacancy rate with the recruitment
#: delay.
PLANTED = {"population.concern_rate_tier2": 260.0, "assessment.deadline_compliance": 0.6,
           "workforce.recruitment_delay_days": 200.0}
PLANTED_START = {"population.concern_rate_tier2": 400.0, "assessment.deadline_compliance": 0.3,
                 "workforce.recruitment_delay_days": 320.0}
PLANTED_TARGETS = {"referrals_per_year": "high", "initial_assessments_per_year": "medium",
                   "initial_assessment_within_timescale_share": "high",
                   "sw_vacancy_rate": "high"}
RECOVERY_SEEDS = range(1, 11)


def _recover(seed: int) -> dict:
    """Plant, then fit from independent seeds: the truth runs 8 replications of seed
    ``10_000 + seed``; the fit runs 3 replications per candidate of seed ``seed``."""
    kw = {"warmup": 0.5, "years": 1.5}
    base = load_scenario("baseline").with_values(SMALL)
    runs = pd.DataFrame([replication_kpis(base.with_values(PLANTED), r, seed=10_000 + seed,
                                          **kw) for r in range(8)])
    mean, sd = runs.mean(), runs.std()
    half = pd.Series({k: max(0.1 * mean[k], sd[k]) for k in PLANTED_TARGETS})
    targets = pd.DataFrame({
        "unit": "", "confidence": pd.Series(PLANTED_TARGETS),
        "per_la_value": mean[list(PLANTED_TARGETS)],
        "low": mean[list(PLANTED_TARGETS)] - half, "high": mean[list(PLANTED_TARGETS)] + half,
    })
    targets.index.name = "kpi"
    fit = calibrate(base, params=list(PLANTED), targets=targets, reps=3, seed=seed,
                    max_evals=31, backend=LocalBackend(1), start=PLANTED_START, **kw)
    out = {"loss": fit.loss, "start_loss": fit.start_loss, "params": {}}
    for key, value in PLANTED.items():
        lo, hi = SCHEMA[key].plausible
        row = fit.identifiability.loc[key]
        out["params"][key] = {"error": abs(fit.values[key] - value) / (hi - lo),
                              "identified": bool(row["identified"]),
                              "covered": bool(row["low"] <= value <= row["high"])}
    return out


@pytest.mark.slow
def test_calibrate_recovers_planted_parameters_at_ten_seeds():
    """Parameters planted at 10 seeds, and the targets made from the planted model with
    seeds independent of the fit's, are recovered: at 9 seeds or more every parameter the
    fit reports as identified is within 10% of its plausible range of the planted value,
    and every planted value lies in the interval the fit reports as consistent with the
    targets. The concern rate, which drives two of the targets, must be identified at 9
    seeds or more; the vacancy rate of a small LA over 1.5 years varies too much (48% of
    its mean between replications) to pin the recruitment delay down, and the fit says so.

    Sizing. The targets' half-bands are the larger of 10% of the truth's mean and one
    replication's standard deviation. At the planted point the loss then has a standard
    deviation of 1.0 over independent sets of 2 replications, 0.32 with 3 and 0.17 with 4
    (12 disjoint sets of 36 replications), against a tolerance of 1 (one high-confidence
    target one half-band off): 3 replications per candidate. A small LA (20,000 children)
    and 0.5 + 1.5 years make a replication about 0.3 s of CPU; 31 candidates and 8 truth
    replications are about 36 s of CPU per seed, emulators included: about 3 minutes for
    the 10 seeds on 2 cores."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        results = dict(zip(RECOVERY_SEEDS, pool.map(_recover, RECOVERY_SEEDS), strict=True))
    report = {s: {k.split(".")[1]: (round(p["error"], 3), p["identified"], p["covered"])
                  for k, p in r["params"].items()} for s, r in results.items()}
    recovered = [all(p["error"] <= 0.10 for p in r["params"].values() if p["identified"])
                 for r in results.values()]
    covered = [all(p["covered"] for p in r["params"].values()) for r in results.values()]
    concern = [r["params"]["population.concern_rate_tier2"]["identified"]
               for r in results.values()]
    assert sum(recovered) >= 9, report
    assert sum(covered) >= 9, report
    assert sum(concern) >= 9, report
    assert all(r["loss"] < r["start_loss"] for r in results.values()), results


def test_history_matching_tells_an_identified_parameter_from_a_flat_one():
    """Emulators of a KPI that moves with one parameter and ignores the other: the
    interval consistent with a target is narrow for the first and spans the second."""
    from sim.experiments.calibration import (
        Emulators,
        _minimise,
        _not_ruled_out,
        identifiability_table,
    )

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(30, 2))
    means = pd.DataFrame({"k": 100.0 + 100.0 * x[:, 0] + rng.normal(0, 1, 30)})
    noise = pd.DataFrame({"k": np.ones(30)})
    used = pd.DataFrame({"z": [150.0], "half": [5.0], "w": [1.0]}, index=["k"])
    em = Emulators(x, means, noise, used, seed=0)
    best = _minimise(em, x, rng, 2)
    assert best[0] == pytest.approx(0.5, abs=0.03)
    kept = _not_ruled_out(em, x, rng, 2)
    table = identifiability_table(["a", "b"], kept, best, [(0.0, 10.0), (0.0, 1.0)])
    assert table.loc["a", "identified"] and not table.loc["b", "identified"]
    assert table.loc["a", "low"] < 5.0 < table.loc["a", "high"]
    assert table.loc["a", "width"] < 0.25 and table.loc["b", "width"] > 0.9


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


def test_cli_calibrate_prints_and_writes_the_identifiability_table(tmp_path, capsys):
    """``childsim calibrate`` prints, and writes in the scenario's header, the interval of
    each fitted parameter consistent with the targets and whether it is identified."""
    from pathlib import Path

    from sim import cli

    targets = load_targets().loc[["referrals_per_year"]].reset_index()
    targets.to_csv(tmp_path / "targets.csv", index=False)
    baseline = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"
    small = tmp_path / "small.toml"
    small.write_text(f'name = "small"\ndescription = "a small LA"\nbase = "{baseline}"\n'
                     "[population]\nchild_population = 20000\n"
                     "[workforce]\nposts_fte = 42.0\n[front_door]\nstaff_fte = 4.0\n")
    out = tmp_path / "fitted.toml"
    code = cli.main(["calibrate", str(small), "--params", "population.concern_rate_tier2",
                     "--reps", "2", "--max-evals", "6", "--warmup", "0.1", "--years", "0.25",
                     "--workers", "1", "--targets", str(tmp_path / "targets.csv"),
                     "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Identifiability" in printed and "population.concern_rate_tier2" in printed
    header = out.read_text()
    assert "# Identifiability" in header and "history matching" in header
    assert load_scenario(out)["population.concern_rate_tier2"] > 0
