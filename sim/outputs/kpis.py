"""Key performance indicators: each defined once, computed from one replication's records.

A KPI reads only the journey event log and the monthly stock table of one replication
(:mod:`sim.records`), never the model. Each is a function registered in :data:`KPIS`
with its name, unit and docstring (formula and unit).

Counting rules
--------------
* An event counts in the measured window when ``window.start <= time < window.end``.
* Per-year rates divide the count by ``window.years``.
* Stock KPIs average the monthly stock rows whose ``time`` lies in the window; the mean
  of month-end values estimates the point-in-time count (e.g. at 31 March) in steady state.
* Where order matters the journey log is sorted by ``(child, time)`` with a stable sort,
  so events of one child at equal times keep their order in the file.
* Undefined values (a share with an empty denominator, a mean of nothing) are NaN.
* Rows marked ``at_start`` (:mod:`sim.records`) say where a child already was when the
  run or the log began; they are never counted as flows (events in the window), though
  they give a child's state and the earlier events the KPIs look back to. A log without
  the column has none. A proceedings whose application row is the placing of a child
  present at the start of the run (at_start, time 0) has no known start: its duration is
  not counted (left-censored).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from sim.clock import MONTH, WEEK, YEAR, Window
from sim.records import CIN_STAGES, PROTECTED_STAGES

#: A referral is a re-referral when the child's previous referral was at most this many
#: calendar days earlier (the DfE "within 12 months" measure).
REREFERRAL_DAYS: float = 365.0
#: The 26-week target for care proceedings, in calendar days.
PROCEEDINGS_TARGET_DAYS: float = 26 * WEEK
#: Assessment ``detail`` values that count as within timescale.
WITHIN_TIMESCALE: tuple[str, ...] = ("on_time", "at_deadline")
#: Events that record a decision about the child's need tier.
DECISION_EVENTS: tuple[str, ...] = (
    "referral_nfa",
    "screened_out",
    "signposted",
    "referral",
    "initial_assessment_done",
    "core_assessment_done",
    "assessment_done",
    "icpc",
    "plan_review",
)
#: Statutory interventions counted as unnecessary when the child's true tier is below 2.
INTERVENTION_EVENTS: tuple[str, ...] = (
    "strategy_discussion",
    "cin_plan_started",
    "cp_plan_started",
)
#: Help events and the highest true tier each one meets.
HELP_MEETS_TIER: dict[str, int] = {
    "early_help_started": 1,
    "team_help_started": 2,
    "cin_plan_started": 2,
    "cp_plan_started": 3,
    "looked_after_started": 3,
    "care_application": 3,
}
_FIRST_CONTACT_EVENTS: tuple[str, ...] = ("contact", "consulted")
_UNPROTECTED_EXCLUDED: tuple[str, ...] = (*sorted(PROTECTED_STAGES), "left")


@dataclass(frozen=True, eq=False)
class RunRecords:
    """The records of one replication, with the measured window.

    Attributes
    ----------
    journeys : DataFrame
        The journey log (columns :data:`sim.records.JOURNEY_COLUMNS`); ``stage``,
        ``event`` and ``detail`` may be str or categorical; rows in any order.
    stocks : DataFrame
        Monthly stocks (columns :data:`sim.records.STOCK_COLUMNS`), ``time`` in days.
    window : Window
        The measured window, in days since the start of the run.
    child_population : int
        Children aged 0-17 in the LA.
    """

    journeys: pd.DataFrame
    stocks: pd.DataFrame
    window: Window
    child_population: int

    @cached_property
    def sorted_journeys(self) -> pd.DataFrame:
        """The journey log sorted by ``(child, time)``, stably, with a fresh RangeIndex."""
        j = self.journeys
        order = np.lexsort((j["time"].to_numpy(dtype=float), j["child"].to_numpy()))
        return j.iloc[order].reset_index(drop=True)

    @cached_property
    def window_journeys(self) -> pd.DataFrame:
        """Journey rows whose time lies in the window, not marked ``at_start``: the flows
        of the window (file order)."""
        j = self.journeys
        return j[_in_window(j["time"], self.window) & ~_at_start(j)]

    @cached_property
    def window_stocks(self) -> pd.DataFrame:
        """Monthly stock rows whose time lies in the window."""
        return self.stocks[_in_window(self.stocks["time"], self.window)]


@dataclass(frozen=True)
class KPI:
    """A registered KPI: its name, unit, function and docstring (formula and unit)."""

    name: str
    unit: str
    func: Callable[[RunRecords], float]
    doc: str


#: Every KPI, by name, in definition order. Filled once at import time.
KPIS: dict[str, KPI] = {}


def _kpi(name: str, unit: str) -> Callable[[Callable[[RunRecords], float]], Callable]:
    def register(func: Callable[[RunRecords], float]) -> Callable[[RunRecords], float]:
        if name in KPIS:
            raise ValueError(f"KPI {name!r} defined twice")
        KPIS[name] = KPI(name, unit, func, inspect.cleandoc(func.__doc__ or ""))
        return func

    return register


def compute_kpis(records: RunRecords) -> dict[str, float]:
    """Every KPI of one replication, in registry order (NaN where undefined)."""
    return {name: float(k.func(records)) for name, k in KPIS.items()}


# helpers ---------------------------------------------------------------------------------


def _at_start(j: pd.DataFrame) -> np.ndarray:
    """The ``at_start`` marks of journey rows (none when the log has no such column)."""
    if "at_start" not in j.columns:
        return np.zeros(len(j), dtype=bool)
    return j["at_start"].to_numpy(dtype=bool)


def _in_window(times: pd.Series | np.ndarray, window: Window) -> np.ndarray:
    t = np.asarray(times, dtype=float)
    return (t >= window.start) & (t < window.end)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else math.nan


def _count(records: RunRecords, *events: str) -> int:
    return int(records.window_journeys["event"].isin(events).sum())


def _per_year(records: RunRecords, *events: str) -> float:
    return _ratio(_count(records, *events), records.window.years)


def _window_events(records: RunRecords, *events: str) -> pd.DataFrame:
    wj = records.window_journeys
    return wj[wj["event"].isin(events).to_numpy()]


def _detail_share(records: RunRecords, events: tuple[str, ...], details: tuple[str, ...]) -> float:
    rows = _window_events(records, *events)
    return _ratio(int(rows["detail"].isin(details).sum()), len(rows))


def _stock_mean(records: RunRecords, column: str) -> float:
    values = records.window_stocks[column].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan


def km_median(durations: ArrayLike, observed: ArrayLike) -> float:
    """Median of right-censored durations by the Kaplan-Meier product-limit estimator.

    ``observed[i]`` is true when duration ``i`` ended in the event and false when it was
    censored. Survival after event time ``t_k`` is ``prod_{j<=k} (1 - d_j / r_j)``, with
    ``d_j`` events at ``t_j`` and ``r_j`` durations ``>= t_j`` at risk (a duration censored
    at an event time counts as at risk there). The median is the first event time at which
    survival is ``<= 0.5``; when survival equals 0.5 exactly on a step, it is the midpoint
    of that event time and the next one (so that with no censoring it equals the ordinary
    median). NaN when survival never falls to 0.5 or there are no durations.
    """
    d = np.asarray(durations, dtype=float).ravel()
    o = np.asarray(observed, dtype=bool).ravel()
    if d.shape != o.shape:
        raise ValueError("durations and observed differ in length")
    keep = ~np.isnan(d)
    d, o = d[keep], o[keep]
    event_durations = np.sort(d[o])
    if event_durations.size == 0:
        return math.nan
    times = np.unique(event_durations)
    at_risk = d.size - np.searchsorted(np.sort(d), times, side="left")
    deaths = np.searchsorted(event_durations, times, side="right") - np.searchsorted(
        event_durations, times, side="left"
    )
    survival = np.cumprod(1.0 - deaths / at_risk)
    tol = 1e-12
    below = np.flatnonzero(survival <= 0.5 + tol)
    if below.size == 0:
        return math.nan
    i = int(below[0])
    if abs(survival[i] - 0.5) <= tol and i + 1 < times.size:
        return float((times[i] + times[i + 1]) / 2.0)
    return float(times[i])


# referrals -------------------------------------------------------------------------------


@_kpi("referrals_per_year", "referrals per year per LA")
def referrals_per_year(r: RunRecords) -> float:
    """Referrals per year.

    Formula: count of ``referral`` events in the window / window.years.
    Unit: referrals per year per LA.
    """
    return _per_year(r, "referral")


@_kpi("referral_rate_per_10k", "referrals per 10000 children per year")
def referral_rate_per_10k(r: RunRecords) -> float:
    """Referral rate per 10,000 children.

    Formula: referrals_per_year / child_population * 10000.
    Unit: referrals per 10000 children per year.
    """
    return _ratio(referrals_per_year(r), r.child_population) * 10000.0


@_kpi("rereferral_rate_12m", "share of referrals within 12 months of a previous referral")
def rereferral_rate_12m(r: RunRecords) -> float:
    """Re-referral rate within 12 months.

    Formula: among ``referral`` events in the window, the share for which the same child
    had an earlier ``referral`` event (any time, warm-up included) at most 365 days before.
    Unit: share of referrals within 12 months of a previous referral.
    """
    sj = r.sorted_journeys
    ref = sj[(sj["event"] == "referral").to_numpy()]
    t = ref["time"].to_numpy(dtype=float)
    c = ref["child"].to_numpy()
    same_child = np.r_[False, c[1:] == c[:-1]]
    gap = np.r_[np.inf, np.diff(t)]
    repeat = same_child & (gap <= REREFERRAL_DAYS)
    inwin = _in_window(t, r.window) & ~_at_start(ref)
    return _ratio(int((repeat & inwin).sum()), int(inwin.sum()))


@_kpi(
    "referral_nfa_share",
    "share of referrals closed with no further action before assessment",
)
def referral_nfa_share(r: RunRecords) -> float:
    """Share of referrals closed with no further action.

    Formula: ``referral_nfa`` events in the window / ``referral`` events in the window.
    Unit: share of referrals closed with no further action before assessment.
    """
    return _ratio(_count(r, "referral_nfa"), _count(r, "referral"))


# assessments -----------------------------------------------------------------------------


@_kpi("initial_assessments_per_year", "initial assessments completed per year per LA")
def initial_assessments_per_year(r: RunRecords) -> float:
    """Initial assessments completed per year (2010 policy).

    Formula: count of ``initial_assessment_done`` events in the window / window.years.
    Unit: initial assessments completed per year per LA.
    """
    return _per_year(r, "initial_assessment_done")


@_kpi(
    "initial_assessment_within_timescale_share",
    "share of initial assessments completed within the timescale",
)
def initial_assessment_within_timescale_share(r: RunRecords) -> float:
    """Share of initial assessments within timescale.

    Formula: ``initial_assessment_done`` events in the window with detail ``on_time`` or
    ``at_deadline`` (closed at the deadline counts as within; ``late`` does not) / all
    ``initial_assessment_done`` events in the window.
    Unit: share of initial assessments completed within the timescale.
    """
    return _detail_share(r, ("initial_assessment_done",), WITHIN_TIMESCALE)


@_kpi("core_assessments_per_year", "core assessments completed per year per LA")
def core_assessments_per_year(r: RunRecords) -> float:
    """Core assessments completed per year (2010 policy).

    Formula: count of ``core_assessment_done`` events in the window / window.years.
    Unit: core assessments completed per year per LA.
    """
    return _per_year(r, "core_assessment_done")


@_kpi(
    "core_assessment_within_35wd_share",
    "share of core assessments completed within 35 working days",
)
def core_assessment_within_35wd_share(r: RunRecords) -> float:
    """Share of core assessments within 35 working days.

    Formula: ``core_assessment_done`` events in the window with detail ``on_time`` or
    ``at_deadline`` / all ``core_assessment_done`` events in the window.
    Unit: share of core assessments completed within 35 working days.
    """
    return _detail_share(r, ("core_assessment_done",), WITHIN_TIMESCALE)


@_kpi("assessments_per_year", "first assessments completed per year per LA")
def assessments_per_year(r: RunRecords) -> float:
    """First assessments completed per year, whichever assessment policy.

    Formula: count of ``initial_assessment_done`` + ``assessment_done`` events in the
    window / window.years.
    Unit: first assessments completed per year per LA.
    """
    return _per_year(r, "initial_assessment_done", "assessment_done")


@_kpi("assessment_closed_at_deadline_share", "share of assessments closed at the deadline")
def assessment_closed_at_deadline_share(r: RunRecords) -> float:
    """Share of assessments closed at the deadline.

    Formula: ``initial_assessment_done``, ``core_assessment_done`` and ``assessment_done``
    events in the window with detail ``at_deadline`` / all of those events in the window.
    Unit: share of assessments closed at the deadline.
    """
    events = ("initial_assessment_done", "core_assessment_done", "assessment_done")
    return _detail_share(r, events, ("at_deadline",))


# child protection ------------------------------------------------------------------------


@_kpi("s47_enquiries_per_year", "section 47 enquiries per year per LA")
def s47_enquiries_per_year(r: RunRecords) -> float:
    """Section 47 enquiries per year.

    Formula: count of ``strategy_discussion`` events in the window / window.years.
    Unit: section 47 enquiries per year per LA.
    """
    return _per_year(r, "strategy_discussion")


@_kpi("initial_cp_conferences_per_year", "initial child protection conferences per year per LA")
def initial_cp_conferences_per_year(r: RunRecords) -> float:
    """Initial child protection conferences per year.

    Formula: count of ``icpc`` events in the window / window.years.
    Unit: initial child protection conferences per year per LA.
    """
    return _per_year(r, "icpc")


@_kpi("cp_plans_started_per_year", "child protection plans started per year per LA")
def cp_plans_started_per_year(r: RunRecords) -> float:
    """Child protection plans started per year.

    Formula: count of ``cp_plan_started`` events in the window / window.years.
    Unit: child protection plans started per year per LA.
    """
    return _per_year(r, "cp_plan_started")


@_kpi("cp_plans_open", "children on a child protection plan at 31 March per LA")
def cp_plans_open(r: RunRecords) -> float:
    """Children on a child protection plan.

    Formula: mean of ``stage_cp_plan`` over the monthly stock rows in the window (estimates
    the point-in-time count in steady state).
    Unit: children on a child protection plan at 31 March per LA.
    """
    return _stock_mean(r, "stage_cp_plan")


@_kpi(
    "cin_open",
    "children in need at 31 March per LA (includes CP plans and looked after)",
)
def cin_open(r: RunRecords) -> float:
    """Children in need.

    Formula: mean of ``cin_open`` over the monthly stock rows in the window (estimates the
    point-in-time count in steady state).
    Unit: children in need at 31 March per LA (includes CP plans and looked after).
    """
    return _stock_mean(r, "cin_open")


@_kpi("looked_after_open", "children looked after at 31 March per LA")
def looked_after_open(r: RunRecords) -> float:
    """Children looked after (interim care orders during proceedings included, as in the
    national return).

    Formula: mean of ``looked_after`` (``stage_looked_after + stage_interim_care``) over
    the monthly stock rows in the window (estimates the point-in-time count in steady
    state).
    Unit: children looked after at 31 March per LA.
    """
    return _stock_mean(r, "looked_after")


# care: flows in and out, age structure ------------------------------------------------------


def _age_years(rows: pd.DataFrame) -> np.ndarray:
    """Age (years) at each row's event, from its ``time`` and the child's ``birth``; a
    hair above the exact value so that an event on a birthday has that birthday's age."""
    days = rows["time"].to_numpy(dtype=float) - rows["birth"].to_numpy(dtype=float)
    return days / YEAR + 1e-9


