"""Scenario comparison with common random numbers: paired intervals, files, resume, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import CALLS_ENV, staff_simulate
from scipy import stats

from sim import cli
from sim.experiments import comparison
from sim.experiments.runs import ExperimentError
from sim.scenario import load_scenario

SHORT = dict(years=0.5, warmup=0.25)


@pytest.fixture(scope="module")
def small():
    return load_scenario("baseline").with_values({"population.child_population": 20_000},
                                                 name="small")


def test_compare_frames_hand_computed() -> None:
    base = pd.DataFrame({"k": [10.0, 12.0, 14.0, 16.0]}, index=pd.Index(range(4), name="rep"))
    other = pd.DataFrame({"k": [11.0, 13.5, 15.0, 17.5]}, index=base.index)
    flat = pd.DataFrame({"k": [10.0, 12.0, 14.0, 16.0]}, index=base.index)
    t = comparison.compare_frames({"b": base, "o": other, "f": flat}, "b")
    assert list(t.columns) == list(comparison.COLUMNS)
    assert t["scenario"].tolist() == ["b", "o", "f"]
    b, o, f = (t.iloc[i] for i in range(3))
    assert b["is_base"] and not b["significant"] and math.isnan(b["diff"])
    assert b["mean"] == 13.0
    assert b["half_width"] == pytest.approx(stats.t.ppf(0.975, 3) * base["k"].std() / 2)
    d = other["k"] - base["k"]  # 1, 1.5, 1, 1.5
    assert o["diff"] == pytest.approx(1.25)
    assert o["diff_half_width"] == pytest.approx(stats.t.ppf(0.975, 3) * d.std() / 2)
    assert o["diff_ci_low"] > 0 and o["significant"] and o["n_pairs"] == 4
    welch = stats.ttest_ind(other["k"], base["k"], equal_var=False).confidence_interval()
    assert o["welch_half_width"] == pytest.approx((welch.high - welch.low) / 2)
    assert o["diff_half_width"] < o["welch_half_width"]
    assert f["diff"] == 0.0 and f["diff_half_width"] == 0.0 and not f["significant"]


def test_compare_frames_pairs_by_replication_and_handles_missing() -> None:
    base = pd.DataFrame({"k": [1.0, 2.0, 3.0], "only_base": [1.0, 1.0, 1.0]},
                        index=pd.Index([0, 1, 2], name="rep"))
    other = pd.DataFrame({"k": [3.0, 2.0, np.nan]}, index=pd.Index([2, 1, 0], name="rep"))
    t = comparison.compare_frames({"b": base, "o": other}, "b").set_index(["kpi", "scenario"])
    assert t.loc[("k", "o"), "n_pairs"] == 2  # rep 0 is NaN in "o"
    assert t.loc[("k", "o"), "diff"] == 0.0
    assert math.isnan(t.loc[("only_base", "o"), "mean"])
    with pytest.raises(KeyError):
        comparison.compare_frames({"b": base}, "x")


def test_common_random_numbers_narrow_the_interval(tmp_path: Path, small) -> None:
    """The point of CRN: the paired interval of the real model's difference is narrower
    than the unpaired (Welch) interval of the same runs. A claim about every seed, checked
    at three: over seeds 1 to 10 (5 replications each), the ratio of the paired to the
    unpaired half-width was at most 0.65 for children in need and 0.42 for children looked
    after. Referrals, which fewer court days barely touch (their difference is noise, and
    the draws of the community, shared by every child's later episodes, fall out of step
    once the court's timing differs), gain less: ratios 0.40 to 1.02, mean 0.65, so for
    them the claim is about the mean over the seeds."""
    fewer = small.with_values({"court.sitting_days_per_week": 5.0}, name="fewer-court-days")
    referral_ratios = []
    for seed in (3, 4, 7):
        out = tmp_path / str(seed)
        comp = comparison.run_comparison(small, [fewer], reps=5, seed=seed, out_dir=out,
                                         workers=2, **SHORT)
        rows = comp.table[~comp.table["is_base"]].set_index("kpi")
        for kpi in ("referrals_per_year", "cin_open", "looked_after_open"):
            paired, welch = rows.loc[kpi, "diff_half_width"], rows.loc[kpi, "welch_half_width"]
            assert rows.loc[kpi, "n_pairs"] == 5
            if kpi == "referrals_per_year":
                referral_ratios.append(paired / welch)
            else:
                assert paired < welch, (seed, kpi, paired, welch)
        # same seed and replication numbers for both scenarios
        for name in ("small", "fewer-court-days"):
            manifest = json.loads((out / name / "manifest.json").read_text())
            assert manifest["seed"] == seed and manifest["reps"] == 5
    assert np.mean(referral_ratios) < 1.0, referral_ratios
    saved = pd.read_csv(out / "comparison.csv")
    assert len(saved) == len(comp.table)
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["base"] == "small" and meta["common_random_numbers"] is True
    assert [s["dir"] for s in meta["scenarios"]] == ["small", "fewer-court-days"]
    assert len(meta["rows"]) == len(comp.table)


def _pair():
    base = load_scenario("baseline").with_values({"front_door.staff_fte": 10.0}, name="base")
    more = base.with_values({"front_door.staff_fte": 12.0}, name="more")
    return base, more


def test_significance_flag_on_known_difference(tmp_path: Path) -> None:
    base, more = _pair()
    comp = comparison.run_comparison(base, [more], reps=3, out_dir=tmp_path, workers=1,
                                     years=1.0, warmup=0.0, simulate=staff_simulate)
    row = comp.table.set_index(["kpi", "scenario"]).loc[("referrals_per_year", "more")]
    assert row["diff"] == 20.0 and row["diff_half_width"] == 0.0 and row["significant"]
    assert list(comp.significant()["scenario"].unique()) == ["more"]


class _Interrupt:
    """staff_simulate, interrupted (as by Ctrl-C) at replication 2 of scenario ``more``."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, scenario, *, rep, **kwargs):
        if scenario.name == "more" and rep == 2:
            raise KeyboardInterrupt
        return staff_simulate(scenario, rep=rep, **kwargs)


def test_resume_after_interruption_equals_uninterrupted(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base, more = _pair()
    kw = dict(reps=4, workers=1, years=1.0, warmup=0.0)
    whole = comparison.run_comparison(base, [more], out_dir=tmp_path / "a",
                                      simulate=staff_simulate, **kw)
    with pytest.raises(KeyboardInterrupt):
        comparison.run_comparison(base, [more], out_dir=tmp_path / "b", simulate=_Interrupt(),
                                  **kw)
    assert not (tmp_path / "b" / "comparison.csv").exists()
    assert len(list((tmp_path / "b" / "more" / "replications").iterdir())) == 2
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    resumed = comparison.run_comparison(base, [more], out_dir=tmp_path / "b", resume=True,
                                        simulate=staff_simulate, **kw)
    assert sorted(p.name[:8] for p in calls.iterdir()) == ["rep-0002", "rep-0003"]
    pd.testing.assert_frame_equal(whole.table, resumed.table)


def test_resume_refuses_changed_scenario_before_running(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base, more = _pair()
    kw = dict(reps=2, workers=1, years=1.0, warmup=0.0, simulate=staff_simulate)
    comparison.run_comparison(base, [more], out_dir=tmp_path, **kw)
    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv(CALLS_ENV, str(calls))
    changed = base.with_values({"front_door.staff_fte": 13.0}, name="more")
    with pytest.raises(ExperimentError, match="different scenario"):
        comparison.run_comparison(base, [changed], out_dir=tmp_path, resume=True,
                                  **{**kw, "reps": 3})
    assert list(calls.iterdir()) == []  # nothing ran, not even the base's new replication
    assert len(list((tmp_path / "base" / "replications").iterdir())) == 2


def test_rejects_duplicate_names_and_nothing_to_compare(tmp_path: Path) -> None:
    base, _ = _pair()
    with pytest.raises(ExperimentError, match="named base"):
        comparison.run_comparison(base, [base.with_values({"front_door.staff_fte": 3.0})],
                                  out_dir=tmp_path, simulate=staff_simulate)
    with pytest.raises(ExperimentError, match="at least one"):
        comparison.run_comparison(base, [], out_dir=tmp_path)


def test_auto_reps_follow_the_base(tmp_path: Path) -> None:
    base, more = _pair()
    comp = comparison.run_comparison(base, [more], reps="auto", kpi="referrals_per_year",
                                     precision=0.05, out_dir=tmp_path, workers=1, years=1.0,
                                     warmup=0.0, simulate=staff_simulate)
    # constant values: precision reached at 3, confirmed over 5 more
    assert comp.decision.n_solution == 3 and comp.reps == 8
    assert len(comp.results["more"].per_rep) == 8


def _overlay(tmp_path: Path, name: str, staff: float) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "front door {staff} FTE"\n'
                    f'base = "baseline"\n\n[front_door]\nstaff_fte = {staff}\n')
    return path


def test_cli_compare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture) -> None:
    import sim.model.simulation

    monkeypatch.setattr(sim.model.simulation, "simulate", staff_simulate)
    monkeypatch.chdir(tmp_path)
    b, m = _overlay(tmp_path, "fd10", 10.0), _overlay(tmp_path, "fd12", 12.0)
    args = ["compare", str(b), str(m), "--reps", "3", "--years", "1", "--warmup", "0",
            "--workers", "1", "--quiet"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Referrals a year "))
    assert "fd10" in line
    diff_line = out.splitlines()[out.splitlines().index(line) + 1]
    assert "fd12" in diff_line and "+20.0 (+20.0%)" in diff_line
    assert diff_line.rstrip().endswith("*")
    assert "Change from" in out and "common random numbers" in out
    assert max(len(x) for x in out.splitlines() if "written to" not in x) <= 100
    results = tmp_path / "results" / "compare-fd10"
    for p in ("comparison.csv", "comparison.json", "fd10/summary.json", "fd12/summary.json"):
        assert (results / p).exists(), p
    # resume into the same place with a changed scenario is refused
    _overlay(tmp_path, "fd12", 13.0)
    assert cli.main([*args, "--resume"]) == 2
    assert "different scenario" in capsys.readouterr().err
    # auto replications need a KPI
    assert cli.main(["compare", str(b), str(m), "--reps", "auto"]) == 2
    assert "--kpi" in capsys.readouterr().err


@pytest.mark.slow
def test_common_random_numbers_on_longer_runs(tmp_path: Path) -> None:
    """A court reform on 1 + 3 years of the full-size baseline: pairing narrows the
    intervals of the stocks the court feeds, children looked after and children in need,
    on the mean over seeds 1 to 6 (4 replications each). Measured: the ratio of the paired
    to the unpaired half-width was 0.19 to 1.64 (mean 0.86) for children looked after and
    0.40 to 1.20 (mean 0.75) for children in need. With no correlation between the
    scenarios the paired interval is the wider (t with 3 degrees of freedom against about
    6), so a mean below 1 shows the pairing at work; at single seeds it does not hold.
    Pairing is weaker than before care had several routes in and out: more of a child's
    draws come from streams shared by every child (the protection decisions, care exits),
    so once the court's timing differs the scenarios fall out of step within weeks.
    Nothing is claimed of the other KPIs."""
    base = load_scenario("baseline")
    slower = base.with_values({"court.sitting_days_per_week": 6.0}, name="fewer-court-days")
    ratios: dict[str, list[float]] = {"looked_after_open": [], "cin_open": []}
    for seed in range(1, 7):
        comp = comparison.run_comparison(base, [slower], reps=4, years=3.0, warmup=1.0,
                                         seed=seed, out_dir=tmp_path / str(seed), workers=2)
        rows = comp.table[~comp.table["is_base"]].set_index("kpi")
        for kpi, found in ratios.items():
            found.append(rows.loc[kpi, "diff_half_width"] / rows.loc[kpi, "welch_half_width"])
    for kpi, found in ratios.items():
        assert np.mean(found) < 1.0, (kpi, found)


def test_a_measure_the_policy_abolishes_is_not_applicable_never_a_change():
    import numpy as np

    from sim.outputs.comparison import compare_frames

    base = pd.DataFrame({"initial_assessments_per_year": [2600.0, 2700.0, 2650.0],
                         "initial_assessment_within_timescale_share": [0.8, 0.82, 0.81],
                         "unallocated_cases_mean": [12.0, 9.0, 14.0]})
    reform = pd.DataFrame({"initial_assessments_per_year": [0.0, 0.0, 0.0],
                           "initial_assessment_within_timescale_share": [np.nan] * 3,
                           "unallocated_cases_mean": [0.0, 0.0, 0.0]})
    t = compare_frames({"base": base, "flexible": reform}, "base").set_index(
        ["kpi", "scenario"])
    for kpi in ("initial_assessments_per_year", "initial_assessment_within_timescale_share"):
        row = t.loc[(kpi, "flexible")]
        assert not row["applicable"] and not row["significant"]
    # a measure that exists under every policy and falls to zero is a real change
    row = t.loc[("unallocated_cases_mean", "flexible")]
    assert row["applicable"] and row["significant"] and row["pct"] == pytest.approx(-100.0)
    assert t.loc[("initial_assessments_per_year", "base"), "applicable"]
