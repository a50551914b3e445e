"""Every KPI and monthly stock in words: one registry used by the command line, the report and
the figures alike.

A :class:`Label` gives a measure's name in plain words, its unit in words, its kind and its
bounds:

* ``count``: a number of children, cases or posts at a time (never below zero);
* ``rate``: events per year (never below zero);
* ``share``: a fraction of a whole, shown as a percentage (between 0 and 1, or only
  non-negative when it can exceed the whole, like staff turnover);
* ``duration``: a length of time (never below zero);
* ``index``: a dimensionless index (1 = a stated reference level).

The bounds are used by :mod:`sim.outputs.statistics` so that an interval never leaves the
range the measure can take. ``policy_specific`` marks a measure that exists only under one
policy (initial and core assessments exist only under the 2010 timescales): when a scenario
has none of it at all while the base always has some, the comparison says "not applicable
under this policy" rather than reporting a -100% change.

Formatting lives here too, so that every table writes numbers alike: counts and rates to
three significant figures with thousands separators, shares as percentages (differences of
shares in percentage points), durations with their unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.outputs.numbers import sig3

KINDS: tuple[str, ...] = ("count", "rate", "share", "duration", "index")


@dataclass(frozen=True)
class Label:
    """A measure in words.

    Attributes
    ----------
    label : str
        The measure's name in plain words, starting with a capital ("Referrals a year").
    unit : str
        The unit in words ("referrals a year", "% of referrals", "weeks").
    kind : str
        One of :data:`KINDS`.
    lower, upper : float or None
        The range the measure can take (None: unbounded on that side).
    short : str
        A short name for narrow places (terminal tables, figure axes).
    policy_specific : str
        Non-empty when the measure exists only under one policy; says which.
    headline : bool
        Whether the report's opening sentences may name it (False for a measure that
        repeats another in other units, or a check of the run's censoring).
    """

    label: str
    unit: str
    kind: str
    lower: float | None = 0.0
    upper: float | None = None
    short: str = ""
    policy_specific: str = ""
    headline: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")

    @property
    def short_label(self) -> str:
        return self.short or self.label

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return self.lower, self.upper


def _share(label: str, unit: str, short: str = "", upper: float | None = 1.0,
           policy: str = "") -> Label:
    return Label(label, unit, "share", 0.0, upper, short, policy)


def _rate(label: str, unit: str, short: str = "", policy: str = "") -> Label:
    return Label(label, unit, "rate", 0.0, None, short, policy)


def _count(label: str, unit: str, short: str = "") -> Label:
    return Label(label, unit, "count", 0.0, None, short)


_2010 = "the 2010 initial and core assessment timescales"

#: Every KPI of :data:`sim.outputs.kpis.KPIS`, in words (a test checks none is missing).
KPI_LABELS: dict[str, Label] = {
    "referrals_per_year": _rate("Referrals a year", "referrals a year", "Referrals"),
    "referral_rate_per_10k": Label("Referrals a year per 10,000 children",
                                   "referrals a year per 10,000 children", "rate", 0.0,
                                   None, "Referrals per 10,000 children", headline=False),
    "rereferral_rate_12m": _share("Re-referrals within 12 months", "% of referrals",
                                  "Re-referrals within 12 months"),
    "referral_nfa_share": _share("Referrals closed with no further action",
                                 "% of referrals", "Referrals closed, no further action"),
    "initial_assessments_per_year": _rate("Initial assessments a year",
                                          "initial assessments a year",
                                          "Initial assessments", _2010),
    "initial_assessment_within_timescale_share": _share(
        "Initial assessments within 10 working days", "% of initial assessments",
        "Initial assessments in time", policy=_2010),
    "core_assessments_per_year": _rate("Core assessments a year", "core assessments a year",
                                       "Core assessments", _2010),
    "core_assessment_within_35wd_share": _share(
        "Core assessments within 35 working days", "% of core assessments",
        "Core assessments in time", policy=_2010),
    "assessments_per_year": _rate("First assessments a year (any policy)",
                                  "assessments a year", "First assessments"),
    "assessment_closed_at_deadline_share": _share(
        "Assessments closed at the deadline", "% of assessments",
        "Assessments closed at deadline", policy=_2010),
    "s47_enquiries_per_year": _rate("Section 47 child protection enquiries a year",
                                    "enquiries a year", "Section 47 enquiries"),
    "initial_cp_conferences_per_year": _rate("Initial child protection conferences a year",
                                             "conferences a year", "Initial CP conferences"),
    "cp_plans_started_per_year": _rate("Child protection plans started a year",
                                       "plans a year", "CP plans started"),
    "cp_plans_open": _count("Children on a child protection plan", "children",
                            "Children on CP plans"),
    "cin_open": _count("Children in need (open cases)", "children", "Children in need"),
    "looked_after_open": _count("Children looked after", "children", "Children looked after"),
    "care_applications_per_year": _rate("Care applications a year", "applications a year",
                                        "Care applications"),
    "care_proceedings_weeks_mean": Label("Length of care proceedings (mean)", "weeks",
                                         "duration", 0.0, None, "Care proceedings length"),
    "care_proceedings_within_26wk_share": _share("Care proceedings finished within 26 weeks",
                                                 "% of finished proceedings",
                                                 "Proceedings within 26 weeks"),
    "care_proceedings_open_at_end": Label("Care proceedings open at the end", "proceedings",
                                          "count", 0.0, None, "Proceedings open at end",
                                          headline=False),
    "sw_vacancy_rate": _share("Social worker posts vacant", "% of posts", "Vacant posts"),
    "sw_turnover_rate": _share("Social workers leaving a year", "% of staff a year",
                               "Staff turnover", upper=None),
    "serious_case_reviews_per_year": _rate("Serious case reviews a year", "reviews a year",
                                           "Serious case reviews"),
    "serious_incidents_per_year": _rate("Serious incidents a year", "incidents a year",
                                        "Serious incidents"),
    "direct_work_share": _share("Social worker time with children and families",
                                "% of working time", "Direct work time"),
    "caseload_mean": _count("Cases per social worker (mean)", "cases per worker",
                            "Caseload per worker"),
    "unallocated_cases_mean": _count("Cases waiting for a social worker", "cases",
                                     "Unallocated cases"),
    "decision_accuracy": _share("Decisions that match the child's real need",
                                "% of decisions", "Accurate decisions"),
    "screening_decision_accuracy": _share(
        "Screening decisions matching the child's real need", "% of screening decisions",
        "Screening: accurate"),
    "screening_missed_harm_share": _share(
        "Children at risk not referred at screening",
        "% of screening decisions on children at risk", "Screening: at risk, not referred"),
    "screening_unnecessary_share": _share(
        "Children not in need referred at screening",
        "% of screening decisions on children not in need", "Screening: not in need, referred"),
    "assessment_decision_accuracy": _share(
        "Assessments matching the child's real need", "% of assessments",
        "Assessment: accurate"),
    "assessment_missed_harm_share": _share(
        "Children at risk judged not at risk by an assessment",
        "% of assessments of children at risk", "Assessment: at risk, missed"),
    "assessment_unnecessary_share": _share(
        "Children not in need judged in need by an assessment",
        "% of assessments of children not in need", "Assessment: not in need, taken on"),
    "conference_decision_accuracy": _share(
        "Initial conferences matching the child's real need",
        "% of initial conferences", "Conference: accurate"),
    "conference_missed_harm_share": _share(
        "Children at risk given no CP plan at conference",
        "% of initial conferences on children at risk", "Conference: at risk, no CP plan"),
    "conference_unnecessary_share": _share(
        "Children not in need given a plan at conference",
        "% of initial conferences on children not in need", "Conference: not in need, plan"),
    "court_decision_accuracy": _share(
        "Court decisions matching the child's real need", "% of finished proceedings",
        "Court: accurate"),
    "court_missed_harm_share": _share(
        "Children at risk sent home by the court",
        "% of finished proceedings on children at risk", "Court: at risk, sent home"),
    "court_unnecessary_share": _share(
        "Children not in need given a court order",
        "% of finished proceedings on children not in need", "Court: not in need, order"),
    "unnecessary_interventions_per_year": _rate(
        "Statutory interventions a child did not need", "interventions a year",
        "Unneeded interventions"),
    "missed_harm_per_year": _rate("Months children at risk of harm went unprotected",
                                  "child-months a year", "Unprotected months at risk"),
    "time_to_help_days_median": Label("Time from first contact to the right help (median)",
                                      "days", "duration", 0.0, None, "Days to right help"),
    "open_cases_at_end": Label("Children in need open at the end", "children", "count",
                               0.0, None, "Open cases at end", headline=False),
    "looked_after_started_per_year": _rate("Children starting to be looked after a year",
                                           "children a year", "Care starts"),
    "looked_after_ceased_per_year": _rate("Children ceasing to be looked after a year",
                                          "children a year", "Care ends"),
    "adopted_per_year": _rate("Children adopted from care a year", "children a year",
                              "Adoptions"),
    "ceased_at_18_per_year": _rate("Children leaving care at 18 a year", "children a year",
                                   "Left care at 18"),
    "ceased_aged_16_17_per_year": _rate("Children leaving care aged 16 or 17 a year",
                                        "children a year", "Left care at 16-17"),
    "looked_after_16_plus_share": _share("Children looked after aged 16 or over",
                                         "% of children looked after", "Looked after 16+"),
    "care_to_permanence_days_mean": Label("Time from entering care to permanence (mean)",
                                          "days", "duration", 0.0, None,
                                          "Days to permanence"),
    "looked_after_reentry_12m_share": _share("Children back in care within 12 months of "
                                             "going home", "% of returns home",
                                             "Back in care within 12 months"),
}

_index = "index"

#: The monthly stocks drawn in figures, in words.
STOCK_LABELS: dict[str, Label] = {
    "cin_open": _count("Children in need (open cases)", "children"),
    "unallocated": _count("Cases waiting for a social worker", "cases"),
    "contacts_waiting": _count("Contacts waiting to be screened", "contacts"),
    "stage_cin_plan": _count("Children on a child-in-need plan", "children"),
    "stage_cp_plan": _count("Children on a child protection plan", "children"),
    "stage_proceedings": _count("Children in care proceedings", "children"),
    "stage_looked_after": _count("Children looked after", "children"),
    "stage_assessment": _count("Children being assessed", "children"),
    "stage_s47": _count("Children in a section 47 enquiry", "children"),
    "caseload_mean": _count("Cases per social worker (mean)", "cases per worker"),
    "vacancies": _count("Vacant social worker posts", "posts (full-time equivalent)"),
    "posts": _count("Social worker posts", "posts (full-time equivalent)"),
    "staff_in_post": _count("Social workers in post", "workers"),
    "agency_staff": _count("Agency social workers", "workers"),
    "pressure": Label("Public and political pressure", "index, 1 = 2010 level", _index),
    "prescription": Label("Procedural prescription", "index, 1 = 2010 level", _index),
    "stress": Label("Social worker stress", "index, 1 = manageable caseload", _index),
    "morale": Label("Social worker morale", "index, 1 = stress at the manageable caseload",
                    _index),
    "load": Label("Work held and waiting against capacity", "share of capacity", _index),
    "direct_share": _share("Time with children and families", "% of working time"),
    "early_help_occupancy": _count("Children in early help", "children"),
    "early_help_waiting": _count("Families waiting for early help", "families"),
    "stage_team_help": _count("Children helped by a community team", "children"),
    "looked_after": _count("Children looked after", "children"),
    "looked_after_16_plus": _count("Children looked after aged 16 or over", "children"),
    "in_proceedings": _count("Children in care proceedings", "children"),
}


def _guess(name: str) -> Label:
    words = name.replace("_", " ").strip()
    return Label(words[:1].upper() + words[1:], "", "count", None, None)


def kpi_label(name: str) -> Label:
    """The label of a KPI (an unknown name in words, unbounded)."""
    return KPI_LABELS.get(name) or _guess(name)


def stock_label(name: str) -> Label:
    """The label of a monthly stock column (an unknown one from its description)."""
    if name in STOCK_LABELS:
        return STOCK_LABELS[name]
    try:
        from sim.records import STOCK_COLUMNS
    except ImportError:  # pragma: no cover
        return _guess(name)
    text = STOCK_COLUMNS.get(name)
    if not text:
        return _guess(name)
    return Label(text[:1].upper() + text[1:], "", "share" if name.endswith("_share") else
                 "count", 0.0, 1.0 if name.endswith("_share") else None)


def kpi_bounds() -> dict[str, tuple[float | None, float | None]]:
    """``{kpi: (lower, upper)}`` for every registered KPI."""
    return {name: lab.bounds for name, lab in KPI_LABELS.items()}


def scenario_title(name: Any) -> str:
    """A scenario's name in words: ``flexible_assessment`` -> ``flexible assessment``."""
    return str(name).replace("_", " ")