def _care_exits(r: RunRecords, *routes: str) -> pd.DataFrame:
    rows = _window_events(r, "looked_after_ended")
    if routes:
        rows = rows[rows["detail"].isin(routes).to_numpy()]
    return rows


@_kpi("looked_after_started_per_year", "children who started to be looked after per year per LA")
def looked_after_started_per_year(r: RunRecords) -> float:
    """Children who started to be looked after per year (every route in: emergency
    protection, voluntary accommodation, interim care order, order at the end of
    proceedings).

    Formula: count of ``looked_after_started`` events in the window / window.years (a
    child who starts twice in the window counts twice, as episodes).
    Unit: children who started to be looked after per year per LA.
    """
    return _per_year(r, "looked_after_started")


@_kpi("looked_after_ceased_per_year", "children who ceased to be looked after per year per LA")
def looked_after_ceased_per_year(r: RunRecords) -> float:
    """Children who ceased to be looked after per year (every route out).

    Formula: count of ``looked_after_ended`` events in the window / window.years.
    Unit: children who ceased to be looked after per year per LA.
    """
    return _per_year(r, "looked_after_ended")


@_kpi("adopted_per_year", "looked-after children adopted per year per LA")
def adopted_per_year(r: RunRecords) -> float:
    """Looked-after children adopted per year.

    Formula: count of ``looked_after_ended`` events with detail ``adopted`` in the window
    / window.years.
    Unit: looked-after children adopted per year per LA.
    """
    return _ratio(len(_care_exits(r, "adopted")), r.window.years)


