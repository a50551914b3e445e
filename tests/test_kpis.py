"""Tests of the KPI definitions on hand-made journey logs and stock tables.

Every test uses the window ``Window.from_years(1, 2)``: warm-up [0, 365.25), measured
window [365.25, 1095.75), 2 years. Expected values are worked by hand in the comments.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.clock import MONTH, YEAR, Window
from sim.outputs.kpis import (
    DECISION_STAGES,
    KPIS,
    RunRecords,
    compute_kpis,
    km_median,
    stage_decisions,
    time_to_help,
)
from sim.records import JOURNEY_COLUMNS, STOCK_COLUMNS

W = Window.from_years(1, 2)
S, E = W.start, W.end  # 365.25, 1095.75
POP = 20_000
CALIBRATION_DIR = Path(__file__).resolve().parents[1] / "sim/data/calibration"
CALIBRATION = CALIBRATION_DIR / "england-2010-11.csv"
CARE_FLOWS = CALIBRATION_DIR / "care-flows-2010-11.csv"


def ev(time, child, event, stage="referral", true=2, known=-1, detail="", episode=1,
       birth=-3000.0, at_start=False):
    """One journey row (rep 0, no worker); ``birth`` is the date of birth (days)."""
    return {
        "rep": 0,
        "time": float(time),
        "child": child,
        "episode": episode,
        "stage": stage,
        "event": event,
        "worker": -1,
        "known_tier": known,
        "true_tier": true,
        "detail": detail,
        "birth": float(birth),
        "at_start": at_start,
    }


def log(*rows) -> pd.DataFrame:
    """A journey log with the schema's columns and integer dtypes."""
    df = pd.DataFrame(list(rows), columns=list(JOURNEY_COLUMNS))
    return df.astype(
        {
            "rep": "int32",
            "time": "float64",
            "child": "int64",
            "episode": "int32",
            "worker": "int32",
            "known_tier": "int8",
            "true_tier": "int8",
            "stage": object,
            "event": object,
            "detail": object,
            "birth": "float64",
            "at_start": bool,
        }
    )


def stocks(months=range(0, 40), **columns) -> pd.DataFrame:
    """Monthly stock rows at time m * MONTH; each column a function of the month m."""
    ms = np.asarray(list(months))
    df = pd.DataFrame({c: np.zeros(ms.size) for c in STOCK_COLUMNS})
    df["rep"] = 0
    df["month"] = ms
    df["time"] = ms * MONTH
    for name, f in columns.items():
        df[name] = [float(f(m)) for m in ms]
    return df


def records(journeys=None, stock=None, window=W, pop=POP) -> RunRecords:
    return RunRecords(
        journeys=log() if journeys is None else journeys,
        stocks=stocks() if stock is None else stock,
        window=window,
        child_population=pop,
    )


def kpi(name, journeys=None, stock=None):
    return KPIS[name].func(records(journeys, stock))


# event counts ----------------------------------------------------------------------------


def front_door_log() -> pd.DataFrame:
    return log(
        # referrals: 100 (warm-up), S (in), 500 (in), 1000 (in), E (out), 1200 (out)
        ev(100, 1, "referral"),
        ev(S, 2, "referral"),
        ev(500, 3, "referral"),
        ev(1000, 4, "referral"),
        ev(E, 5, "referral"),
        ev(1200, 6, "referral"),
        ev(520, 3, "referral_nfa", stage="left"),
        ev(200, 1, "referral_nfa", stage="left"),  # warm-up: not counted
        # initial assessments: 4 in window (on_time, at_deadline, late, late), 1 in warm-up
        ev(380, 11, "initial_assessment_done", "assessment", detail="on_time"),
        ev(390, 12, "initial_assessment_done", "assessment", detail="at_deadline"),
        ev(400, 13, "initial_assessment_done", "assessment", detail="late"),
        ev(410, 14, "initial_assessment_done", "assessment", detail="late"),
        ev(300, 15, "initial_assessment_done", "assessment", detail="on_time"),
        # core assessments: 3 in window (on_time, late, at_deadline), 1 after the end
        ev(600, 11, "core_assessment_done", "assessment", detail="on_time"),
        ev(610, 12, "core_assessment_done", "assessment", detail="late"),
        ev(620, 13, "core_assessment_done", "assessment", detail="at_deadline"),
        ev(1100, 14, "core_assessment_done", "assessment", detail="on_time"),
        # single assessments (flexible policy): 2 in window (late, on_time)
        ev(700, 21, "assessment_done", "assessment", detail="late"),
        ev(710, 22, "assessment_done", "assessment", detail="on_time"),
        # s47: 3 in window, 1 in warm-up; icpc 2 in window; cp plans 1 in window, 1 at E
        ev(450, 31, "strategy_discussion", "s47"),
        ev(460, 32, "strategy_discussion", "s47"),
        ev(470, 33, "strategy_discussion", "s47"),
        ev(10, 34, "strategy_discussion", "s47"),
        ev(480, 31, "icpc", "s47"),
        ev(490, 32, "icpc", "s47"),
        ev(495, 31, "cp_plan_started", "cp_plan"),
        ev(E, 32, "cp_plan_started", "cp_plan"),
        # serious incidents: 3 in window; serious case reviews: 1 in window, 1 in warm-up
        ev(800, 41, "serious_incident", "community", true=3),
        ev(801, 42, "serious_incident", "community", true=3),
        ev(802, 43, "serious_incident", "community", true=3),
        ev(900, 41, "scr_started", "community", true=3),
        ev(5, 42, "scr_started", "community", true=3),
    )


