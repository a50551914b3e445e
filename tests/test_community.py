"""Community-team help and early help's capacity (B1): verification on small runs.

* the community team holds cases within its capacity (a case it holds is not a child in
  need), and when its capacity is tiny its consultations refer more;
* a referral from the team carries its assessment, which is continued at referral (the
  effort saving applies) although ``assessment.continue_shared`` is false;
* early help's waiting list is first come, first served, with reneging: a family that
  gives up never takes a place, and places are never over-filled;
* the supply of places follows the waiting list by a first-order delay, exactly as stated;
* with B1 off none of this acts;
* no dead zone: 10% more demand for early help moves occupancy and the waiting list.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from simpy.events import Timeout
from test_model import assert_conserved, frame, run, stage_counts, time_ordered

from sim.clock import MONTH, YEAR
from sim.model.simulation import Model, simulate
from sim.outputs.statistics import paired_difference
from sim.records import CIN_STAGES, JOURNEY_SCHEMA
from sim.scenario import load_scenario

#: A small LA (20,000 children) with a community team scaled to it: 3 FTE, full coverage.
SMALL: dict[str, float] = {
    "population.child_population": 20_000, "workforce.posts_fte": 42.0,
    "front_door.staff_fte": 4.0, "supervision.managers": 6.0,
}
TEAM: dict[str, float] = {"community_team.fte": 3.0, "community_team.full_coverage_fte": 3.0}
#: Nothing arises or starts on its own: families are offered early help by the test only;
#: tier-1 early help always works and nothing recurs, so each family is offered it once.
QUIET: dict[str, float] = {
    **{f"population.concern_rate_tier{k}": 0.0 for k in range(4)},
    **{f"universal.notice_rate_tier{k}": 0.0 for k in range(4)},
    "early_help.initial": 0.0, "protection.initial_looked_after": 0.0,
    "protection.initial_cin_plans": 0.0, "protection.initial_cp_plans": 0.0,
    "protection.initial_assessments": 0.0, "protection.initial_s47": 0.0,
    "court.initial_proceedings": 0.0, "population.child_population": 10_000,
    "early_help.success_tier1": 1.0, "population.recurrence_share_met": 0.0,
}


def _small(**values: float):
    return load_scenario("baseline").with_values({**SMALL, **values})


def _offers(values: dict, times: list[float], until: float, seed: int = 1
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a quiet model in which a tier-1 family is offered early help at each of
    ``times`` (days); return (monthly stocks, journey log)."""
    batches: list[pa.RecordBatch] = []
    m = Model(dict(values), rep=0, seed=seed, sink=batches.append)

    def offer(event: Timeout) -> None:
        child = event._value
        m.log(child, "concern", "community")
        m.community.early_help(child, m.env.now)

    for t in times:
        child = m.new_child(1, 1.0, birth=-5.0 * YEAR)
        Timeout(m.env, t, child).callbacks.append(offer)
    stocks = m.run(until)
    return stocks, frame(pa.Table.from_batches(batches, schema=JOURNEY_SCHEMA))


def _first(log: pd.DataFrame, event: str) -> pd.Series:
    """Time of each child's first ``event``."""
    return log[log["event"] == event].groupby("child")["time"].min()


# ---------------------------------------------------------------------------------------------
# community-team help
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def team_runs():
    """The small LA with a community team holding 30 cases, and with one holding 1."""
    out = {}
    for cases in (10.0, 1.0 / 3.0):
        sc = _small(**TEAM, **{"community_team.cases_per_fte": cases})
        stocks, table = run(sc, seed=3, warmup_years=0.5, years=1.0)
        out[cases] = (stocks, frame(table))
    return out


def test_team_holds_cases_within_its_capacity_and_they_are_not_children_in_need(team_runs):
    assert "team_help" not in CIN_STAGES
    stocks, log = team_runs[10.0]
    assert_conserved(stocks, log)  # cin_open leaves team-held cases out
    ev = log["event"]
    assert (ev == "team_help_started").sum() > 50
    assert stocks["stage_team_help"].max() <= 30
    assert stocks["stage_team_help"].iloc[6:].min() >= 20  # the team fills up
    # at every start, at most 30 cases are held
    ordered = time_ordered(log)
    for t in log.loc[ev == "team_help_started", "time"].to_numpy()[::20]:
        assert stage_counts(ordered, t).get("team_help", 0) <= 30
    # held cases end met, stepped up to a referral or back in the community
    ended = ordered[ordered["event"].shift(1).eq("team_help_ended")
                    & ordered["child"].eq(ordered["child"].shift(1))]
    assert {"referral"} <= set(ended["event"])