@_kpi("ceased_at_18_per_year",
      "children who ceased to be looked after on their 18th birthday per year per LA")
def ceased_at_18_per_year(r: RunRecords) -> float:
    """Children who ceased to be looked after on their 18th birthday, per year.

    Formula: count of ``looked_after_ended`` events with detail ``age_18`` in the window /
    window.years.
    Unit: children who ceased to be looked after on their 18th birthday per year per LA.
    """
    return _ratio(len(_care_exits(r, "age_18")), r.window.years)


@_kpi("ceased_aged_16_17_per_year",
      "children who ceased to be looked after aged 16 or 17 per year per LA")
def ceased_aged_16_17_per_year(r: RunRecords) -> float:
    """Children who ceased to be looked after aged 16 or 17 (any route but the 18th
    birthday), per year.

    Formula: count of ``looked_after_ended`` events in the window whose detail is not
    ``age_18`` and whose age at the event, ``(time - birth) / 365.25``, is at least 16
    and below 18 / window.years.
    Unit: children who ceased to be looked after aged 16 or 17 per year per LA.
    """
    rows = _care_exits(r)
    rows = rows[(rows["detail"] != "age_18").to_numpy()]
    age = _age_years(rows)
    return _ratio(int(((age >= 16.0) & (age < 18.0)).sum()), r.window.years)