def test_event_counts_only_in_window():
    got = compute_kpis(records(front_door_log()))
    assert got["referrals_per_year"] == pytest.approx(3 / 2)  # S, 500, 1000 over 2 years
    assert got["referral_rate_per_10k"] == pytest.approx(1.5 / POP * 10000)  # 0.75
    assert got["referral_nfa_share"] == pytest.approx(1 / 3)  # one nfa at 520 / 3 referrals
    assert got["initial_assessments_per_year"] == pytest.approx(4 / 2)
    assert got["initial_assessment_within_timescale_share"] == pytest.approx(2 / 4)
    assert got["core_assessments_per_year"] == pytest.approx(3 / 2)
    assert got["core_assessment_within_35wd_share"] == pytest.approx(2 / 3)
    # first assessments: 4 initial + 2 single = 6, over 2 years
    assert got["assessments_per_year"] == pytest.approx(6 / 2)
    # at_deadline among 4 initial + 3 core + 2 single = 9 assessments: 390 and 620 -> 2/9
    assert got["assessment_closed_at_deadline_share"] == pytest.approx(2 / 9)
    assert got["s47_enquiries_per_year"] == pytest.approx(3 / 2)
    assert got["initial_cp_conferences_per_year"] == pytest.approx(2 / 2)
    assert got["cp_plans_started_per_year"] == pytest.approx(1 / 2)
    assert got["serious_incidents_per_year"] == pytest.approx(3 / 2)
    assert got["serious_case_reviews_per_year"] == pytest.approx(1 / 2)


def test_rows_out_of_order_and_categorical_columns_give_same_kpis():
    base = pd.concat(
        [front_door_log(), rereferral_log(), proceedings_log(), missed_harm_log(),
         help_log(), decisions_log(), screening_log(), assessment_log(), conference_log(),
         court_log()],
        ignore_index=True,
    )
    expected = compute_kpis(records(base))
    # Shuffle rows, keeping rows with equal (child, time) together and in file order.
    rng = np.random.default_rng(3)
    group = base.groupby(["child", "time"], sort=False).ngroup().to_numpy()
    order = np.argsort(rng.random(group.max() + 1)[group], kind="stable")
    shuffled = base.iloc[order].reset_index(drop=True)
    assert not shuffled["time"].is_monotonic_increasing
    cat = shuffled.astype({"stage": "category", "event": "category", "detail": "category"})
    for frame in (shuffled, cat):
        got = compute_kpis(records(frame))
        assert list(got) == list(expected)
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, nan_ok=True), name


# re-referrals ----------------------------------------------------------------------------


def rereferral_log() -> pd.DataFrame:
    return log(  # deliberately not in time order
        ev(900, 101, "referral"),  # 400 days after 500: not a re-referral
        ev(500, 101, "referral"),  # 300 days after 200 (warm-up): re-referral
        ev(200, 101, "referral"),  # warm-up: not in the denominator
        ev(765, 102, "referral"),  # exactly 365 days after 400: re-referral
        ev(400, 102, "referral"),  # first referral of child 102: not
        ev(300, 103, "referral"),  # warm-up only
        ev(1000, 104, "referral"),  # first: not
        ev(1100, 104, "referral"),  # after the window end: not counted
        ev(600, 105, "contact", "front_door"),  # not a referral
    )


def test_rereferral_rate_within_and_beyond_365_days_and_across_warmup():
    # in window: 101@500 yes, 101@900 no, 102@400 no, 102@765 yes, 104@1000 no -> 2/5
    assert kpi("rereferral_rate_12m", rereferral_log()) == pytest.approx(2 / 5)
    assert kpi("referrals_per_year", rereferral_log()) == pytest.approx(5 / 2)


# care proceedings ------------------------------------------------------------------------