def _consultation_outcomes(log: pd.DataFrame) -> pd.Series:
    """Per consultation: the event that follows it for the same child."""
    ordered = time_ordered(log)
    nxt = ordered["event"].shift(-1).where(ordered["child"].eq(ordered["child"].shift(-1)))
    return nxt[ordered["event"] == "consulted"].value_counts()


def test_a_team_with_tiny_capacity_refers_more(team_runs):
    roomy = _consultation_outcomes(team_runs[10.0][1])
    tiny = _consultation_outcomes(team_runs[1.0 / 3.0][1])
    held, held_tiny = roomy.get("team_help_started", 0), tiny.get("team_help_started", 0)
    assert held > 4 * held_tiny
    assert tiny["referral"] > roomy["referral"] + 0.5 * (held - held_tiny)
    total = {k: int((team_runs[k][1]["event"] == "referral").sum()) for k in team_runs}
    assert total[1.0 / 3.0] > total[10.0]


def test_a_team_referral_carries_its_assessment_and_it_is_continued():
    sc = load_scenario("baseline")
    assert not sc["assessment.continue_shared"]
    saving = sc["assessment.shared_effort_saving"]
    m = Model(dict(sc.values), rep=0, seed=1, sink=None)
    after_help = m.new_child(2, 1.0, birth=-5.0 * YEAR)
    m.front_door.team_referral(after_help, 0.0)  # stepped up after team help
    assert after_help.shared and after_help.team_assessed
    assert m.assessment._effort(after_help, 10.0) == pytest.approx(10.0 * (1.0 - saving))
    # another partner's form is not continued under the 2010 policy
    other = m.new_child(2, 1.0, birth=-5.0 * YEAR)
    other.shared = True
    assert m.assessment._effort(other, 10.0) == pytest.approx(10.0)
    # at a consultation the team's assessment comes with the stated chance
    kids = [m.new_child(3, 1.0, birth=-5.0 * YEAR) for _ in range(400)]
    for child in kids:
        m.front_door.team_referral(child, 0.0, 3.0)
    shares = [c.shared for c in kids]
    assert all(c.team_assessed == c.shared for c in kids)
    assert abs(np.mean(shares) - sc["community_team.shared_assessment_share"]) < 0.08


# ---------------------------------------------------------------------------------------------
# early help: waiting list, reneging and supply
# ---------------------------------------------------------------------------------------------


def test_early_help_waiting_list_is_fifo_with_reneging():
    """3 places, 60 families offered one every half day; spells of 20 days, patience 10."""
    values = dict(load_scenario("baseline").with_values({
        **QUIET, "early_help.places": 3.0, "early_help.duration_days": 20.0,
        "early_help.patience_days": 10.0, "early_help.supply_gain": 0.0}).values)
    times = [1.0 + 0.5 * i for i in range(60)]
    stocks, log = _offers(values, times, until=4 * MONTH)
    assert_conserved(stocks, log)
    waits, starts = _first(log, "early_help_waiting"), _first(log, "early_help_started")
    gave_up = _first(log, "early_help_gave_up")
    ends = set(log.loc[log["event"] == "early_help_ended", "time"])
    assert len(waits) > 30 and len(gave_up) > 10
    assert set(gave_up.index) <= set(waits.index)
    assert not set(gave_up.index) & set(starts.index)  # who gives up never takes a place
    assert (gave_up - waits[gave_up.index] > 0).all()
    served = starts[starts.index.isin(waits.index)]
    assert len(served) >= 3
    ordered = time_ordered(log)
    for child, s in served.items():
        assert s in ends  # a place has just freed
        assert stage_counts(ordered, s).get("early_help", 0) <= 3
        # first come, first served: everyone who came earlier has started or given up
        earlier = waits.index[waits < waits[child]]
        left = pd.concat([starts.reindex(earlier), gave_up.reindex(earlier)], axis=1).min(axis=1)
        assert (left <= s).all(), child
    # within the places: never more than 3 in early help at a start
    for s in starts:
        assert stage_counts(ordered, s).get("early_help", 0) <= 3


def test_patience_is_exponential_with_the_stated_mean():
    values = dict(load_scenario("baseline").with_values({
        **QUIET, "early_help.places": 0.0, "early_help.patience_days": 15.0,
        "early_help.supply_gain": 0.0}).values)
    stocks, log = _offers(values, [1.0 + 0.25 * i for i in range(400)], until=10 * MONTH)
    waits, gave_up = _first(log, "early_help_waiting"), _first(log, "early_help_gave_up")
    assert len(waits) == len(gave_up) == 400
    patience = (gave_up - waits[gave_up.index]).to_numpy()
    assert stats.kstest(patience, "expon", args=(0, 15.0)).pvalue > 0.01
    assert (stocks["early_help_occupancy"] == 0).all()
    assert stocks["early_help_waiting"].iloc[0] > 0