@_kpi("looked_after_16_plus_share", "share of children looked after at 31 March aged 16 or over")
def looked_after_16_plus_share(r: RunRecords) -> float:
    """Share of children looked after who are aged 16 or over.

    Formula: sum of ``looked_after_16_plus`` over the monthly stock rows in the window /
    sum of ``looked_after`` over the same rows (the ratio of the mean stocks).
    Unit: share of children looked after at 31 March aged 16 or over.
    """
    s = r.window_stocks
    return _ratio(float(s["looked_after_16_plus"].sum()), float(s["looked_after"].sum()))


def _care_events(r: RunRecords) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """``looked_after_started`` and ``looked_after_ended`` rows in (child, time) order, with
    their times (days), children and which of them are starts."""
    sj = r.sorted_journeys
    ev = sj[sj["event"].isin(("looked_after_started", "looked_after_ended")).to_numpy()]
    return (ev, ev["time"].to_numpy(dtype=float), ev["child"].to_numpy(),
            (ev["event"] == "looked_after_started").to_numpy())


def _care_spells(r: RunRecords) -> pd.DataFrame:
    """Care spells that end in the window: per ``looked_after_ended`` event in the window,
    its route (detail), its time and the time of the same child's latest
    ``looked_after_started`` before it (the start of the spell; NaN if none, or if that
    row placed a child already looked after when the run began: its start is unknown)."""
    ev, t, c, is_start = _care_events(r)
    mark = _at_start(ev)
    known = ~(mark & (t <= 0.0))  # not a placement of the run's initial population
    # start rows carry their time (-inf when unknown), end rows the latest start before
    start = pd.Series(np.where(is_start, np.where(known, t, -np.inf), np.nan))
    start = start.groupby(c).ffill().replace(-np.inf, np.nan).to_numpy()
    end = ~is_start & _in_window(t, r.window) & ~mark
    return pd.DataFrame({"route": ev["detail"].to_numpy()[end], "end": t[end],
                         "start": start[end]})


#: Routes out of care that count as permanence away from the birth family's home.
PERMANENCE_ROUTES: tuple[str, ...] = ("adopted", "family")


@_kpi("care_to_permanence_days_mean", "days from entering care to adoption or family order")
def care_to_permanence_days_mean(r: RunRecords) -> float:
    """Time from entering care to permanence (adoption, special guardianship or another
    family order).

    Formula: over ``looked_after_ended`` events in the window with detail ``adopted`` or
    ``family``, the mean of (its time - time of the child's latest earlier
    ``looked_after_started``, warm-up included), in days. Spells under way when the run
    starts are left out (their start is unknown; the warm-up lets them end first); spells
    still open at window end are not counted (they have not reached permanence).
    Unit: days from entering care to adoption or family order.
    """
    spells = _care_spells(r)
    days = (spells["end"] - spells["start"])[spells["route"].isin(PERMANENCE_ROUTES)]
    days = days.dropna()
    return float(days.mean()) if len(days) else math.nan


@_kpi("looked_after_reentry_12m_share",
      "share of care starts within 12 months of a return home from care")
def looked_after_reentry_12m_share(r: RunRecords) -> float:
    """Re-entry to care within 12 months of a return home.

    Formula: among ``looked_after_started`` events in the window, the share for which the
    same child's latest earlier ``looked_after_ended`` had detail ``home`` and was at most
    365 days before (warm-up included).
    Unit: share of care starts within 12 months of a return home from care.
    """
    ev, t, c, is_start = _care_events(r)
    home = ~is_start & (ev["detail"] == "home").to_numpy()
    prev_home = np.r_[False, home[:-1]] & np.r_[False, c[1:] == c[:-1]]
    gap = np.r_[np.inf, np.diff(t)]
    starts = is_start & _in_window(t, r.window) & ~_at_start(ev)
    back = starts & prev_home & (gap <= REREFERRAL_DAYS)
    return _ratio(int(back.sum()), int(starts.sum()))


# care proceedings ------------------------------------------------------------------------


@_kpi("care_applications_per_year", "care applications per year per LA")
def care_applications_per_year(r: RunRecords) -> float:
    """Care applications per year (one per child in the model).

    Formula: count of ``care_application`` events in the window / window.years.
    Unit: care applications per year per LA.
    """
    return _per_year(r, "care_application")


def _proceedings_events(r: RunRecords) -> pd.DataFrame:
    """``care_application`` and ``proceedings_ended`` rows in (child, time) order."""
    sj = r.sorted_journeys
    sub = sj[sj["event"].isin(("care_application", "proceedings_ended")).to_numpy()]
    return pd.DataFrame(
        {
            "child": sub["child"].to_numpy(),
            "episode": sub["episode"].to_numpy(),
            "time": sub["time"].to_numpy(dtype=float),
            "is_ca": (sub["event"] == "care_application").to_numpy(),
            "at_start": _at_start(sub),
        }
    )


def _finished_proceedings_days(r: RunRecords) -> np.ndarray:
    """Durations (days) of proceedings ending in the window.

    Each ``proceedings_ended`` in the window is matched with the latest preceding
    ``care_application`` of the same child episode (which may lie in warm-up); a second
    ``proceedings_ended`` after the same application is not matched again, nor is one
    whose application placed a child present at the start of the run (start unknown).
    """
    ev = _proceedings_events(r)
    if ev.empty:
        return np.empty(0)
    ev["k"] = ev.groupby(["child", "episode"], sort=False)["is_ca"].cumsum()
    by_app = ev.groupby(["child", "episode", "k"], sort=False)
    ev["app_time"] = by_app["time"].transform("first")
    # an application placing a child already in proceedings when the run began
    ev["app_unknown"] = by_app["at_start"].transform("first") & (ev["app_time"] <= 0.0)
    ev["is_pe"] = ~ev["is_ca"]
    ev["pe_rank"] = ev.groupby(["child", "episode", "k"], sort=False)["is_pe"].cumsum()
    done = ev["is_pe"] & (ev["k"] >= 1) & (ev["pe_rank"] == 1) & ~ev["app_unknown"]
    done &= _in_window(ev["time"], r.window) & ~ev["at_start"]
    return (ev["time"] - ev["app_time"])[done].to_numpy(dtype=float)


@_kpi("care_proceedings_weeks_mean", "mean duration of care and supervision cases in weeks")
def care_proceedings_weeks_mean(r: RunRecords) -> float:
    """Mean duration of finished care proceedings.

    Formula: for each ``proceedings_ended`` event in the window, (its time - time of the
    latest preceding ``care_application`` of the same child episode, warm-up included) / 7;
    mean. Proceedings still open at window end are censored and not in this mean (see
    ``care_proceedings_open_at_end``).
    Unit: mean duration of care and supervision cases in weeks.
    """
    days = _finished_proceedings_days(r)
    return float(days.mean() / WEEK) if days.size else math.nan