# -- numbers -----------------------------------------------------------------------------


def _finite(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def fmt(x: Any, label: Label | str | None = None) -> str:
    """A value of a measure: shares as percentages, others to 3 significant figures with
    thousands separators; "-" when undefined."""
    lab = kpi_label(label) if isinstance(label, str) else label
    v = _finite(x)
    if not math.isfinite(v):
        return "-"
    if lab is not None and lab.kind == "share":
        return _pct(100.0 * v) + "%"
    return sig3(v, grouped=True)


def fmt_diff(x: Any, label: Label | str | None = None) -> str:
    """A signed difference: shares in percentage points ("pp"), others as :func:`fmt`."""
    lab = kpi_label(label) if isinstance(label, str) else label
    v = _finite(x)
    if not math.isfinite(v):
        return "-"
    sign = "+" if v > 0 else ("-" if v < 0 else "")
    if lab is not None and lab.kind == "share":
        return sign + _pct(abs(100.0 * v)) + " pp"
    return sign + sig3(abs(v), grouped=True)


def fmt_interval(lo: Any, hi: Any, label: Label | str | None = None, *,
                 diff: bool = False) -> str:
    """``lo to hi`` (each as :func:`fmt`, or :func:`fmt_diff` when ``diff``); "-" when
    either end is undefined."""
    a, b = _finite(lo), _finite(hi)
    if not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    f = fmt_diff if diff else fmt
    return f"{f(a, label)} to {f(b, label)}"


def fmt_pct_change(x: Any) -> str:
    """A relative change in percent: ``+12%``, ``-3.4%``, ``+0.12%``."""
    v = _finite(x)
    if not math.isfinite(v):
        return "-"
    sign = "+" if v > 0 else ("-" if v < 0 else "")
    return sign + _pct(abs(v)) + "%"


def _pct(v: float) -> str:
    """A percentage: whole from 100, one decimal from 1, else 2 significant figures."""
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.1f}"
    return f"{v:.2g}" if a >= 0.001 else "0.0"