def proceedings_log() -> pd.DataFrame:
    return log(
        # 201: application in warm-up (300), ends at 664 in window -> 364 days = 52 weeks
        ev(664, 201, "proceedings_ended", "looked_after", detail="order"),
        ev(300, 201, "care_application", "proceedings", true=3),
        # 202: 500 -> 682 = 182 days = 26 weeks (within 26 weeks)
        ev(500, 202, "care_application", "proceedings", true=3),
        ev(682, 202, "proceedings_ended", "cp_plan", detail="home"),
        # 203: application at 1000, still open at the end -> open_at_end
        ev(1000, 203, "care_application", "proceedings", true=3),
        # 204: both in warm-up: neither in the mean nor open
        ev(100, 204, "care_application", "proceedings", true=3),
        ev(200, 204, "proceedings_ended", "looked_after", detail="order"),
        # 205: ends after the window end -> open at end, not in the mean
        ev(1000, 205, "care_application", "proceedings", true=3),
        ev(1200, 205, "proceedings_ended", "looked_after", detail="order"),
        # 206: episode 1 in warm-up; episode 2: 400 -> 680 = 280 days = 40 weeks
        ev(50, 206, "care_application", "proceedings", true=3, episode=1),
        ev(150, 206, "proceedings_ended", "cin_plan", detail="home", episode=1),
        ev(400, 206, "care_application", "proceedings", true=3, episode=2),
        ev(680, 206, "proceedings_ended", "looked_after", detail="order", episode=2),
    )


def test_care_proceedings_duration_and_censoring():
    got = compute_kpis(records(proceedings_log()))
    # finished in window: 52, 26, 40 weeks -> mean 118/3
    assert got["care_proceedings_weeks_mean"] == pytest.approx((52 + 26 + 40) / 3)
    assert got["care_proceedings_within_26wk_share"] == pytest.approx(1 / 3)
    assert got["care_proceedings_open_at_end"] == 2  # 203 and 205
    # applications in window: 202@500, 203@1000, 205@1000, 206@400 -> 4 over 2 years
    assert got["care_applications_per_year"] == pytest.approx(4 / 2)


def test_care_proceedings_none_finished_is_nan():
    only_open = log(ev(500, 1, "care_application", "proceedings", true=3))
    got = compute_kpis(records(only_open))
    assert math.isnan(got["care_proceedings_weeks_mean"])
    assert math.isnan(got["care_proceedings_within_26wk_share"])
    assert got["care_proceedings_open_at_end"] == 1


def test_proceedings_end_at_the_18th_birthday():
    """A child who turns 18 during proceedings leaves them: not open at the end."""
    aged = log(ev(500, 1, "care_application", "proceedings", true=3),
               ev(600, 1, "aged_out", "left", true=3),
               ev(500, 2, "care_application", "interim_care", true=3),
               ev(610, 2, "looked_after_ended", "left", detail="age_18", true=3),
               ev(700, 3, "care_application", "proceedings", true=3))
    assert compute_kpis(records(aged))["care_proceedings_open_at_end"] == 1  # child 3


# missed harm -----------------------------------------------------------------------------


def missed_harm_log() -> pd.DataFrame:
    return log(
        # 301: tier 3 unprotected [400, 500) community + [500, 600) referral = 200 days;
        # from 600 on a cp plan (protected), later tier 2.
        ev(700, 301, "improved", "cp_plan", true=2),
        ev(600, 301, "cp_plan_started", "cp_plan", true=3),
        ev(500, 301, "referral", "referral", true=3),
        ev(400, 301, "escalated", "community", true=3),
        ev(300, 301, "concern", "community", true=2),
        # 302: tier 3 from 100 (warm-up) and still open at the end, stage changes at 1000:
        # [S, 1000) = 634.75 + [1000, E) = 95.75 -> 730.5 days, the whole window
        ev(100, 302, "concern", "community", true=3),
        ev(1000, 302, "contact", "front_door", true=3),
        # 303: tier 3 [400, 450) then leaves (stage left): 50 days
        ev(400, 303, "concern", "community", true=3),
        ev(450, 303, "closed", "left", true=3),
        # 304: tier 3 only after the window: 0
        ev(1200, 304, "concern", "community", true=3),
        # 305: looked after throughout: protected, 0
        ev(0, 305, "looked_after_started", "looked_after", true=3),
        # 306: at 800 two events at the same time; file order puts it on a plan: 0
        ev(800, 306, "contact", "front_door", true=3),
        ev(800, 306, "cp_plan_started", "cp_plan", true=3),
    )


def test_missed_harm_child_months_per_year():
    days = 200 + 730.5 + 50  # = 980.5
    expected = days / MONTH / 2  # child-months per year over 2 years
    assert kpi("missed_harm_per_year", missed_harm_log()) == pytest.approx(expected)


# time to help ----------------------------------------------------------------------------