@_kpi("care_proceedings_within_26wk_share", "share of care cases finished within 26 weeks")
def care_proceedings_within_26wk_share(r: RunRecords) -> float:
    """Share of finished care proceedings lasting at most 26 weeks.

    Formula: among the durations of ``care_proceedings_weeks_mean``, the share <= 182 days.
    Unit: share of care cases finished within 26 weeks.
    """
    days = _finished_proceedings_days(r)
    return _ratio(int((days <= PROCEEDINGS_TARGET_DAYS).sum()), days.size)


@_kpi("care_proceedings_open_at_end", "care proceedings open at window end")
def care_proceedings_open_at_end(r: RunRecords) -> float:
    """Care proceedings still open at the end of the window (censored, reported).

    Formula: count of child episodes whose latest ``care_application`` before window.end is
    not followed by a ``proceedings_ended`` before window.end, nor by the child's 18th
    birthday (proceedings end when the child leaves children's services).
    Unit: care proceedings open at window end.
    """
    ev = _proceedings_events(r)
    ev = ev[ev["time"].to_numpy() < r.window.end]
    if ev.empty:
        return 0.0
    last = ev.groupby(["child", "episode"], sort=False).tail(1)
    last = last[last["is_ca"].to_numpy()]
    sj = r.sorted_journeys
    left = sj[(sj["event"].isin(("aged_out", "looked_after_ended")).to_numpy()
               & (sj["detail"].isin(("", "age_18"))).to_numpy()
               & (sj["stage"] == "left").to_numpy()
               & (sj["time"].to_numpy(dtype=float) < r.window.end))]
    aged = left[(left["event"] == "aged_out").to_numpy()
                | (left["detail"] == "age_18").to_numpy()]
    at_18 = aged.groupby("child")["time"].max()
    when = last["child"].map(at_18).to_numpy(dtype=float)
    return float((~(when > last["time"].to_numpy(dtype=float))).sum())


# workforce -------------------------------------------------------------------------------