def test_early_help_places_follow_the_waiting_list_with_a_first_order_delay():
    gain, months = 1.0, 6.0
    sc = _small(**{"early_help.places": 120.0, "early_help.supply_gain": gain,
                   "early_help.supply_months": months})
    stocks = simulate(sc, rep=0, seed=2, warmup_years=0.0, years=2.0, journey_sink=None)
    base = 120.0 * 2.0
    places = stocks["early_help_places"].to_numpy()
    waiting = stocks["early_help_waiting"].to_numpy()
    assert places[0] == pytest.approx(base)
    step = 1.0 - math.exp(-1.0 / months)
    expected = places[:-1] + (base * (1.0 + gain * waiting[:-1] / places[:-1])
                              - places[:-1]) * step
    np.testing.assert_allclose(places[1:], expected, rtol=1e-12)
    assert waiting[:6].mean() > 20
    assert places[-1] > 1.1 * base
    assert (stocks["early_help_occupancy"] <= np.ceil(places)).all()
    # without a supply response places stay put
    flat = simulate(sc.with_values({"early_help.supply_gain": 0.0}), rep=0, seed=2,
                    warmup_years=0.0, years=1.0, journey_sink=None)
    assert (flat["early_help_places"] == base).all()


def test_places_rise_after_a_surge_in_demand_with_a_delay():
    surge = {"shocks.surge_start_year": 1.0, "shocks.surge_months": 12.0,
             "shocks.surge_factor": 1.5}
    stocks = simulate(_small(**surge), rep=0, seed=4, warmup_years=0.0, years=2.5,
                      journey_sink=None)
    base = 200.0 * 2.0
    places = stocks["early_help_places"].to_numpy()
    month = stocks["month"].to_numpy()
    before = places[(month >= 6) & (month <= 12)]
    assert before.max() < 1.02 * base
    # the surge reaches early help over weeks, and the places follow months later
    assert places[month == 14][0] < 1.02 * base
    assert places[(month >= 19) & (month <= 24)].mean() > 1.05 * base
    assert stocks.loc[(month >= 13) & (month <= 24), "early_help_waiting"].mean() > 10


def test_b1_off_has_no_capacity_waiting_supply_or_team():
    values = dict(load_scenario("baseline").with_values({
        **QUIET, "early_help.places": 0.0, "early_help.patience_days": 1.0,
        "loops.early_help": False, **TEAM}).values)
    times = [1.0 + 0.5 * i for i in range(40)]
    stocks, log = _offers(values, times, until=3 * MONTH)
    assert_conserved(stocks, log)
    starts = _first(log, "early_help_started")
    offered = log[log["event"] == "concern"].set_index("child")["time"]
    assert len(starts) == 40 and (starts == offered[starts.index]).all()
    assert not log["event"].isin(["early_help_waiting", "early_help_gave_up",
                                  "team_help_started", "consulted"]).any()
    assert np.isinf(stocks["early_help_places"]).all()
    assert (stocks["early_help_waiting"] == 0).all()
    # a whole LA with a community team: no consultation, no team help, no waiting
    stocks, table = run(_small(**TEAM, **{"loops.early_help": False}), seed=1,
                        warmup_years=0.0, years=1.0)
    ev = set(table.column("event").to_pylist())
    assert not ev & {"consulted", "team_help_started", "early_help_waiting"}
    assert (stocks["stage_team_help"] == 0).all()


def test_ten_percent_more_demand_for_early_help_moves_occupancy_and_waiting():
    """No dead zone at the baseline: early-help spells 10% longer (10% more place-days
    demanded) raise occupancy measurably and bring families onto the waiting list."""
    half = load_scenario("baseline").with_values({
        "population.child_population": 36_500, "workforce.posts_fte": 77.0,
        "front_door.staff_fte": 7.0, "supervision.managers": 10.0,
        "court.sitting_days_per_week": 5.0})
    more = half.with_values({"early_help.duration_days": 1.1 * half["early_help.duration_days"]})
    used, waiting = {}, {}
    for name, sc in (("base", half), ("more", more)):
        used[name], waiting[name] = [], []
        for rep in range(4):
            s = simulate(sc, rep=rep, seed=5, warmup_years=0.0, years=3.0, journey_sink=None)
            w = s[s["time"] > YEAR]
            used[name].append(float((w["early_help_occupancy"] + w["early_help_waiting"]).mean()))
            waiting[name].append(float(w["early_help_waiting"].mean()))
    diff, half_width, _ = paired_difference(used["base"], used["more"])
    assert diff - half_width > 0.04 * np.mean(used["base"]), (diff, half_width)
    assert sum(waiting["more"]) > sum(waiting["base"]) + 2.0