def help_log() -> pd.DataFrame:
    return log(
        # 401 ep 1: tier 2 contact at 400; early help (tier 1 only) does not meet it;
        # cin plan at 500 does -> 100 days, observed
        ev(380, 401, "concern", "community", true=2),
        ev(400, 401, "contact", "front_door", true=2),
        ev(420, 401, "early_help_started", "early_help", true=2),
        ev(500, 401, "cin_plan_started", "cin_plan", true=2),
        # 401 ep 2: tier 1 contact at 1050, early help at 1060 -> 10, observed
        ev(1060, 401, "early_help_started", "early_help", true=1, episode=2),
        ev(1050, 401, "contact", "front_door", true=1, episode=2),
        # 402: consulted at 450 (tier 1), early help at 460 -> 10, observed
        ev(450, 402, "consulted", "consultation", true=1),
        ev(460, 402, "early_help_started", "early_help", true=1),
        # 403: tier 3 at 600; cin plan does not meet it; cp plan at 800 -> 200, observed
        ev(600, 403, "contact", "front_door", true=3),
        ev(650, 403, "cin_plan_started", "cin_plan", true=3),
        ev(800, 403, "cp_plan_started", "cp_plan", true=3),
        # 404: tier 2 at 1000, closed without help -> censored at E: 95.75
        ev(1000, 404, "contact", "front_door", true=2),
        ev(1010, 404, "closed", "left", true=2),
        # 405: first contact in warm-up (300): excluded, even with a later contact
        ev(300, 405, "contact", "front_door", true=2),
        ev(400, 405, "contact", "front_door", true=2),
        ev(410, 405, "cin_plan_started", "cin_plan", true=2),
        # 406: tier 0 at first contact: excluded
        ev(500, 406, "contact", "front_door", true=0),
        # 407: tier 2 at 700, plan only after the end -> censored at E: 395.75
        ev(700, 407, "contact", "front_door", true=2),
        ev(1100, 407, "cin_plan_started", "cin_plan", true=2),
        # 408: tier 1 contact then cp plan at the same time, in file order -> 0, observed
        ev(900, 408, "contact", "front_door", true=1),
        ev(900, 408, "cp_plan_started", "cp_plan", true=1),
        # 409: the plan row comes before the contact in the file: not later -> censored 195.75
        ev(900, 409, "cp_plan_started", "cp_plan", true=1),
        ev(900, 409, "contact", "front_door", true=1),
    )


def test_time_to_help_durations_and_censoring():
    durations, observed = time_to_help(records(help_log()))
    pairs = sorted(zip(durations.tolist(), observed.tolist(), strict=True))
    assert pairs == [
        (0.0, True),  # 408
        (10.0, True),  # 401 ep 2
        (10.0, True),  # 402
        (pytest.approx(95.75), False),  # 404
        (100.0, True),  # 401 ep 1
        (pytest.approx(195.75), False),  # 409
        (200.0, True),  # 403
        (pytest.approx(395.75), False),  # 407
    ]


def test_time_to_help_km_median():
    # KM: t=0: 8 at risk, 1 event -> S = 7/8; t=10: 7 at risk, 2 events -> S = 7/8*5/7 = 5/8;
    # 95.75 censored; t=100: 4 at risk (100, 195.75, 200, 395.75) -> S = 5/8*3/4 = 15/32 < 1/2
    assert kpi("time_to_help_days_median", help_log()) == pytest.approx(100.0)


def test_km_median_hand_worked():
    # times 1(e) 2(c) 3(e) 4(e) 5(c) 6(e): S(1)=5/6; S(3)=5/6*3/4=0.625; S(4)=0.625*2/3=0.417
    assert km_median([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1]) == 4.0
    # uncensored 1..4: S(2) = 0.5 exactly on a step -> midpoint of 2 and 3
    assert km_median([4, 1, 3, 2], [True] * 4) == 2.5
    # survival never reaches 0.5: S(1) = 3/4
    assert math.isnan(km_median([1, 2, 3, 4], [1, 0, 0, 0]))
    assert math.isnan(km_median([], []))
    assert math.isnan(km_median([1.0, 2.0], [False, False]))


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=40))
def test_km_median_equals_median_without_censoring(values):
    assert km_median(values, np.ones(len(values), dtype=bool)) == pytest.approx(
        float(np.median(values))
    )


# decisions and interventions -------------------------------------------------------------


def decisions_log() -> pd.DataFrame:
    return log(
        ev(400, 501, "referral", known=2, true=2),  # right
        ev(410, 502, "screened_out", "left", known=0, true=1),  # wrong
        ev(420, 503, "initial_assessment_done", "assessment", known=3, true=3,
           detail="on_time"),  # right
        ev(430, 504, "icpc", "s47", known=-1, true=3),  # not yet known: excluded
        ev(440, 505, "plan_review", "cin_plan", known=2, true=2),  # right
        ev(450, 506, "contact", "front_door", known=1, true=2),  # not a decision event
        ev(100, 507, "referral", known=0, true=3),  # warm-up: excluded
        # interventions: true tier < 2 in window at 460 and 470; 480 has tier 2; 50 warm-up
        ev(460, 508, "strategy_discussion", "s47", known=3, true=1),
        ev(470, 509, "cin_plan_started", "cin_plan", known=2, true=0),
        ev(480, 510, "cp_plan_started", "cp_plan", known=3, true=2),
        ev(50, 511, "strategy_discussion", "s47", known=3, true=1),
    )


def test_decision_accuracy_ignores_unknown_tier():
    assert kpi("decision_accuracy", decisions_log()) == pytest.approx(3 / 4)


def test_unnecessary_interventions_per_year():
    assert kpi("unnecessary_interventions_per_year", decisions_log()) == pytest.approx(2 / 2)


# decision quality by stage ---------------------------------------------------------------