@_kpi("sw_vacancy_rate", "vacant children's social worker posts as a share of posts")
def sw_vacancy_rate(r: RunRecords) -> float:
    """Social worker vacancy rate.

    Formula: mean over the monthly stock rows in the window of ``vacancies / posts``.
    Unit: vacant children's social worker posts as a share of posts.
    """
    s = r.window_stocks
    posts = s["posts"].to_numpy(dtype=float)
    vac = s["vacancies"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(posts > 0, vac / np.where(posts > 0, posts, 1.0), np.nan)
    rate = rate[~np.isnan(rate)]
    return float(rate.mean()) if rate.size else math.nan


@_kpi("sw_turnover_rate", "leavers per year as a share of social workers in post")
def sw_turnover_rate(r: RunRecords) -> float:
    """Social worker turnover rate.

    Formula: sum of ``leavers_in_month`` over the monthly rows in the window / mean of
    ``staff_in_post`` over those rows / window.years.
    Unit: leavers per year as a share of social workers in post.
    """
    s = r.window_stocks
    if s.empty:
        return math.nan
    leavers = float(s["leavers_in_month"].sum())
    staff = _stock_mean(r, "staff_in_post")
    if not staff > 0:
        return math.nan
    return _ratio(leavers / staff, r.window.years)


# serious incidents -----------------------------------------------------------------------


@_kpi("serious_case_reviews_per_year", "serious case reviews started per year per LA")
def serious_case_reviews_per_year(r: RunRecords) -> float:
    """Serious case reviews started per year.

    Formula: count of ``scr_started`` events in the window / window.years.
    Unit: serious case reviews started per year per LA.
    """
    return _per_year(r, "scr_started")


@_kpi("serious_incidents_per_year", "serious incidents per year per LA")
def serious_incidents_per_year(r: RunRecords) -> float:
    """Serious incidents per year.

    Formula: count of ``serious_incident`` events in the window / window.years.
    Unit: serious incidents per year per LA.
    """
    return _per_year(r, "serious_incident")


# practice --------------------------------------------------------------------------------


@_kpi(
    "direct_work_share",
    "share of social worker time in direct contact with children and families",
)
def direct_work_share(r: RunRecords) -> float:
    """Share of social worker time in direct work.

    Formula: mean of ``direct_share`` over the monthly stock rows in the window.
    Unit: share of social worker time in direct contact with children and families.
    """
    return _stock_mean(r, "direct_share")


@_kpi("caseload_mean", "mean cases held per social worker in post")
def caseload_mean(r: RunRecords) -> float:
    """Mean caseload.

    Formula: mean of ``caseload_mean`` over the monthly stock rows in the window.
    Unit: mean cases held per social worker in post.
    """
    return _stock_mean(r, "caseload_mean")


@_kpi("unallocated_cases_mean", "cases waiting with no allocated social worker")
def unallocated_cases_mean(r: RunRecords) -> float:
    """Unallocated cases.

    Formula: mean of ``unallocated`` over the monthly stock rows in the window (estimates
    the point-in-time count in steady state).
    Unit: cases waiting with no allocated social worker.
    """
    return _stock_mean(r, "unallocated")


# outcomes for children -------------------------------------------------------------------


@_kpi("decision_accuracy", "share of decisions where the known tier equals the true tier")
def decision_accuracy(r: RunRecords) -> float:
    """Accuracy of decisions about need.

    Formula: among decision-bearing events in the window (``referral_nfa``,
    ``screened_out``, ``signposted``, ``referral``, ``initial_assessment_done``,
    ``core_assessment_done``, ``assessment_done``, ``icpc``, ``plan_review``) with
    known_tier >= 0, the share with known_tier == true_tier.
    Unit: share of decisions where the known tier equals the true tier.
    """
    rows = _window_events(r, *DECISION_EVENTS)
    known = rows["known_tier"].to_numpy(dtype=np.int64)
    true = rows["true_tier"].to_numpy(dtype=np.int64)
    seen = known >= 0
    return _ratio(int((known[seen] == true[seen]).sum()), int(seen.sum()))



@_kpi(
    "unnecessary_interventions_per_year",
    "interventions per year for children with true tier below 2",
)
def unnecessary_interventions_per_year(r: RunRecords) -> float:
    """Statutory interventions with children who did not need them.

    Formula: count of ``strategy_discussion``, ``cin_plan_started`` and ``cp_plan_started``
    events in the window with true_tier < 2 / window.years.
    Unit: interventions per year for children with true tier below 2.
    """
    rows = _window_events(r, *INTERVENTION_EVENTS)
    n = int((rows["true_tier"].to_numpy(dtype=np.int64) < 2).sum())
    return _ratio(n, r.window.years)


@_kpi("missed_harm_per_year", "tier-3 child-months without protection per year")
def missed_harm_per_year(r: RunRecords) -> float:
    """Time tier-3 children spend without protection.

    Formula: per child, the state after each event is (stage, true_tier) and holds until
    the child's next event (the last state runs to window.end). Sum, over intervals with
    true_tier == 3 and stage neither in PROTECTED_STAGES nor ``left``, of the interval
    length clipped to the window (days); / MONTH (days per month) / window.years.
    Unit: tier-3 child-months without protection per year.
    """
    sj = r.sorted_journeys
    if sj.empty:
        return 0.0
    t = sj["time"].to_numpy(dtype=float)
    c = sj["child"].to_numpy()
    same_next = np.r_[c[1:] == c[:-1], False]
    t_next = np.where(same_next, np.r_[t[1:], np.inf], r.window.end)
    lo = np.maximum(t, r.window.start)
    hi = np.minimum(t_next, r.window.end)
    length = np.clip(hi - lo, 0.0, None)
    unmet = (sj["true_tier"].to_numpy(dtype=np.int64) == 3) & ~sj["stage"].isin(
        _UNPROTECTED_EXCLUDED
    ).to_numpy()
    days = float(length[unmet].sum())
    return _ratio(days / MONTH, r.window.years)


def time_to_help(r: RunRecords) -> tuple[np.ndarray, np.ndarray]:
    """Durations (days) from first contact to help matching need, and whether observed.

    One value per episode whose first ``contact`` or ``consulted`` event lies in the window
    and whose true_tier at that event is >= 1. Help is the first later event of the episode
    among ``early_help_started`` (meets tier 1), ``team_help_started`` (a community team
    holds the case; meets tier <= 2), ``cin_plan_started`` (meets tier <= 2),
    ``cp_plan_started``, ``looked_after_started``, ``care_application`` (meet any tier)
    that meets the true tier at first contact and happens before window.end. Episodes
    without it are censored at window.end.
    """
    sj = r.sorted_journeys
    pos = np.arange(len(sj))
    is_first = sj["event"].isin(_FIRST_CONTACT_EVENTS).to_numpy()
    first = pd.DataFrame(
        {
            "child": sj["child"].to_numpy()[is_first],
            "episode": sj["episode"].to_numpy()[is_first],
            "t0": sj["time"].to_numpy(dtype=float)[is_first],
            "tier0": sj["true_tier"].to_numpy(dtype=np.int64)[is_first],
            "pos0": pos[is_first],
            "at_start": _at_start(sj)[is_first],
        }
    )
    first = first.groupby(["child", "episode"], sort=False).head(1)
    first = first[_in_window(first["t0"], r.window) & (first["tier0"].to_numpy() >= 1)
                  & ~first["at_start"].to_numpy()]
    if first.empty:
        return np.empty(0), np.empty(0, dtype=bool)
    is_help = sj["event"].isin(tuple(HELP_MEETS_TIER)).to_numpy()
    help_rows = pd.DataFrame(
        {
            "child": sj["child"].to_numpy()[is_help],
            "episode": sj["episode"].to_numpy()[is_help],
            "t": sj["time"].to_numpy(dtype=float)[is_help],
            "meets": sj["event"][is_help].astype(str).map(HELP_MEETS_TIER).to_numpy(np.int64),
            "pos": pos[is_help],
        }
    )
    m = first.merge(help_rows, on=["child", "episode"], how="inner")
    m = m[(m["pos"] > m["pos0"]) & (m["meets"] >= m["tier0"]) & (m["t"] < r.window.end)]
    t_help = m.groupby(["child", "episode"], sort=False)["t"].min().rename("t_help")
    first = first.join(t_help, on=["child", "episode"])
    observed = first["t_help"].notna().to_numpy()
    end = np.where(observed, first["t_help"].to_numpy(dtype=float), r.window.end)
    return end - first["t0"].to_numpy(dtype=float), observed


@_kpi("time_to_help_days_median", "days from first contact to help matching need (median)")
def time_to_help_days_median(r: RunRecords) -> float:
    """Median time from first contact to help that matches the child's need.

    Formula: Kaplan-Meier median (:func:`km_median`) of the durations of
    :func:`time_to_help` (help time - first contact time, in days; episodes without help
    by window.end, closed or not, censored at window.end).
    Unit: days from first contact to help matching need (median).
    """
    durations, observed = time_to_help(r)
    return km_median(durations, observed)


@_kpi("open_cases_at_end", "children in need open at window end")
def open_cases_at_end(r: RunRecords) -> float:
    """Children's social care cases open at the end of the window (censored, reported).

    Formula: count of children whose last event before window.end leaves them in a
    CIN_STAGES stage.
    Unit: children in need open at window end.
    """
    sj = r.sorted_journeys
    before = sj[sj["time"].to_numpy(dtype=float) < r.window.end]
    if before.empty:
        return 0.0
    c = before["child"].to_numpy()
    last = np.r_[c[1:] != c[:-1], True]
    return float(before["stage"][last].isin(tuple(CIN_STAGES)).sum())


# decision quality by stage ---------------------------------------------------------------
#
# ``decision_accuracy`` pools every decision, about half of them screening; these split
# decisions by the stage that makes them. Each stage's decisions are rows in the window
# (not ``at_start``); per decision, the child's true tier when it was made, the tier judged
# (-1 when not known), and whether the decision kept the child on the way to protection
# (``protects``) and brought the child statutory intervention (``intervenes``). Then
#
# * accuracy = decisions with judged == true / decisions with judged >= 0;
# * missed harm = decisions with true == 3 and not protects / decisions with true == 3;
# * unnecessary intervention = decisions with true < 2 and intervenes / decisions with
#   true < 2.
#
# For assessments and conferences the judged tier is the decision (judged 3: a strategy
# discussion or a child protection plan; 2: a child-in-need plan; 0-1: closure), so
# ``protects`` is judged == 3 and ``intervenes`` judged >= 2. The front door and the referral
# check cannot protect a child, only bring it into children's social care: their decision
# is the outcome (a referral, or not), whatever tier the screener judged. The court does
# not judge a tier: its decision is the outcome of proceedings.

#: Screening decisions: the front door's and the community team's (``screened_out``,
#: ``signposted``, ``referral``) and the referral check's closure (``referral_nfa``).
SCREENING_EVENTS: tuple[str, ...] = ("screened_out", "signposted", "referral", "referral_nfa")
#: The screening outcome that brings a child into children's social care.
SCREENING_REFERS: str = "referral"
#: Assessment decisions (2010 initial and core assessments, flexible single assessments).
ASSESSMENT_EVENTS: tuple[str, ...] = (
    "initial_assessment_done", "core_assessment_done", "assessment_done")
#: Conference decisions: the initial child protection conference.
CONFERENCE_EVENTS: tuple[str, ...] = ("icpc",)
#: Court decisions: the end of care proceedings.
COURT_EVENTS: tuple[str, ...] = ("proceedings_ended",)
#: Outcomes of care proceedings that protect the child by an order away from the parents'
#: care: a care order, a placement order, special guardianship or another family order.
#: The other outcome, ``home``, returns the child home on a child-in-need plan.
PROTECTIVE_OUTCOMES: tuple[str, ...] = ("order", "placement", "family")
#: The stages whose decisions the stage KPIs judge, in the order of the journey.
DECISION_STAGES: tuple[str, ...] = ("screening", "assessment", "conference", "court")


@dataclass(frozen=True)
class StageDecisions:
    """The decisions of one stage in the measured window, one element per decision.

    Attributes
    ----------
    true : ndarray of int
        The child's true tier when the decision was made (0-3).
    judged : ndarray of int
        The tier the decision judged (0-3), or -1 when not known.
    protects : ndarray of bool
        The decision keeps the child on the way to protection (see each stage).
    intervenes : ndarray of bool
        The decision brings the child statutory intervention (see each stage).
    """

    true: np.ndarray
    judged: np.ndarray
    protects: np.ndarray
    intervenes: np.ndarray


def _tiers(rows: pd.DataFrame, column: str) -> np.ndarray:
    return rows[column].to_numpy(dtype=np.int64)


def _judged_decisions(rows: pd.DataFrame) -> StageDecisions:
    """Decisions whose judged tier is the decision (rows with a known tier only)."""
    known = _tiers(rows, "known_tier")
    rows, known = rows[known >= 0], known[known >= 0]
    return StageDecisions(_tiers(rows, "true_tier"), known, known == 3, known >= 2)


def stage_decisions(r: RunRecords, stage: str) -> StageDecisions:
    """The decisions made at ``stage`` (one of :data:`DECISION_STAGES`) in the window.

    * ``screening``: :data:`SCREENING_EVENTS` rows; judged = known_tier; protects and
      intervenes = the decision is a ``referral`` (the child is brought into children's
      social care; screened out, signposted and closed at the referral check are not).
    * ``assessment``: :data:`ASSESSMENT_EVENTS` rows with known_tier >= 0 (a section 47
      enquiry's assessment is logged with the enquiry's judgement); judged = known_tier;
      protects = judged == 3 (a strategy discussion or, in an enquiry, a conference
      follows); intervenes = judged >= 2 (a plan, a core assessment or a strategy
      discussion follows).
    * ``conference``: :data:`CONFERENCE_EVENTS` rows with known_tier >= 0; judged =
      known_tier; protects = judged == 3 (a child protection plan); intervenes = judged >= 2
      (a child protection or child-in-need plan).
    * ``court``: :data:`COURT_EVENTS` rows; true = true_tier of the child's row just before
      (the model resets the tier of a child sent home to 2 on the decision's own row, so
      that row does not say what the court decided about; a decision with no earlier row of
      the child is left out); protects and intervenes = detail in
      :data:`PROTECTIVE_OUTCOMES`; judged = 3 for those, 2 for ``home`` (a child-in-need
      plan).

    The true tier is the row's true_tier except at court. Rows at_start are not decisions.
    """
    if stage == "screening":
        rows = _window_events(r, *SCREENING_EVENTS)
        refers = (rows["event"] == SCREENING_REFERS).to_numpy()
        return StageDecisions(_tiers(rows, "true_tier"), _tiers(rows, "known_tier"), refers,
                              refers)
    if stage == "assessment":
        rows = _window_events(r, *ASSESSMENT_EVENTS)
        return _judged_decisions(rows)
    if stage == "conference":
        return _judged_decisions(_window_events(r, *CONFERENCE_EVENTS))
    if stage == "court":
        sj = r.sorted_journeys
        c = sj["child"].to_numpy()
        has_prev = np.r_[False, c[1:] == c[:-1]]
        tier = _tiers(sj, "true_tier")
        prev_tier = np.r_[-1, tier[:-1]]
        sel = (sj["event"].isin(COURT_EVENTS).to_numpy() & has_prev
               & _in_window(sj["time"], r.window) & ~_at_start(sj))
        order = sj["detail"][sel].isin(PROTECTIVE_OUTCOMES).to_numpy()
        return StageDecisions(prev_tier[sel], np.where(order, 3, 2), order, order)
    raise ValueError(f"unknown decision stage {stage!r}; known: {', '.join(DECISION_STAGES)}")


def _stage_accuracy(d: StageDecisions) -> float:
    seen = d.judged >= 0
    return _ratio(int((d.judged[seen] == d.true[seen]).sum()), int(seen.sum()))


def _stage_missed_harm(d: StageDecisions) -> float:
    at_risk = d.true == 3
    return _ratio(int((~d.protects[at_risk]).sum()), int(at_risk.sum()))


def _stage_unnecessary(d: StageDecisions) -> float:
    low = d.true < 2
    return _ratio(int(d.intervenes[low].sum()), int(low.sum()))


@_kpi("screening_decision_accuracy",
      "share of screening decisions where the known tier equals the true tier")
def screening_decision_accuracy(r: RunRecords) -> float:
    """Accuracy of screening decisions (the front door, the community team, the referral
    check).

    Formula: among ``screened_out``, ``signposted``, ``referral`` and ``referral_nfa``
    events in the window with known_tier >= 0, the share with known_tier == true_tier.
    Unit: share of screening decisions where the known tier equals the true tier.
    """
    return _stage_accuracy(stage_decisions(r, "screening"))


@_kpi("screening_missed_harm_share",
      "share of screening decisions about tier-3 children that did not refer them")
def screening_missed_harm_share(r: RunRecords) -> float:
    """Children at risk of significant harm turned away at screening.

    Formula: among ``screened_out``, ``signposted``, ``referral`` and ``referral_nfa``
    events in the window with true_tier == 3, the share that are not ``referral``
    (screened out, signposted to early help, or closed at the referral check).
    Unit: share of screening decisions about tier-3 children that did not refer them.
    """
    return _stage_missed_harm(stage_decisions(r, "screening"))


@_kpi("screening_unnecessary_share",
      "share of screening decisions about children below tier 2 that referred them")
def screening_unnecessary_share(r: RunRecords) -> float:
    """Children who did not need statutory services brought into them at screening.

    Formula: among ``screened_out``, ``signposted``, ``referral`` and ``referral_nfa``
    events in the window with true_tier < 2, the share that are ``referral``.
    Unit: share of screening decisions about children below tier 2 that referred them.
    """
    return _stage_unnecessary(stage_decisions(r, "screening"))


@_kpi("assessment_decision_accuracy",
      "share of assessment decisions where the known tier equals the true tier")
def assessment_decision_accuracy(r: RunRecords) -> float:
    """Accuracy of assessment decisions.

    Formula: among ``initial_assessment_done``, ``core_assessment_done`` and
    ``assessment_done`` events in the window whose stage is not ``s47`` (the section 47
    enquiry's own assessment is logged before its judgement) and whose known_tier >= 0,
    the share with known_tier == true_tier.
    Unit: share of assessment decisions where the known tier equals the true tier.
    """
    return _stage_accuracy(stage_decisions(r, "assessment"))


@_kpi("assessment_missed_harm_share",
      "share of assessment decisions about tier-3 children judging them below tier 3")
def assessment_missed_harm_share(r: RunRecords) -> float:
    """Children at risk of significant harm judged not at risk by an assessment (no
    strategy discussion follows).

    Formula: among the assessment decisions of ``assessment_decision_accuracy`` with
    true_tier == 3, the share with known_tier < 3.
    Unit: share of assessment decisions about tier-3 children judging them below tier 3.
    """
    return _stage_missed_harm(stage_decisions(r, "assessment"))


@_kpi("assessment_unnecessary_share",
      "share of assessment decisions about children below tier 2 judging them tier 2 or more")
def assessment_unnecessary_share(r: RunRecords) -> float:
    """Children below the child-in-need threshold judged in need by an assessment (a
    child-in-need plan, a core assessment or a strategy discussion follows).

    Formula: among the assessment decisions of ``assessment_decision_accuracy`` with
    true_tier < 2, the share with known_tier >= 2.
    Unit: share of assessment decisions about children below tier 2 judging them tier 2 or more.
    """
    return _stage_unnecessary(stage_decisions(r, "assessment"))


@_kpi("conference_decision_accuracy",
      "share of conference decisions where the known tier equals the true tier")
def conference_decision_accuracy(r: RunRecords) -> float:
    """Accuracy of initial child protection conference decisions.

    Formula: among ``icpc`` events in the window with known_tier >= 0, the share with
    known_tier == true_tier.
    Unit: share of conference decisions where the known tier equals the true tier.
    """
    return _stage_accuracy(stage_decisions(r, "conference"))


@_kpi("conference_missed_harm_share",
      "share of conference decisions about tier-3 children making no protection plan")
def conference_missed_harm_share(r: RunRecords) -> float:
    """Children at risk of significant harm left without a child protection plan by their
    initial conference.

    Formula: among ``icpc`` events in the window with known_tier >= 0 and true_tier == 3,
    the share with known_tier < 3.
    Unit: share of conference decisions about tier-3 children making no protection plan.
    """
    return _stage_missed_harm(stage_decisions(r, "conference"))


@_kpi("conference_unnecessary_share",
      "share of conference decisions about children below tier 2 making a plan")
def conference_unnecessary_share(r: RunRecords) -> float:
    """Children below the child-in-need threshold given a plan by their initial conference.

    Formula: among ``icpc`` events in the window with known_tier >= 0 and true_tier < 2,
    the share with known_tier >= 2 (a child protection or child-in-need plan).
    Unit: share of conference decisions about children below tier 2 making a plan.
    """
    return _stage_unnecessary(stage_decisions(r, "conference"))


@_kpi("court_decision_accuracy",
      "share of court decisions matching the child's true tier")
def court_decision_accuracy(r: RunRecords) -> float:
    """Accuracy of court decisions (the end of care proceedings).

    Formula: per ``proceedings_ended`` event in the window, the judged tier is 3 for an
    order (detail ``order``, ``placement`` or ``family``) and 2 for ``home`` (a
    child-in-need plan), and the true tier is the true_tier of the child's row just before
    it (the state the court decided about; a child sent home has its tier reset to 2 on the
    decision's own row); the share with judged == true. Events with no earlier row of the
    child are left out.
    Unit: share of court decisions matching the child's true tier.
    """
    return _stage_accuracy(stage_decisions(r, "court"))


@_kpi("court_missed_harm_share",
      "share of court decisions about tier-3 children sending them home without an order")
def court_missed_harm_share(r: RunRecords) -> float:
    """Children at risk of significant harm sent home by the court.

    Formula: among the court decisions of ``court_decision_accuracy`` whose true tier (the
    child's row just before) is 3, the share with detail ``home``.
    Unit: share of court decisions about tier-3 children sending them home without an order.
    """
    return _stage_missed_harm(stage_decisions(r, "court"))


@_kpi("court_unnecessary_share",
      "share of court decisions about children below tier 2 making an order")
def court_unnecessary_share(r: RunRecords) -> float:
    """Orders made about children below the child-in-need threshold.

    Formula: among the court decisions of ``court_decision_accuracy`` whose true tier (the
    child's row just before) is below 2, the share with detail ``order``, ``placement`` or
    ``family``.
    Unit: share of court decisions about children below tier 2 making an order.
    """
    return _stage_unnecessary(stage_decisions(r, "court"))
