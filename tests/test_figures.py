"""Figures (sim.outputs.figures): each is drawn from a tiny real run or a small synthetic table,
and its titles, labels and number of series are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from scipy import stats
from tiny_runs import SCENARIOS, tiny_runs

from sim.clock import YEAR, Window
from sim.outputs import figures as F
from sim.outputs.comparison import compare_frames, write_comparison
from sim.outputs.kpis import km_median
from sim.outputs.labels import kpi_label
from sim.outputs.results import load_result


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_runs(tmp_path_factory)


def _named(ax, names) -> list:
    return [line for line in ax.get_lines() if line.get_label() in names]


def _gid(ax, gid: str) -> list:
    return [p for p in ax.patches if p.get_gid() == gid]


def test_series_styles_differ_without_colour():
    styles = [F.series_style(i) for i in range(len(F.COLOURS))]
    assert len({str(s["linestyle"]) for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)


# -- stocks ------------------------------------------------------------------------------------


def test_stock_bands_are_student_t_intervals():
    stocks = pd.DataFrame({"rep": [0, 1, 2, 0, 1, 2], "month": [1, 1, 1, 2, 2, 2],
                           "time": [30.0] * 3 + [60.0] * 3,
                           "cin_open": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0]})
    b = F.stock_bands(stocks, ["cin_open"], bounded=False)
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    first = b.iloc[0]
    assert first["mean"] == pytest.approx(2.0)
    assert first["low"] == pytest.approx(2.0 - half)
    assert first["high"] == pytest.approx(2.0 + half)
    assert first["years"] == pytest.approx(30.0 / YEAR)
    assert b.iloc[1]["low"] == b.iloc[1]["high"] == 5.0
    one = F.stock_bands(stocks[stocks["rep"] == 0], ["cin_open"])
    assert one["low"].isna().all()  # no interval from one replication
    # a count's band (log scale by default) never goes below zero
    rare = stocks.assign(cin_open=[0.0, 0.0, 3.0, 0.0, 0.0, 0.0])
    bounded = F.stock_bands(rare, ["cin_open"])
    assert bounded.iloc[0]["low"] > 0.0 and bounded.iloc[0]["high"] > 1.0
    assert bounded.iloc[1]["low"] == bounded.iloc[1]["high"] == 0.0


def test_stocks_figure_overlays_scenarios_in_small_multiples(runs):
    fig = F.stocks_figure([runs[n] for n in SCENARIOS])
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert [ax.title.get_gid() for ax in axes] == [f"stock-{c}" for c in F.DEFAULT_STOCKS]
    assert axes[0].get_title() == "Children in need (open cases)"  # in words
    for ax in axes:
        assert len(_named(ax, SCENARIOS)) == 2  # one mean line per scenario
        assert len(ax.collections) == 2  # one CI band per scenario
        assert ax.get_ylabel()
        warm = [p for p in ax.patches if p.get_label() == "_warm-up"]
        assert len(warm) == 1
        assert warm[0].get_x() + warm[0].get_width() == pytest.approx(0.25)
    assert axes[-1].get_xlabel() == "years from the start of the run"
    years = axes[0].get_lines()[0].get_xdata()
    assert years.max() == pytest.approx(0.75, abs=0.01)
    assert "2 replications" in fig.get_suptitle()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        *SCENARIOS, "warm-up (not measured)"]


def test_stocks_figure_from_dataframes_and_chosen_stocks(runs):
    stocks = pd.read_parquet(runs["baseline"] / "stocks.parquet")
    fig = F.stocks_figure({"a": stocks, "b": stocks}, ["cin_open", "pressure", "nonexistent"],
                          warmup_years=0.0)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["Children in need (open cases)",
                                               "Public and political pressure"]
    assert axes[1].get_ylabel() == "index, 1 = 2010 level"
    assert all(len(_named(ax, ("a", "b"))) == 2 for ax in axes)
    assert all(not ax.patches for ax in axes)  # no warm-up to shade
    with pytest.raises(ValueError):
        F.stocks_figure(stocks, ["nonexistent"])


# -- flow --------------------------------------------------------------------------------------


def _journeys(rows):
    """Journey rows (rep, time, child, episode, stage, event, detail, true_tier)."""
    cols = ["rep", "time", "child", "episode", "stage", "event", "detail", "true_tier"]
    return pd.DataFrame(rows, columns=cols)


def test_flow_counts_steps_and_exits_by_previous_stage():
    w = Window(100.0, 100.0 + YEAR)  # one measured year
    j = _journeys([
        (0, 50.0, 1, 1, "community", "concern", "", 0),        # before the window
        (0, 150.0, 1, 1, "left", "resolved", "", 0),           # resolved unaided
        (0, 110.0, 2, 1, "community", "concern", "", 2),
        (0, 120.0, 2, 1, "front_door", "contact", "", 2),
        (0, 121.0, 2, 1, "referral", "referral", "", 2),
        (0, 130.0, 2, 1, "assessment", "initial_assessment_started", "", 2),
        (0, 140.0, 2, 1, "assessment", "initial_assessment_done", "on_time", 2),
        (0, 141.0, 2, 1, "community", "closed", "", 2),        # closed after assessment
        (0, 110.0, 3, 1, "community", "concern", "", 1),
        (0, 111.0, 3, 1, "front_door", "contact", "", 1),
        (0, 112.0, 3, 1, "community", "screened_out", "", 1),
        (1, 200.0, 1, 1, "community", "concern", "", 1),
        (1, 900.0, 1, 1, "front_door", "contact", "", 1),      # after the window
    ])
    c = F.flow_counts(j, w).set_index(["step", "label"])["count"]
    assert c[("concerns", "concerns")] == 3
    assert c[("concerns", "resolved unaided")] == 1
    assert c[("contacts", "contacts")] == 2
    assert c[("contacts", "screened out")] == 1
    assert c[("referrals", "referrals")] == 1
    assert c[("assessments", "assessments")] == 1
    assert c[("assessments", "closed")] == 1
    assert c[("section 47 enquiries", "closed")] == 0
    per_year = F.flow_counts(j, w).set_index(["step", "label"])["per_year"]
    assert per_year[("concerns", "concerns")] == pytest.approx(1.5)  # 3 over 2 reps, 1 year


def test_flow_figure_draws_steps_bands_and_exits(runs):
    fig = F.flow_figure([runs[n] for n in SCENARIOS])
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == list(SCENARIOS)
    n_exits = sum(len(v) for v in F.FLOW_EXITS.values())
    for ax in axes:
        assert len(_gid(ax, "flow-step")) == len(F.FLOW_STEPS)
        assert len(_gid(ax, "flow-band")) == len(F.FLOW_STEPS) - 1
        assert len(_gid(ax, "flow-exit")) == n_exits
        assert "square root" in ax.get_xlabel()
    # step names label the shared y axis, on the first panel
    assert [t.get_text() for t in axes[0].get_yticklabels()] == [s for s, _ in F.FLOW_STEPS]
    counts = F.flow_counts(runs["baseline"])
    steps = counts[counts["kind"] == "step"]
    assert (steps["count"] > 0).iloc[:6].all()
    assert "events per year" in fig.get_suptitle()


# -- distributions -----------------------------------------------------------------------------


def test_assessment_durations_pair_starts_with_completions():
    w = Window(100.0, 500.0)
    j = _journeys([
        (0, 90.0, 1, 1, "assessment", "initial_assessment_started", "", 2),
        (0, 105.0, 1, 1, "assessment", "initial_assessment_done", "on_time", 2),
        (0, 106.0, 1, 1, "assessment", "core_assessment_started", "", 2),
        (0, 150.0, 1, 1, "assessment", "core_assessment_done", "late", 2),
        (0, 200.0, 1, 2, "assessment", "initial_assessment_started", "", 2),
        (0, 210.0, 1, 2, "assessment", "initial_assessment_done", "on_time", 2),
        (0, 490.0, 2, 1, "assessment", "assessment_started", "", 2),
        (0, 520.0, 2, 1, "assessment", "assessment_done", "on_time", 2),  # after the window
    ])
    d = F.assessment_durations(j, w)
    assert sorted(d[d["type"] == "initial"]["days"]) == [10.0, 15.0]
    assert list(d[d["type"] == "core"]["days"]) == [44.0]
    assert (d["type"] == "single").sum() == 0


def test_km_curve_median_matches_the_kpi_estimator():
    rng = np.random.default_rng(3)
    d = rng.exponential(20.0, 200)
    o = rng.random(200) < 0.8
    t, s = F.km_curve(d, o)
    assert t[0] == 0.0 and s[0] == 1.0
    assert np.all(np.diff(s) <= 0)
    assert t[np.flatnonzero(s <= 0.5)[0]] == pytest.approx(km_median(d, o))
    t, s = F.km_curve([1.0, 2.0, 3.0, 4.0], [True] * 4)
    assert list(s) == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_distributions_figure_panels(runs):
    fig = F.distributions_figure([runs[n] for n in SCENARIOS])
    ax1, ax2, ax3 = fig.get_axes()
    assert ax1.get_title() == "Time to help matching need"
    assert ax1.get_xlabel() == "days from first contact"
    assert "Kaplan-Meier" in ax1.get_ylabel()
    assert len(_named(ax1, SCENARIOS)) == 2
    assert ax2.get_title() == "Assessment durations"
    assert [t.get_text() for t in ax2.get_xticklabels()] == ["initial", "core"]
    boxes = [p for p in ax2.patches if p.get_label() in SCENARIOS]
    assert len(boxes) == 2 * 2  # two kinds x two scenarios
    assert ax2.get_ylabel() == "days from start to completion"
    assert ax3.get_title() == "Caseload distribution over time"
    assert len(_named(ax3, SCENARIOS)) == 2
    assert len(ax3.collections) == 2  # p10-p90 bands
    assert ax3.get_xlabel() == "years from the start of the run"


def test_time_to_help_durations_match_the_kpi(runs):
    rd = F.open_result(runs["baseline"])
    j = next(rd.journeys())
    d = F.time_to_help_durations(j, rd.window)
    kpis = json.loads((runs["baseline"] / "replications" / "rep-0000.json").read_text())
    assert km_median(d["days"], d["observed"]) == pytest.approx(
        kpis["kpis"]["time_to_help_days_median"])


# -- forest plot -------------------------------------------------------------------------------


def _comparison_rows():
    rows = []
    for kpi, base_mean in (("cin_open", 200.0), ("caseload_mean", 20.0),
                           ("serious_case_reviews_per_year", 0.0)):
        rows.append({"kpi": kpi, "scenario": "base", "is_base": True, "mean": base_mean,
                     "diff": math.nan, "diff_ci_low": math.nan, "diff_ci_high": math.nan,
                     "significant": False})
        for scen, diff, half in (("a", 20.0, 5.0), ("b", -1.0, 4.0)):
            rows.append({"kpi": kpi, "scenario": scen, "is_base": False,
                         "mean": base_mean + diff, "diff": diff, "diff_ci_low": diff - half,
                         "diff_ci_high": diff + half, "significant": abs(diff) > half})
    return pd.DataFrame(rows)


def test_forest_data_is_percent_of_base_mean():
    d = F.forest_data(_comparison_rows())
    assert set(d["kpi"]) == {"cin_open", "caseload_mean"}  # base mean 0 dropped
    r = d[(d["kpi"] == "cin_open") & (d["scenario"] == "a")].iloc[0]
    assert (r["pct"], r["pct_low"], r["pct_high"]) == pytest.approx((10.0, 7.5, 12.5))
    assert bool(r["significant"])


def test_forest_figure_from_comparison_csv(tmp_path):
    _comparison_rows().to_csv(tmp_path / "comparison.csv", index=False)
    fig = F.forest_figure(tmp_path)
    (ax,) = fig.get_axes()
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # one per scenario other than the base
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Children in need (open cases)",
                                                           "Cases per social worker (mean)"]
    assert "% of the base mean" in ax.get_xlabel()
    assert ax.get_title() == "Changes from base with common random numbers"
    filled = [ln for ln in ax.get_lines() if ln.get_label() in ("a", "b")]
    assert [len(ln.get_xdata()) for ln in filled] == [2, 0]  # a significant twice, b never
    assert "serious case reviews a year" in fig._supxlabel.get_text()


def test_forest_figure_from_a_real_comparison(runs, tmp_path):
    table = compare_frames({n: load_result(runs[n]).per_rep for n in SCENARIOS}, "baseline")
    write_comparison(tmp_path, table, {"base": "baseline"})
    fig = F.forest_figure(tmp_path / "comparison.csv")
    (ax,) = fig.get_axes()
    assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 1
    shown = F.forest_data(table)["kpi"].nunique()
    assert len(ax.get_yticklabels()) == shown > 10
    assert "baseline" in ax.get_title()


# -- sensitivity -------------------------------------------------------------------------------


PARAMS = ("front_door.staff_fte", "workforce.posts_fte", "workforce.leaving_rate")


def _morris():
    rng = np.random.default_rng(1)
    return pd.DataFrame([{"kpi": k, "param": p, "mu_star": rng.random(),
                          "mu_star_conf": 0.1 * rng.random(), "sigma": rng.random(), "mu": 0.0}
                         for k in ("cin_open", "missed_harm_per_year") for p in PARAMS])


def test_sensitivity_figure_morris_from_csv(tmp_path):
    _morris().to_csv(tmp_path / "sensitivity.csv", index=False)
    fig = F.sensitivity_figure(tmp_path)
    axes = fig.get_axes()
    assert [ax.title.get_gid() for ax in axes] == ["kpi-cin_open", "kpi-missed_harm_per_year"]
    for ax in axes:
        assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 1
        assert len(ax.containers[0].lines[0].get_xdata()) == len(PARAMS)
        assert {t.get_text() for t in ax.texts} == set(PARAMS)
        assert ax.get_xlabel().startswith("mu*")
        assert ax.get_ylabel().startswith("sigma")
    assert "Morris" in fig.get_suptitle()


def test_sensitivity_figure_sobol_tornado_from_json(tmp_path):
    d = pd.DataFrame({"kpi": "cin_open", "param": PARAMS, "ST": [0.2, 0.7, 0.1],
                      "ST_conf": [0.05, 0.1, 0.02], "S1": [0.1, 0.5, 0.05],
                      "S1_conf": [0.02] * 3})
    (tmp_path / "sensitivity.json").write_text(json.dumps({"indices": d.to_dict("records")}))
    fig = F.sensitivity_figure(tmp_path / "sensitivity.json")
    (ax,) = fig.get_axes()
    assert " ".join(ax.get_title().split()) == "Children in need (open cases)"
    assert len(ax.patches) == len(PARAMS)  # one ST bar per parameter
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "workforce.leaving_rate", "front_door.staff_fte", "workforce.posts_fte"]  # largest top
    assert "ST" in ax.get_xlabel()
    with pytest.raises(ValueError):
        F.sensitivity_figure(d.drop(columns=["ST"]))


# -- loops and validation ----------------------------------------------------------------------


def test_loop_figure_draws_the_diagram(runs):
    from sim.model.loops import LOOPS

    fig = F.loop_figure(runs["baseline"])
    (ax,) = fig.get_axes()
    assert ax.get_label() == "causal loop diagram"
    signs = [t for t in ax.texts if t.get_gid() == "loop-sign"]
    assert len(signs) == sum(len(lp.links) for lp in LOOPS)  # every loop on in the baseline
    rd = F.open_result(runs["baseline"])
    values = {**rd.values, "loops.inspection_regime": False}
    assert F.loop_png(values)[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_table_marks_means_in_band():
    summary = {"cin_open": {"mean": 2500.0, "ci_low": 2400.0, "ci_high": 2600.0},
               "caseload_mean": {"mean": 30.0, "ci_low": 28.0, "ci_high": 32.0},
               "care_proceedings_weeks_mean": {"mean": None, "ci_low": None, "ci_high": None},
               "not_a_target": {"mean": 1.0}}
    t = F.validation_table(summary).set_index("kpi")
    assert set(F.VALIDATION_COLUMNS[1:]) <= set(t.columns)
    assert len(t) == 3  # the target KPIs the summary has
    assert bool(t.loc["cin_open", "in_band"])
    assert not t.loc["caseload_mean", "in_band"]
    assert not t.loc["care_proceedings_weeks_mean", "in_band"]  # undefined mean
    assert (t.loc["cin_open", "low"], t.loc["cin_open", "high"]) == (2260.0, 2770.0)
    assert "not_a_target" not in t.index


def test_validation_figure_bands_and_model_intervals(runs, tmp_path):
    fig = F.validation_figure([runs[n] for n in SCENARIOS])
    (ax,) = fig.get_axes()
    table = F.validation_table(F.open_result(runs["baseline"]).summary())
    assert len(_gid(ax, "validation-band")) == len(table)
    assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 2
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        kpi_label(k).label for k in table["kpi"]]
    assert "midpoint" in ax.get_xlabel()
    assert "calibration" in ax.get_title()
    # a validation.csv, when present, is used instead of the summary
    rd = tmp_path / "run"
    rd.mkdir()
    (rd / "manifest.json").write_text(json.dumps({"scenario": {"name": "x"}}))
    table.head(3).to_csv(rd / "validation.csv", index=False)
    (ax,) = F.validation_figure(rd).get_axes()
    assert len(_gid(ax, "validation-band")) == 3