def screening_log() -> pd.DataFrame:
    return log(
        ev(400, 601, "screened_out", "left", known=0, true=0),  # right; below 2, not referred
        ev(410, 602, "signposted", "front_door", known=1, true=3),  # wrong; at risk, missed
        ev(420, 603, "referral", "referral", known=2, true=3),  # wrong; at risk, referred
        ev(430, 604, "referral", "referral", known=2, true=1),  # wrong; below 2, referred
        ev(440, 605, "referral_nfa", "community", known=1, true=1),  # right; not referred
        ev(450, 606, "screened_out", "community", known=0, true=3),  # wrong; at risk, missed
        ev(460, 607, "signposted", "consultation", known=-1, true=1),  # tier unknown
        ev(100, 608, "screened_out", "left", known=1, true=3),  # warm-up: excluded
        ev(E, 609, "referral", "referral", known=3, true=0),  # at the window end: excluded
        ev(470, 610, "referral", "referral", known=2, true=0, at_start=True),  # not a flow
        ev(480, 611, "contact", "front_door", known=1, true=3),  # not a decision
    )


def test_screening_decisions_by_stage():
    j = screening_log()
    # known tier in window: 601 right, 602-604 wrong, 605 right, 606 wrong -> 2/6
    assert kpi("screening_decision_accuracy", j) == pytest.approx(2 / 6)
    # true tier 3: 602 signposted, 603 referred, 606 screened out -> 2/3 not referred
    assert kpi("screening_missed_harm_share", j) == pytest.approx(2 / 3)
    # true tier < 2: 601, 604 (referred), 605, 607 -> 1/4 (607 counts: its outcome is known)
    assert kpi("screening_unnecessary_share", j) == pytest.approx(1 / 4)


def assessment_log() -> pd.DataFrame:
    return log(
        ev(500, 701, "initial_assessment_done", "assessment", known=2, true=2,
           detail="on_time"),  # right
        ev(510, 702, "initial_assessment_done", "assessment", known=1, true=3,
           detail="late"),  # wrong; at risk judged below 3
        ev(520, 703, "core_assessment_done", "assessment", known=3, true=3,
           detail="on_time"),  # right; at risk judged at risk
        ev(530, 704, "assessment_done", "assessment", known=2, true=1,
           detail="late"),  # wrong; below 2 judged in need
        ev(540, 705, "initial_assessment_done", "assessment", known=0, true=0,
           detail="on_time"),  # right
        # the section 47 enquiry's assessment, logged with the enquiry's judgement: wrong
        ev(550, 706, "core_assessment_done", "s47", known=3, true=1, detail="on_time"),
        ev(560, 707, "initial_assessment_done", "assessment", known=-1, true=3),  # unknown
        ev(300, 708, "initial_assessment_done", "assessment", known=2, true=3),  # warm-up
        ev(1100, 709, "assessment_done", "assessment", known=3, true=0),  # after the end
        ev(570, 710, "plan_review", "cin_plan", known=2, true=3),  # a review: not here
    )


def test_assessment_decisions_by_stage():
    j = assessment_log()
    # 701 right, 702 wrong, 703 right, 704 wrong, 705 right, 706 wrong -> 3/6
    assert kpi("assessment_decision_accuracy", j) == pytest.approx(3 / 6)
    # true tier 3: 702 judged 1, 703 judged 3 -> 1/2
    assert kpi("assessment_missed_harm_share", j) == pytest.approx(1 / 2)
    # true tier < 2: 704 judged 2, 705 judged 0, 706 judged 3 -> 2/3
    assert kpi("assessment_unnecessary_share", j) == pytest.approx(2 / 3)
    # the pooled measure counts the enquiry's row and the review too: 701, 703, 705 right
    # of 701-706 and 710 -> 3/7
    assert kpi("decision_accuracy", j) == pytest.approx(3 / 7)


def conference_log() -> pd.DataFrame:
    return log(
        ev(600, 801, "icpc", "s47", known=3, true=3),  # right
        ev(610, 802, "icpc", "s47", known=2, true=3),  # wrong; at risk, no CP plan
        ev(620, 803, "icpc", "s47", known=2, true=1),  # wrong; below 2, a plan
        ev(630, 804, "icpc", "s47", known=1, true=1),  # right; no plan
        ev(640, 805, "icpc", "s47", known=3, true=2),  # wrong; neither at risk nor below 2
        ev(650, 806, "icpc", "s47", known=-1, true=0),  # tier unknown: excluded
        ev(200, 807, "icpc", "s47", known=2, true=3),  # warm-up: excluded
    )


def test_conference_decisions_by_stage():
    j = conference_log()
    assert kpi("conference_decision_accuracy", j) == pytest.approx(2 / 5)  # 801, 804
    assert kpi("conference_missed_harm_share", j) == pytest.approx(1 / 2)  # 802 of 801, 802
    assert kpi("conference_unnecessary_share", j) == pytest.approx(1 / 2)  # 803 of 803, 804


