"""The notebook-facing Python API (sim.api), mirroring the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import referrals_of, referrals_simulate, staff_simulate, transient_simulate

import sim
from sim import api
from sim.scenario import load_scenario

SHORT = dict(years=0.5, warmup=0.25)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    import sim.model.simulation

    def use(fn):
        monkeypatch.setattr(sim.model.simulation, "simulate", fn)

    return use


def test_package_re_exports() -> None:
    assert sim.run is api.run and sim.compare is api.compare
    assert sim.sensitivity is api.sensitivity and sim.warmup is api.warmup
    with pytest.raises(AttributeError):
        sim.nothing_here  # noqa: B018


def test_scenario_arguments(tmp_path: Path) -> None:
    base = load_scenario("baseline")
    assert api.as_scenario(base) is base
    assert api.as_scenario("baseline").digest() == base.digest()
    overlay = tmp_path / "x.toml"
    overlay.write_text('name = "x"\nbase = "baseline"\n[front_door]\nstaff_fte = 9.0\n')
    assert api.as_scenario(overlay).name == "x"
    assert api.as_scenario(str(overlay))["front_door.staff_fte"] == 9.0


def test_run_returns_tidy_frames(tmp_path: Path, fake) -> None:
    fake(referrals_simulate)
    res = api.run("baseline", reps=3, years=1.0, warmup=0.0, out=tmp_path, workers=1)
    assert res.out_dir == tmp_path and (tmp_path / "summary.json").exists()
    assert list(res.kpis.columns) == ["scenario", "rep", "kpi", "value"]
    assert res.kpis["scenario"].unique().tolist() == ["baseline"]
    n_kpis = res.per_rep.shape[1]
    assert len(res.kpis) == 3 * n_kpis
    referrals = res.kpis[res.kpis["kpi"] == "referrals_per_year"]
    assert referrals["rep"].tolist() == [0, 1, 2]
    assert referrals["value"].tolist() == [referrals_of(r) for r in range(3)]
    assert {"mean", "ci_low", "ci_high", "n", "unit"} <= set(res.summary.columns)
    assert res.summary.loc["referrals_per_year", "n"] == 3
    assert res.summary.loc["referrals_per_year", "unit"]
    stocks = res.stocks
    assert list(stocks.columns[:3]) == ["rep", "month", "time"] and "cin_open" in stocks
    assert sorted(stocks["rep"].unique()) == [0, 1, 2] and len(stocks) == 36
    assert set(res.journeys(["rep", "event"])["event"]) == {"referral"}


def test_run_auto_and_temporary_directory(fake, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fake(referrals_simulate)
    res = api.run("baseline", reps="auto", kpi="referrals_per_year", precision=0.05,
                  years=1.0, warmup=0.0, workers=1)
    assert res.decision.n_solution == 19 and len(res.per_rep) == 24
    assert res.out_dir.is_dir() and res.out_dir.name.startswith("childsim-baseline-")
    assert res.out_dir.parent == tmp_path and res.temporary
    res.close()
    assert not res.out_dir.exists() and res.closed
    with pytest.raises(ValueError, match="kpi"):
        api.run("baseline", reps="auto", workers=1)
    assert not list(tmp_path.glob("childsim-*"))  # a failed run leaves nothing either


def test_temporary_records_go_with_the_result(fake, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    fake(referrals_simulate)
    kw = dict(reps=2, years=1.0, warmup=0.0, workers=1)
    with api.run("baseline", **kw) as res:
        stocks_before = res.stocks
        kept = res.save(tmp_path / "kept")
        journeys = res.journeys()
    assert res.closed and not res.out_dir.exists() and len(journeys)
    assert res.stocks is stocks_before and len(res.summary)  # still there after closing
    with pytest.raises(ValueError, match="close"):
        res.journeys()
    reopened = api.load(kept)
    assert reopened.per_rep.equals(res.per_rep) and not reopened.temporary
    assert reopened.summary.equals(res.summary)
    reopened.close()
    assert kept.is_dir()  # a directory given (or saved) is never removed
    dropped = api.run("baseline", **kw)
    where = dropped.out_dir
    del dropped
    gc.collect()
    assert not where.exists()
    fake(staff_simulate)
    b = load_scenario("baseline").with_values({"front_door.staff_fte": 10.0}, name="b")
    table = api.compare(b, b.with_values({"front_door.staff_fte": 11.0}, name="c"), **kw)
    assert table.attrs["out_dir"] is None and table.significant.any()
    api.sensitivity(b, kpis=["referrals_per_year"], samples=2, params=["front_door.staff_fte"],
                    **kw)
    fake(transient_simulate)
    w = api.warmup("baseline", stock="cin_open", reps=2, years=8.0, workers=1)
    assert w.months == 20 and w.chart is None and w.out_dir is None
    assert type(w.figure()).__name__ == "Figure"
    assert not list((tmp_path / "tmp").iterdir())


def test_run_with_params(tmp_path: Path, fake) -> None:
    fake(staff_simulate)
    res = api.run("baseline", params={"front_door.staff_fte": 12.5}, reps=1, years=1.0,
                  warmup=0.0, out=tmp_path, workers=1)
    assert res.scenario["front_door.staff_fte"] == 12.5
    assert res.per_rep["referrals_per_year"].iloc[0] == 125
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="front_door.staff"):
        api.run("baseline", params={"front_door.staff": 1}, out=tmp_path / "x")


def test_numeric_dtypes(tmp_path: Path, fake) -> None:
    fake(referrals_simulate)
    res = api.run("baseline", reps=2, years=1.0, warmup=0.0, out=tmp_path, workers=1)
    for frame, columns in ((res.summary, ["mean", "ci_low", "ci_high", "half_width", "n"]),
                           (res.kpis, ["rep", "value"])):
        for col in columns:
            assert pd.api.types.is_numeric_dtype(frame[col]), col
    assert pd.api.types.is_integer_dtype(res.summary["n"])
    assert not any(dtype is np.dtype(object) for dtype in res.summary.dtypes)


def test_progress_is_shown_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    assert api._show_progress(None) is False  # the tests' standard error is no terminal
    assert api._show_progress(True) is True
    shell = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))
    assert api._show_progress(None) is True
    assert api._show_progress(False) is False


def test_parameters_table() -> None:
    from sim.parameters import SCHEMA

    table = sim.parameters()
    assert list(table["key"]) == list(SCHEMA)
    for col in ("key", "value", "unit", "low", "high", "plausible_low", "plausible_high",
                "description", "source", "role", "lever", "calibrated"):
        assert col in table.columns
    assert table["lever"].dtype == bool and table["plausible_low"].dtype == float
    row = table.set_index("key").loc["front_door.staff_fte"]
    assert row["value"] == 14.0 and row["unit"] == "FTE" and row["lever"]
    assert row["plausible_low"] == 6 and row["plausible_high"] == 20
    size = table.set_index("key").loc["population.child_population"]
    assert size["role"] == "size" and "DfE" in size["source"]
    assert (table["source"] != "").all()  # the baseline states a source for every value
    assert set(sim.parameters("court")["section"]) == {"court"}
    assert sim.parameters(levers=True)["lever"].all()
    ct = api.parameters("community_team", scenario="community_teams").set_index("key")
    assert ct.loc["community_team.fte", "value"] == 12.0
    assert ct.loc["community_team.fte", "file"] == "community_teams.toml"
    assert "reason" in ct.loc["community_team.fte", "source"]


def test_compare_returns_table(tmp_path: Path, fake) -> None:
    fake(staff_simulate)
    base = load_scenario("baseline").with_values({"front_door.staff_fte": 10.0}, name="b")
    more = base.with_values({"front_door.staff_fte": 11.0}, name="more")
    table = api.compare(base, more, reps=3, years=1.0, warmup=0.0, out=tmp_path, workers=1)
    for col in ("kpi", "scenario", "mean", "ci_low", "ci_high", "diff", "diff_ci_low",
                "diff_ci_high", "significant"):
        assert col in table.columns
    row = table[(table.kpi == "referrals_per_year") & (table.scenario == "more")].iloc[0]
    assert row["diff"] == 10.0 and row["significant"]
    assert table.attrs["out_dir"] == str(tmp_path)
    assert (tmp_path / "comparison.csv").exists() and (tmp_path / "more").is_dir()
    with pytest.raises(ValueError):
        api.compare(base)


def test_sensitivity_returns_indices(tmp_path: Path, fake,
                                    capsys: pytest.CaptureFixture) -> None:
    fake(staff_simulate)
    table = api.sensitivity("baseline", method="morris", kpis=["referrals_per_year"],
                            samples=2, params=["front_door.staff_fte", "workforce.posts_fte"],
                            years=1.0, warmup=0.0, out=tmp_path, workers=1, charts=False)
    assert table["param"].iloc[0] == "front_door.staff_fte"
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    assert isinstance(table.attrs["samples"], pd.DataFrame)
    told = capsys.readouterr().err  # the runs and the time estimate, before it started
    assert "2 parameters" in told and "6 runs of 1 simulated years" in told
    assert type(api.sensitivity_chart(table)).__name__ == "Figure"


def test_warmup_returns_result(tmp_path: Path, fake) -> None:
    fake(transient_simulate)
    w = api.warmup("baseline", stock="cin_open", reps=2, years=8.0, out=tmp_path, workers=1)
    assert w.months == 20 and w.years == pytest.approx(w.months / 12)
    assert w.chart is not None and w.chart.exists()


def test_run_on_the_real_model(tmp_path: Path) -> None:
    small = load_scenario("baseline").with_values({"population.child_population": 20_000})
    res = api.run(small, reps=2, out=tmp_path, workers=2, **SHORT)
    assert res.summary.loc["referrals_per_year", "mean"] > 0
    assert res.stocks["month"].max() == 9
    # the journey log's measured window counts what the KPIs count
    counts = res.event_counts("referral", per_year=True)["referral"]
    assert counts.to_dict() == pytest.approx(res.per_rep["referrals_per_year"].to_dict())
    measured = res.journeys(["rep", "time", "event"])
    everything = res.journeys(["rep", "time"], window="all")
    warm = res.journeys(["time"], window="warmup")
    assert len(measured) + len(warm) <= len(everything) and len(warm) > 0
    w = res.window
    assert measured["time"].between(w.start, w.end, inclusive="left").all()
    assert len(res.in_window(res.stocks)) == 2 * 6  # 6 measured months of 2 replications
    with pytest.raises(ValueError, match="unknown event"):
        res.event_counts("referal")
