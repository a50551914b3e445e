"""The notebook-facing Python API (sim.api), mirroring the command line."""

from __future__ import annotations

from pathlib import Path

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
    assert res.out_dir.parent == tmp_path
    with pytest.raises(ValueError, match="kpi"):
        api.run("baseline", reps="auto", workers=1)


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


def test_sensitivity_returns_indices(tmp_path: Path, fake) -> None:
    fake(staff_simulate)
    table = api.sensitivity("baseline", method="morris", kpis=["referrals_per_year"],
                            samples=2, params=["front_door.staff_fte", "workforce.posts_fte"],
                            years=1.0, warmup=0.0, out=tmp_path, workers=1, charts=False)
    assert table["param"].iloc[0] == "front_door.staff_fte"
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(table.columns)
    assert isinstance(table.attrs["samples"], pd.DataFrame)


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