def court_log() -> pd.DataFrame:
    pe = "proceedings_ended"
    return log(
        # the true tier is the one on the child's row before the decision
        ev(500, 901, "hearing", "proceedings", true=3),
        ev(600, 901, pe, "looked_after", true=3, detail="order"),  # right
        ev(500, 902, "hearing", "proceedings", true=3),
        ev(600, 902, pe, "proceedings", true=2, detail="home"),  # tier 3 sent home: missed
        ev(550, 903, "hearing", "proceedings", true=1),
        ev(650, 903, pe, "looked_after", true=1, detail="placement"),  # below 2: unnecessary
        ev(560, 904, "hearing", "proceedings", true=2),
        ev(660, 904, pe, "proceedings", true=2, detail="home"),  # right (judged 2)
        ev(560, 905, "hearing", "proceedings", true=0),
        ev(670, 905, pe, "proceedings", true=2, detail="home"),  # wrong, but no order
        # the row before may be a state kept from before the window
        ev(S - 10, 906, "hearing", "interim_care", true=3, at_start=True),
        ev(700, 906, pe, "interim_care", true=3, detail="family"),  # right
        ev(710, 907, pe, "proceedings", true=3, detail="home"),  # no earlier row: excluded
        ev(100, 908, "hearing", "proceedings", true=1),
        ev(300, 908, pe, "looked_after", true=1, detail="order"),  # warm-up: excluded
        ev(1000, 909, "hearing", "proceedings", true=3),
        ev(E, 909, pe, "proceedings", true=2, detail="home"),  # at the window end: excluded
        # at equal times the file order says which row came before
        ev(720, 910, "hearing", "proceedings", true=3),
        ev(720, 910, pe, "proceedings", true=2, detail="home"),  # tier 3 sent home: missed
    )


def test_court_decisions_by_stage():
    j = court_log()
    # in window: 901 (3, order), 902 (3, home), 903 (1, order), 904 (2, home),
    # 905 (0, home), 906 (3, family), 910 (3, home); judged 3 for an order, 2 for home
    assert kpi("court_decision_accuracy", j) == pytest.approx(3 / 7)  # 901, 904, 906
    assert kpi("court_missed_harm_share", j) == pytest.approx(2 / 4)  # 902, 910 of 4
    assert kpi("court_unnecessary_share", j) == pytest.approx(1 / 2)  # 903 of 903, 905


def test_stage_kpis_are_nan_without_decisions():
    got = compute_kpis(records(log()))
    for stage in DECISION_STAGES:
        for measure in ("decision_accuracy", "missed_harm_share", "unnecessary_share"):
            assert math.isnan(got[f"{stage}_{measure}"]), (stage, measure)
    with pytest.raises(ValueError, match="unknown decision stage"):
        stage_decisions(records(log()), "review")


_DECIDED = ("screened_out", "signposted", "referral", "referral_nfa",
            "initial_assessment_done", "core_assessment_done", "assessment_done", "icpc",
            "proceedings_ended")
_ROW = st.tuples(
    st.sampled_from([100.0, S - 1.0, S, 500.0, 500.0, 800.0, E - 1.0, E, 1200.0]),  # time
    st.integers(1, 5),  # child
    st.sampled_from([*_DECIDED, "hearing", "contact", "plan_review"]),  # event
    st.sampled_from(["assessment", "s47", "referral", "proceedings"]),  # stage
    st.integers(-1, 3),  # known tier
    st.integers(0, 3),  # true tier
    st.sampled_from(["", "order", "placement", "family", "home"]),  # detail
    st.sampled_from([False, False, False, True]),  # at_start (now and then)
)


