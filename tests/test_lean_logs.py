"""Logs of the measured window: rows marked ``at_start`` are never flows, and the KPIs of a
window-only log equal those of the full log.

Hand-made logs show each rule; real runs at several seeds show the equality.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from test_kpis import S, ev, log, records

from sim.clock import Window
from sim.model.journal import EVENT_CODE, ROW_DTYPE, STAGE_CODE, Journal
from sim.model.simulation import simulate
from sim.outputs import kpis as K
from sim.records import CONTEXT_DAYS, JOURNEY_SCHEMA
from sim.scenario import load_scenario

TINY = {"population.child_population": 20000, "workforce.posts_fte": 42.0,
        "front_door.staff_fte": 4.0, "supervision.managers": 6.0}


# -- hand-made logs: at_start rows are not flows --------------------------------------------


def test_rows_present_at_the_start_are_not_counted_as_flows():
    j = log(
        ev(S + 1, 1, "referral", at_start=True),  # a row placing a child present at the start
        ev(S + 2, 2, "referral"),
        ev(S + 3, 3, "cp_plan_started", stage="cp_plan", at_start=True),
        ev(S + 4, 4, "cp_plan_started", stage="cp_plan"),
    )
    r = records(j)
    assert K.referrals_per_year(r) == pytest.approx(1 / r.window.years)
    assert K.cp_plans_started_per_year(r) == pytest.approx(1 / r.window.years)


def test_a_referral_kept_from_before_the_window_makes_a_re_referral():
    j = log(
        ev(S - 100, 1, "referral", at_start=True),
        ev(S + 100, 1, "referral"),  # within 12 months of the kept one
        ev(S + 50, 2, "referral"),
    )
    assert K.rereferral_rate_12m(records(j)) == pytest.approx(0.5)


def test_proceedings_from_the_start_of_the_run_have_no_known_duration():
    window = Window(0.0, 365.25)
    j = log(
        ev(0.0, 1, "care_application", stage="proceedings", at_start=True),  # present at 0
        ev(100.0, 1, "proceedings_ended", stage="looked_after", detail="order"),
        ev(10.0, 2, "care_application", stage="proceedings"),
        ev(80.0, 2, "proceedings_ended", stage="looked_after", detail="order"),
    )
    r = records(j, window=window)
    assert K.care_proceedings_weeks_mean(r) == pytest.approx(70 / 7)
    assert K.care_applications_per_year(r) == pytest.approx(1 / window.years)


def test_an_application_kept_from_before_the_window_dates_its_proceedings():
    j = log(
        ev(S - 70, 1, "care_application", stage="proceedings", at_start=True),
        ev(S + 70, 1, "proceedings_ended", stage="looked_after", detail="order"),
    )
    r = records(j)
    assert K.care_proceedings_weeks_mean(r) == pytest.approx(20.0)
    assert K.care_applications_per_year(r) == 0.0


def test_the_state_kept_at_the_start_counts_for_stocks_of_the_log():
    """A child open at the start with no event in the window: its kept last row places it
    (open at the end, unprotected tier-3 time) though it is no flow."""
    j = log(ev(S - 10, 1, "referral", stage="referral", true=3, at_start=True))
    r = records(j)
    assert K.open_cases_at_end(r) == 1.0
    assert K.missed_harm_per_year(r) > 0
    assert K.referrals_per_year(r) == 0.0


def test_a_contact_kept_from_before_the_window_is_not_a_first_contact():
    j = log(
        ev(S - 5, 1, "contact", stage="front_door", at_start=True),
        ev(S + 5, 1, "contact", stage="front_door"),  # same episode: not its first contact
        ev(S + 6, 2, "contact", stage="front_door"),
    )
    durations, observed = K.time_to_help(records(j))
    assert len(durations) == 1 and not observed.any()


def test_a_log_without_the_column_has_no_marks():
    j = log(ev(S + 1, 1, "referral")).drop(columns="at_start")
    assert K.referrals_per_year(records(j)) == pytest.approx(1 / records(j).window.years)


# -- the journal: what a window-only log keeps -----------------------------------------------


def _row(t, child, event, stage, episode=1):
    # the last field: born before the run (days)
    return (t, child, episode, STAGE_CODE[stage], EVENT_CODE[event], -1, -1, 2, 0, -3000.0)


def test_journal_keeps_the_state_and_context_of_open_cases_only():
    start = 1000.0
    batches: list[pa.RecordBatch] = []
    j = Journal(0, batches.append, chunk_rows=3, log_from=start)
    rows = [
        _row(10.0, 1, "referral", "referral"),          # child 1: open at the start
        _row(20.0, 1, "allocated", "referral"),
        _row(30.0, 2, "referral", "referral"),          # child 2: closed long ago
        _row(40.0, 2, "closed", "left"),
        _row(start - 50, 3, "referral", "referral"),    # child 3: closed recently
        _row(start - 40, 3, "closed", "left"),
        _row(start + 5, 4, "concern", "community"),     # logged early, timed in the window
    ]
    j.add_block(np.array(rows, dtype=ROW_DTYPE))
    j.open_window()
    j.add_block(np.array([_row(start + 10, 1, "closed", "left")], dtype=ROW_DTYPE))
    j.flush()
    table = pa.Table.from_batches(batches, schema=JOURNEY_SCHEMA).to_pandas()
    kept = table[table.at_start]
    assert set(zip(kept.child, kept.time, strict=True)) == {
        (1, 10.0), (1, 20.0), (3, start - 50), (3, start - 40)}
    assert list(kept.time) == sorted(kept.time)  # in the order of the full log
    assert not table[~table.at_start].time.lt(start).any()
    assert set(table[~table.at_start].child) == {1, 4}
    assert CONTEXT_DAYS >= K.REREFERRAL_DAYS


# -- real runs: the same KPIs from either log ------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_window_log_gives_the_kpis_of_the_full_log(seed):
    sc = load_scenario("baseline").with_values(TINY)
    warmup, years = 1.5, 1.0
    out = {}
    for keep in (True, False):
        batches: list[pa.RecordBatch] = []
        stocks = simulate(sc, rep=0, seed=seed, warmup_years=warmup, years=years,
                          journey_sink=batches.append, log_warmup=keep)
        journeys = pa.Table.from_batches(batches, schema=JOURNEY_SCHEMA).to_pandas()
        out[keep] = (K.compute_kpis(K.RunRecords(journeys, stocks,
                                                 Window.from_years(warmup, years), 20000)),
                     len(journeys), stocks)
    full, lean = out[True], out[False]
    assert lean[1] < 0.7 * full[1]
    assert full[2].equals(lean[2])
    for name, value in full[0].items():
        other = lean[0][name]
        assert (math.isnan(value) and math.isnan(other)) or value == pytest.approx(
            other, rel=1e-12, abs=1e-12), name


def test_the_initial_population_is_marked_and_not_counted_with_no_warmup():
    sc = load_scenario("baseline").with_values(TINY)
    batches: list[pa.RecordBatch] = []
    stocks = simulate(sc, rep=0, seed=1, warmup_years=0.0, years=0.5,
                      journey_sink=batches.append)
    j = pa.Table.from_batches(batches, schema=JOURNEY_SCHEMA).to_pandas()
    marked = j[j.at_start]
    assert len(marked) > 0 and (marked.time == 0.0).all()
    assert not j[(j.time > 0) & j.at_start].shape[0]
    r = K.RunRecords(j, stocks, Window.from_years(0.0, 0.5), 20000)
    started = ((j.event == "cp_plan_started") & ~j.at_start).sum()
    assert K.cp_plans_started_per_year(r) == pytest.approx(started / 0.5)
    assert (marked.event == "cp_plan_started").sum() > 0