def _reference(rows: list[tuple], stage: str) -> tuple[float, float, float]:
    """The three measures of ``stage``, row by row, as the docstrings define them."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], rows[i][0]))
    decisions = []  # (true, judged, protects, intervenes)
    for k, i in enumerate(order):
        time, child, event, where, known, true, detail, at_start = rows[i]
        if at_start or not S <= time < E:
            continue
        if stage == "screening" and event in ("screened_out", "signposted", "referral",
                                              "referral_nfa"):
            refers = event == "referral"
            decisions.append((true, known, refers, refers))
        elif (stage == "assessment" and known >= 0
              and event in ("initial_assessment_done", "core_assessment_done",
                            "assessment_done")) or (
                stage == "conference" and event == "icpc" and known >= 0):
            decisions.append((true, known, known == 3, known >= 2))
        elif stage == "court" and event == "proceedings_ended" and k > 0 and \
                rows[order[k - 1]][1] == child:
            made = detail in ("order", "placement", "family")
            decisions.append((rows[order[k - 1]][5], 3 if made else 2, made, made))

    def share(pairs: list[bool]) -> float:
        return sum(pairs) / len(pairs) if pairs else math.nan

    return (share([j == t for t, j, _, _ in decisions if j >= 0]),
            share([not p for t, _, p, _ in decisions if t == 3]),
            share([v for t, _, _, v in decisions if t < 2]))


@given(st.lists(_ROW, max_size=30))
def test_stage_kpis_match_a_row_by_row_reading(rows):
    j = log(*(ev(t, c, e, s, known=k, true=tt, detail=d, at_start=a)
              for t, c, e, s, k, tt, d, a in rows))
    got = compute_kpis(records(j))
    for stage in DECISION_STAGES:
        values = [got[f"{stage}_{m}"] for m in ("decision_accuracy", "missed_harm_share",
                                                 "unnecessary_share")]
        for v in values:
            assert math.isnan(v) or 0.0 <= v <= 1.0
        assert values == pytest.approx(list(_reference(rows, stage)), nan_ok=True), stage


# open cases ------------------------------------------------------------------------------


def test_open_cases_at_end():
    journeys = log(
        ev(500, 601, "cin_plan_started", "cin_plan"),  # open at the end: counts
        ev(600, 602, "closed", "left"),  # left before the end...
        ev(1200, 602, "referral", "referral"),  # ...re-referred after: not counted
        ev(700, 603, "concern", "community"),  # community is not a CIN stage
        ev(1200, 604, "referral", "referral"),  # only after the end
        ev(100, 605, "looked_after_started", "looked_after", true=3),  # since warm-up: counts
        ev(800, 606, "referral", "referral"),  # same time: file order says closed last
        ev(800, 606, "closed", "left"),
    )
    assert kpi("open_cases_at_end", journeys) == 2


# stocks ----------------------------------------------------------------------------------


# care: flows in and out, age ------------------------------------------------------------

#: Birth dates (days) that make a child exactly 16 (or 17.5) at time S.
AGE16_AT_S = S - 16 * YEAR


def care_log() -> pd.DataFrame:
    """Care spells; window [S, E) = [365.25, 1095.75), 2 years.

    child 1: starts (voluntary) at 400, returns home at 500, comes back at 700
             (200 days after: a re-entry within 12 months), adopted at 900.
    child 2: starts at 100 (warm-up; not counted), leaves for a family order at 800
             (spell 700 days: permanence), and a second spell starts at 1100 (after E).
    child 3: emergency start at S (counted), ceases on the 18th birthday at 1000.
    child 4: aged 16 at S (born AGE16_AT_S): starts at 380, leaves to independent living
             at 600 (aged 16.6: counted 16-17), starts again at 1000 (400 days after a
             route that is not home: not a re-entry).
    child 5: returns home at 200 (warm-up) and comes back at 500 (300 days: re-entry),
             returns home at 1050 (aged 17.97: 16-17, route home).
    """
    b18 = 1000.0 - 18 * YEAR  # child 3 is 18 on day 1000
    b5 = 1050.0 - 17.97 * YEAR
    return log(
        ev(400, 1, "looked_after_started", "looked_after", detail="voluntary", birth=-300),
        ev(500, 1, "looked_after_ended", "looked_after", detail="home", birth=-300),
        ev(700, 1, "looked_after_started", "looked_after", detail="voluntary", birth=-300),
        ev(900, 1, "looked_after_ended", "left", detail="adopted", birth=-300),
        ev(100, 2, "looked_after_started", "looked_after", detail="order"),
        ev(800, 2, "looked_after_ended", "left", detail="family"),
        ev(1100, 2, "looked_after_started", "looked_after", detail="order"),
        ev(S, 3, "looked_after_started", "looked_after", detail="emergency", birth=b18),
        ev(1000, 3, "looked_after_ended", "left", detail="age_18", birth=b18),
        ev(380, 4, "looked_after_started", "looked_after", detail="voluntary",
           birth=AGE16_AT_S),
        ev(600, 4, "looked_after_ended", "left", detail="independent", birth=AGE16_AT_S),
        ev(1000, 4, "looked_after_started", "looked_after", detail="voluntary",
           birth=AGE16_AT_S),
        ev(200, 5, "looked_after_ended", "cin_plan", detail="home", birth=b5),
        ev(500, 5, "looked_after_started", "looked_after", detail="voluntary", birth=b5),
        ev(1050, 5, "looked_after_ended", "cin_plan", detail="home", birth=b5),
    )


def test_care_flows_per_year():
    j = care_log()
    # starts in [S, E): child 1 (400, 700), 3 (S), 4 (380, 1000), 5 (500) = 6 / 2 years
    assert kpi("looked_after_started_per_year", j) == pytest.approx(3.0)
    # ends in the window: child 1 (500, 900), 2 (800), 3 (1000), 4 (600), 5 (1050) = 6
    assert kpi("looked_after_ceased_per_year", j) == pytest.approx(3.0)
    assert kpi("adopted_per_year", j) == pytest.approx(0.5)
    assert kpi("ceased_at_18_per_year", j) == pytest.approx(0.5)
    # aged 16-17 at a route other than the 18th birthday: child 4 (600), child 5 (1050)
    assert kpi("ceased_aged_16_17_per_year", j) == pytest.approx(1.0)


def test_ceased_at_18_is_not_counted_as_16_17():
    b = 400.0 - 18 * YEAR
    j = log(ev(400, 1, "looked_after_ended", "left", detail="age_18", birth=b),
            ev(401, 2, "looked_after_ended", "left", detail="home", birth=b + 2))
    assert kpi("ceased_at_18_per_year", j) == pytest.approx(0.5)
    # child 2, born 2 days later, is 18 years less a day old on day 401: counted 16-17
    assert kpi("ceased_aged_16_17_per_year", j) == pytest.approx(0.5)


def test_time_to_permanence_and_reentry():
    j = care_log()
    # permanence exits in the window: child 1 adopted at 900 (spell from 700: 200 days),
    # child 2 family order at 800 (spell from 100: 700 days) -> mean 450
    assert kpi("care_to_permanence_days_mean", j) == pytest.approx(450.0)
    # starts in the window: 6; re-entries within 365 days of a return home: child 1 at
    # 700 (home at 500) and child 5 at 500 (home at 200) -> 2 / 6
    assert kpi("looked_after_reentry_12m_share", j) == pytest.approx(2.0 / 6.0)


def test_reentry_after_more_than_a_year_does_not_count():
    j = log(ev(400, 1, "looked_after_ended", "cin_plan", detail="home"),
            ev(400 + 366, 1, "looked_after_started", "looked_after", detail="voluntary"),
            ev(500, 2, "looked_after_ended", "cin_plan", detail="home"),
            ev(500, 3, "looked_after_started", "looked_after", detail="voluntary"))
    assert kpi("looked_after_reentry_12m_share", j) == 0.0


def test_looked_after_16_plus_share_is_the_ratio_of_mean_stocks():
    table = stocks(looked_after=lambda m: 100 if m % 2 else 300,  # 12..35: mean 200
                   looked_after_16_plus=lambda m: 40)
    assert kpi("looked_after_16_plus_share", stock=table) == pytest.approx(0.2)


def test_care_flow_targets_are_kpis_named_as_in_the_file():
    targets = pd.read_csv(CARE_FLOWS)
    for row in targets.itertuples():
        assert row.kpi in KPIS, row.kpi
        assert KPIS[row.kpi].unit == row.unit, row.kpi


def test_stock_kpis_average_window_months():
    # rows at m * MONTH for m = 0..39; the window holds m = 12..35 (24 months;
    # 12 * MONTH == S and 36 * MONTH == E exactly).
    table = stocks(
        stage_cp_plan=lambda m: m,  # mean of 12..35 = 23.5
        cin_open=lambda m: 10 * m,  # 235
        looked_after=lambda m: 5 if 12 <= m < 36 else 1000,  # 5
        posts=lambda m: 100,
        vacancies=lambda m: 10 * (m % 2),  # 12 odd months at 0.1 -> mean 0.05
        staff_in_post=lambda m: 80,
        leavers_in_month=lambda m: 1,  # 24 leavers / 80 in post / 2 years = 0.15
        direct_share=lambda m: 0.2,
        caseload_mean=lambda m: m,  # 23.5
        unallocated=lambda m: m % 3,  # 12..35: eight each of 0, 1, 2 -> mean 1
    )
    got = compute_kpis(records(stock=table.sample(frac=1.0, random_state=1)))
    assert got["cp_plans_open"] == pytest.approx(23.5)
    assert got["cin_open"] == pytest.approx(235.0)
    assert got["looked_after_open"] == pytest.approx(5.0)
    assert got["sw_vacancy_rate"] == pytest.approx(0.05)
    assert got["sw_turnover_rate"] == pytest.approx(24 / 80 / 2)
    assert got["direct_work_share"] == pytest.approx(0.2)
    assert got["caseload_mean"] == pytest.approx(23.5)
    assert got["unallocated_cases_mean"] == pytest.approx(1.0)


# empty records and the registry ----------------------------------------------------------


def test_empty_records_give_zero_counts_and_nan_shares():
    got = compute_kpis(records(log(), stocks(months=[])))
    assert list(got) == list(KPIS)
    assert got["referrals_per_year"] == 0.0
    assert got["missed_harm_per_year"] == 0.0
    assert got["care_proceedings_open_at_end"] == 0.0
    assert got["open_cases_at_end"] == 0.0
    for name in ("rereferral_rate_12m", "referral_nfa_share", "decision_accuracy",
                 "care_proceedings_weeks_mean", "time_to_help_days_median", "cp_plans_open",
                 "sw_vacancy_rate", "sw_turnover_rate"):
        assert math.isnan(got[name]), name


def test_calibration_kpis_exist_with_the_same_unit():
    targets = pd.read_csv(CALIBRATION)
    for name, unit in zip(targets["kpi"], targets["unit"], strict=True):
        assert name in KPIS, name
        assert KPIS[name].unit == unit, name


def test_every_kpi_documents_formula_and_unit():
    for name, k in KPIS.items():
        assert k.name == name
        assert k.doc, name
        assert "Formula" in k.doc, name
        assert "Unit" in k.doc and k.unit in k.doc, name
