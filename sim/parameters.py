"""The parameter schema: every scenario parameter, its type, unit, allowed and plausible range.

The schema is the single declaration of what a scenario may set. Values live in
``scenarios/baseline.toml`` (with their sources); overlays change some of them. The
*allowed* range is what validation enforces; the *plausible* range is what sensitivity
analysis and calibration explore. ``calibrated`` marks the few parameters that
``childsim calibrate`` fits.

Each parameter has a ``role`` (:data:`ROLES`): a policy ``lever`` (what a reform, a local
authority or government sets: staff, thresholds, timescales, services, rules), the
``size`` of the authority, its ``initial`` state at the start of a run, ``behaviour`` (how
children, families, professionals and courts behave: rates, noise, effects, mostly
assumptions or calibrated), a model ``switch`` (feedback loops on or off) or a ``shock``
(a stimulus at a time). Sensitivity analysis varies the levers unless told otherwise.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Param:
    """One scenario parameter.

    Attributes
    ----------
    kind : type
        ``float``, ``int``, ``bool`` or ``str``.
    unit : str
        Unit of the value (``"1"`` for dimensionless shares and indices).
    low, high : float or None
        Allowed range, inclusive; ``None`` for unbounded. Not used for str and bool.
    plausible : tuple of float or None
        Plausible range used by sensitivity analysis and calibration.
    doc : str
        What the parameter means.
    choices : tuple of str or None
        Allowed values of a str parameter.
    calibrated : bool
        Whether ``childsim calibrate`` may fit it.
    role : str
        One of :data:`ROLES`: ``lever``, ``size``, ``initial``, ``behaviour``, ``switch``
        or ``shock``.
    """

    kind: type
    unit: str
    low: float | None = None
    high: float | None = None
    plausible: tuple[float, float] | None = None
    doc: str = ""
    choices: tuple[str, ...] | None = None
    calibrated: bool = False
    role: str = "behaviour"

    @property
    def lever(self) -> bool:
        """Whether the parameter is a policy lever."""
        return self.role == "lever"

    def allowed_text(self) -> str:
        """Human-readable allowed range or type, for error messages."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "a string"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        kind = "an integer" if self.kind is int else "a number"
        return f"{kind} from {lo} to {hi} ({self.unit})"


def _p(unit: str, low: float | None, high: float | None, plausible: tuple[float, float] | None,
       doc: str, *, calibrated: bool = False) -> Param:
    return Param(float, unit, low, high, plausible, doc, calibrated=calibrated)


def _share(doc: str, plausible: tuple[float, float] | None = None, *,
           calibrated: bool = False) -> Param:
    return Param(float, "1", 0.0, 1.0, plausible, doc, calibrated=calibrated)


def _int(unit: str, low: int, high: int, plausible: tuple[float, float] | None, doc: str) -> Param:
    return Param(int, unit, low, high, plausible, doc)


_PER_YEAR = "per year"

#: Every parameter a scenario may set, by dotted key path ``section.key``.
SCHEMA: dict[str, Param] = {
    # population ---------------------------------------------------------------------------
    "population.child_population": _int(
        "children aged 0-17", 100, 2_000_000, (20_000, 250_000), "Child population of the LA"),
    "population.concern_rate_tier0": _p(
        "concerns per 10,000 children per year", 0, 10_000, (300, 2000),
        "Worries with no real need (true tier 0) that may still reach services",
        ),
    "population.concern_rate_tier1": _p(
        "concerns per 10,000 children per year", 0, 10_000, (300, 1500),
        "New needs at tier 1 (early help)"),
    "population.concern_rate_tier2": _p(
        "concerns per 10,000 children per year", 0, 10_000, (150, 700),
        "New needs at tier 2 (child in need)"),
    "population.concern_rate_tier3": _p(
        "concerns per 10,000 children per year", 0, 10_000, (10, 80),
        "New needs at tier 3 (risk of significant harm)"),
    "population.complexity_sigma": _p(
        "1 (log-scale sd)", 0, 3, (0.3, 0.8),
        "Spread of case complexity: lognormal with mean 1 and this log-scale sd"),
    "population.escalation_rate": _p(
        _PER_YEAR, 0, 50, (0.2, 1.0), "Hazard that an unmet need at tier 1 or 2 rises one tier"),
    "population.resolution_rate_tier0": _p(
        _PER_YEAR, 0, 365, (4, 24), "Hazard that a worry with no need fades (true tier 0)"),
    "population.resolution_rate_tier1": _p(
        _PER_YEAR, 0, 365, (0.5, 4), "Hazard that an unmet tier-1 need resolves unaided"),
    "population.resolution_rate_tier2": _p(
        _PER_YEAR, 0, 365, (0.2, 2), "Hazard that an unmet tier-2 need resolves unaided"),
    "population.resolution_rate_tier3": _p(
        _PER_YEAR, 0, 365, (0.05, 1), "Hazard that an unmet tier-3 need resolves unaided"),
    "population.concern_age_weight_under1": _p(
        "1", 0, 20, (1.0, 3.0),
        "Concern rate per child under 1 relative to the all-ages rate (before normalising)"),
    "population.concern_age_weight_1_4": _p(
        "1", 0, 20, (0.6, 1.4), "Concern rate per child aged 1-4 relative to the all-ages rate"),
    "population.concern_age_weight_5_9": _p(
        "1", 0, 20, (0.6, 1.4), "Concern rate per child aged 5-9 relative to the all-ages rate"),
    "population.concern_age_weight_10_15": _p(
        "1", 0, 20, (0.6, 1.4),
        "Concern rate per child aged 10-15 relative to the all-ages rate"),
    "population.concern_age_weight_16_17": _p(
        "1", 0, 20, (0.5, 1.5),
        "Concern rate per child aged 16-17 relative to the all-ages rate"),
    "population.infant_factor_tier3": _p(
        "1", 0, 50, (1.0, 6.0),
        "Further multiplier of the under-1 rate for tier-3 concerns (risk before and soon "
        "after birth)"),
    "population.recurrence_share_met": _share(
        "Share of children whose need, once met by help, later recurs", (0.05, 0.4)),
    "population.recurrence_delay_days": _p(
        "days", 1, 5000, (90, 1095), "Mean delay from closure to a recurrence of need"),
    "population.recurrence_tier_met": _int(
        "tier", 0, 3, (1, 2), "True tier of a new concern after an episode closed with need met"),
    # universal services -------------------------------------------------------------------
    "universal.notice_rate_tier0": _p(
        _PER_YEAR, 0, 365, (1, 12), "Hazard that universal services contact about a tier-0 worry",
        ),
    "universal.notice_rate_tier1": _p(
        _PER_YEAR, 0, 365, (0.5, 6), "Hazard that universal services notice a tier-1 need"),
    "universal.notice_rate_tier2": _p(
        _PER_YEAR, 0, 365, (1, 12), "Hazard that universal services notice a tier-2 need"),
    "universal.notice_rate_tier3": _p(
        _PER_YEAR, 0, 365, (2, 24), "Hazard that universal services notice a tier-3 need"),
    "universal.health_visitor_fte": _p(
        "FTE", 0, 10_000, (30, 90), "Health visitors serving the LA"),
    "universal.health_visitor_reference_fte": _p(
        "FTE", 1, 10_000, None, "Health visitor FTE at which the notice rates apply"),
    "universal.health_visitor_elasticity": _p(
        "1", 0, 3, (0.1, 0.8),
        "Elasticity of tier-1 and tier-2 notice rates to health-visitor FTE"),
    # community multi-agency team -------------------------------------------------------------
    "community_team.fte": _p(
        "FTE", 0, 1000, (0, 20), "Social workers placed beside universal services (0 = none)"),
    "community_team.full_coverage_fte": _p(
        "FTE", 0.1, 1000, (5, 30),
        "Community-team FTE at which every universal-service concern is consulted first"),
    "community_team.consult_hours": _p(
        "hours per consultation", 0.05, 40, (0.5, 3), "Worker time per consultation"),
    "community_team.signal_sd": _p(
        "tiers", 0, 5, (0.2, 0.8), "Noise of the community team's view of need"),
    "community_team.shared_assessment_share": _share(
        "Share of referrals made at a consultation that carry the team's assessment (a "
        "referral after team help always does)", (0.3, 0.9)),
    "community_team.refer_threshold": _p(
        "tiers", -5, 8, (2.0, 3.0),
        "Consultation signal at or above which the team refers rather than holds the case "
        "(judged at risk); between the referral threshold and this, it holds the case while "
        "it has room"),
    "community_team.help_days": _p(
        "days", 1, 2000, (60, 270), "Mean length of help given by a community-team worker"),
    "community_team.success_tier1": _share(
        "Chance community-team help meets a tier-1 need", (0.5, 0.9)),
    "community_team.success_tier2": _share(
        "Chance community-team help meets a tier-2 need (half of it at tier 3)", (0.3, 0.7)),
    # front door -------------------------------------------------------------------------------
    "front_door.staff_fte": _p(
        "FTE", 0.5, 1000, (6, 20), "Duty and screening staff at the front door"),
    "front_door.screening_hours": _p(
        "hours per contact", 0.05, 40, (0.75, 3), "Mean staff time to screen one contact"),
    "front_door.productive_share": _share(
        "Share of front-door staff hours available for screening", (0.5, 0.9)),
    "front_door.signal_sd": _p(
        "tiers", 0, 5, (0.3, 1.2), "Noise of the front door's view of need"),
    "front_door.check_sd": _p(
        "tiers", 0, 5, (0.3, 1.2),
        "Noise of the further checks made on a referral before assessment"),
    "front_door.early_help_threshold": _p(
        "tiers", -5, 5, (0.3, 0.8), "Signal above which a contact is signposted to early help"),
    "front_door.referral_threshold": _p(
        "tiers", -5, 5, (1.2, 1.8), "Signal above which a contact becomes a referral",
        ),
    "front_door.nfa_threshold": _p(
        "tiers", -5, 5, (0.8, 1.5),
        "Check signal below which a referral is closed with no further action"),
    "front_door.urgent_threshold": _p(
        "tiers", -5, 8, (2.5, 3.5),
        "Check signal above which a referral goes straight to a strategy discussion"),
    # early help -------------------------------------------------------------------------------
    "early_help.duration_days": _p(
        "days", 1, 2000, (60, 270), "Mean length of an early-help episode"),
    "early_help.success_tier1": _share(
        "Chance early help meets a tier-1 need", (0.4, 0.85)),
    "early_help.success_tier2": _share(
        "Chance early help meets a tier-2 need", (0.1, 0.5)),
    "early_help.initial": _p(
        "children per 10,000", 0, 2000, (100, 300),
        "Children in early help at the start of the run"),
    "early_help.step_up_share": _share(
        "Share of unmet early-help cases at tier 2+ that early help refers on", (0.3, 0.9)),
    "early_help.patience_days": _p(
        "days", 0.1, 2000, (14, 180),
        "Mean time a family waits for an early-help place before giving up (exponential)"),
    # workforce --------------------------------------------------------------------------------
    "workforce.posts_fte": _p(
        "FTE", 1, 10_000, (100, 200), "Case-holding social worker posts"),
    "workforce.hours_per_week": _p(
        "hours per week per FTE", 1, 80, (35, 40), "Contracted weekly hours"),
    "workforce.leaving_rate": _p(
        _PER_YEAR, 0, 5, (0.06, 0.15), "Hazard that a permanent social worker leaves",
        ),
    "workforce.recruitment_delay_days": _p(
        "days", 1, 2000, (90, 365), "Mean time to fill a vacant post"),
    "workforce.agency_cover_share": _share(
        "Share of vacant posts covered by an agency worker", (0.3, 0.8)),
    "workforce.agency_leaving_rate": _p(
        _PER_YEAR, 0, 12, (0.5, 3), "Hazard that an agency worker moves on"),
    "workforce.newly_qualified_share": _share(
        "Share of recruits who are newly qualified", (0.1, 0.5)),
    "workforce.senior_share": _share(
        "Share of posts held by senior or advanced practitioners", (0.05, 0.3)),
    "workforce.years_to_experienced": _p(
        "years", 0.1, 20, (1, 3), "Tenure at which a newly qualified worker counts as experienced"),
    "workforce.expertise_newly_qualified": _p(
        "1", 0.1, 2, (0.5, 0.9), "Expertise multiplier of newly qualified staff"),
    "workforce.expertise_experienced": _p(
        "1", 0.1, 2, None, "Expertise multiplier of experienced staff (the reference)"),
    "workforce.expertise_senior": _p(
        "1", 0.1, 2, (1.0, 1.4), "Expertise multiplier of senior practitioners"),
    "workforce.expertise_agency": _p(
        "1", 0.1, 2, (0.6, 1.0), "Expertise multiplier of agency staff"),
    "workforce.caseload_cap": _p(
        "weighted cases per FTE", 1, 200, (30, 70),
        "Weighted cases above which a worker takes no new allocation"),
    # time split -------------------------------------------------------------------------------
    "time.recording_per_direct_hour": _p(
        "hours per direct hour", 0, 20, (1.2, 3.5),
        "Hours of recording and case management each hour of direct work carries (every "
        "visit, assessment, review, conference and statement is recorded), at "
        "prescription 1"),
    **{f"time.statutory_hours_{kind}": _p(
        "direct hours per month per case", 0, 100, plausible,
        f"Statutory minimum of direct time a case {what} needs (visits, reviews, "
        "meetings), met before discretionary time")
       for kind, what, plausible in (
           ("assessment", "in assessment", (2.0, 8.0)),
           ("s47", "in a section 47 enquiry", (2.0, 8.0)),
           ("cin_plan", "on a child-in-need plan", (0.3, 2.0)),
           ("cp_plan", "on a child protection plan", (1.0, 4.0)),
           ("proceedings", "in care proceedings", (1.0, 5.0)),
           ("looked_after", "of a looked-after child", (0.3, 2.0)))},
    "time.travel_share": _share("Share of hours travelling", (0.08, 0.18)),
    "time.other_share": _share(
        "Share of hours in development, meetings and compliance", (0.05, 0.15)),
    # case weights -----------------------------------------------------------------------------
    "weights.assessment": _p(
        "weighted cases", 0, 20, (2, 8), "Workload weight of a case in assessment"),
    "weights.s47": _p("weighted cases", 0, 20, (2, 5), "Workload weight of a section 47 case"),
    "weights.cin_plan": _p(
        "weighted cases", 0, 20, None, "Workload weight of a child-in-need plan"),
    "weights.cp_plan": _p(
        "weighted cases", 0, 20, (1.2, 2.5), "Workload weight of a child protection plan"),
    "weights.proceedings": _p(
        "weighted cases", 0, 20, (1.5, 4), "Workload weight of a child in care proceedings"),
    "weights.looked_after": _p(
        "weighted cases", 0, 20, (0.5, 1.2), "Workload weight of a looked-after child"),
    # supervision ------------------------------------------------------------------------------
    "supervision.managers": _p("FTE", 0, 1000, (12, 30), "Team managers"),
    "supervision.hours_per_manager": _p(
        "hours per month", 0, 200, (20, 50), "Supervision hours a team manager can give a month"),
    "supervision.hours_needed": _p(
        "hours per month per worker", 0, 40, (4, 8), "Supervision a social worker needs a month"),
    "supervision.reflective_share": _share(
        "Share of supervision time that is reflective (not managerial oversight)", (0.1, 0.9)),
    "supervision.reflective_gain": _p(
        "1", 0, 2, (0.05, 0.4),
        "Relative gain in assessment quality from full reflective supervision"),
    # assessment -------------------------------------------------------------------------------
    "assessment.policy": Param(
        str, "", None, None, None,
        "'timescales': initial (10 wd) then core (35 wd) assessment with deadlines; "
        "'flexible': one assessment as long as the case needs",
        choices=("timescales", "flexible")),
    "assessment.initial_timescale_wd": _p(
        "working days", 1, 120, None, "Initial assessment timescale"),
    "assessment.core_timescale_wd": _p("working days", 1, 250, None, "Core assessment timescale"),
    "assessment.flexible_guide_wd": _p(
        "working days", 1, 250, None, "Reported (not enforced) guide for a single assessment"),
    "assessment.initial_effort_hours": _p(
        "direct hours", 0.1, 200, (3, 12), "Mean direct work an initial assessment needs",
        ),
    "assessment.core_effort_hours": _p(
        "direct hours", 0.1, 500, (6, 30), "Mean direct work a core assessment needs"),
    "assessment.deadline_compliance": _share(
        "Chance an assessment running past its deadline is closed there at prescription 1",
        (0.2, 0.8)),
    "assessment.core_share_tier2": _share(
        "Chance a case judged tier 2 after an initial assessment gets a core assessment",
        (0.2, 0.8)),
    "assessment.shared_effort_saving": _share(
        "Share of assessment effort saved by continuing a partner assessment", (0.1, 0.5)),
    "assessment.continue_shared": Param(
        bool, "", doc="Whether a partner assessment is continued rather than restarted"),
    "assessment.signal_sd_best": _p(
        "tiers", 0, 5, (0.1, 0.4), "Noise of the view of need after a full-quality assessment"),
    "assessment.signal_sd_worst": _p(
        "tiers", 0, 5, (0.8, 1.6), "Noise of the view of need after a zero-quality assessment"),
    # child protection -------------------------------------------------------------------------
    "protection.icpc_timescale_wd": _p(
        "working days", 1, 60, None, "Strategy discussion to initial conference"),
    "protection.conference_sd": _p(
        "tiers", 0, 5, (0.2, 0.8), "Noise of the conference's view of need (multi-agency)"),
    "protection.icpc_threshold": _p(
        "tiers", -5, 8, (2.3, 3.0),
        "Signal of need after a section 47 enquiry at which concerns are substantiated and "
        "an initial conference is called"),
    "protection.first_review_months": _p(
        "months", 0.5, 24, None, "First review of a plan after it starts"),
    "protection.review_interval_months": _p(
        "months", 0.5, 24, None, "Interval between later plan reviews"),
    "protection.help_max_rate": _p(
        "per month", 0, 50, (0.2, 1.5),
        "Most that a worker's direct time can add to the monthly hazard that help works "
        "(diminishing returns: reached only as direct hours grow without bound)"),
    "protection.help_half_hours": _p(
        "direct hours per month", 0.01, 100, (1.0, 8.0),
        "Direct hours a month on a case at which the worker's part of help reaches half "
        "of its most"),
    "protection.help_base_rate": _p(
        _PER_YEAR, 0, 20, (0.1, 1.0),
        "Hazard that need on a plan falls one tier through other agencies' help, "
        "before dividing by complexity and tier"),
    "protection.continuity_penalty": _share(
        "Share of help efficacy lost in the first months with a new worker", (0.2, 0.8)),
    "protection.relationship_months": _p(
        "months", 0, 24, (1, 6), "Months for a new worker to rebuild the relationship"),
    "protection.escalation_on_plan": _p(
        _PER_YEAR, 0, 50, (0.05, 0.5), "Hazard that need rises one tier while on a plan"),
    "protection.cin_step_down_share": _share(
        "Chance a child-in-need plan judged still at tier 2 at a review is closed anyway "
        "(stepped down to targeted services, or the family disengages)", (0.05, 0.4)),
    "protection.accommodation_share": _share(
        "Chance a child still at tier 3 at a protection-plan review is accommodated", (0.05, 0.4)),
    "protection.proceedings_share": _share(
        "Chance a child still at tier 3 at a later protection-plan review enters pre-proceedings",
        (0.05, 0.4)),
    "protection.proceedings_after_months": _p(
        "months", 0, 60, (3, 12), "Months on a plan before pre-proceedings are considered"),
    "protection.initial_looked_after": _p(
        "children per 10,000", 0, 1000, (40, 70),
        "Children looked after (outside care proceedings) at the start of the run"),
    "protection.initial_cin_plans": _p(
        "children per 10,000", 0, 2000, (100, 300),
        "Children on child-in-need plans at the start of the run"),
    "protection.initial_cp_plans": _p(
        "children per 10,000", 0, 1000, (20, 50),
        "Children on child protection plans at the start of the run"),
    "protection.initial_assessments": _p(
        "children per 10,000", 0, 500, (10, 60),
        "Children being assessed (referred, not yet decided) at the start of the run"),
    "protection.initial_s47": _p(
        "children per 10,000", 0, 500, (5, 40),
        "Children in a section 47 enquiry at the start of the run"),
    # care (children looked after) ----------------------------------------------------------
    "care.emergency_threshold": _p(
        "tiers", -5, 10, (3.3, 4.3),
        "Judged risk at a strategy discussion (true tier + conference noise) at which the "
        "child is removed at once (police protection or an emergency protection order)"),
    "care.emergency_threshold_infant": _p(
        "tiers", -5, 10, (2.6, 3.8),
        "As emergency_threshold, for a baby under 1 (risk to a baby is more immediate; "
        "removal at birth after a pre-birth assessment)"),
    "care.adolescent_return_factor": _p(
        "1", 0, 5, (0.1, 1.0),
        "Multiplier of the return-home hazard of a voluntarily accommodated adolescent"),
    "care.voluntary_proceedings_rate": _p(
        _PER_YEAR, 0, 10, (0.1, 1.5),
        "Hazard that the LA applies to court for a voluntarily accommodated child below the "
        "adolescent age"),
    "care.breakdown_rate": _p(
        _PER_YEAR, 0, 10, (0.005, 0.1),
        "Hazard that care at home breaks down for a child on a plan at tier 2 or more, "
        "before the adolescent factor (the child is accommodated, section 20)"),
    "care.adolescent_factor": _p(
        "1", 0, 50, (1.0, 8.0), "Multiplier of the breakdown hazard from the adolescent age"),
    "care.adolescent_age": _p(
        "years", 0, 18, (11, 14), "Age from which the adolescent factor applies"),
    "care.return_breakdown_rate": _p(
        _PER_YEAR, 0, 10, (0.1, 1.0),
        "Hazard that a return home from care breaks down, while the plan supporting it lasts"),
    "care.voluntary_return_rate": _p(
        _PER_YEAR, 0, 20, (0.3, 2.0),
        "Hazard that a voluntarily accommodated child (section 20) returns home"),
    "care.order_return_rate": _p(
        _PER_YEAR, 0, 10, (0.02, 0.3),
        "Hazard that a child on a care order returns home (order discharged, or placed with "
        "parents)"),
    "care.order_family_rate": _p(
        _PER_YEAR, 0, 10, (0.02, 0.3),
        "Hazard that a child on a care order leaves to special guardianship or another "
        "order placing the child with family"),
    "care.leaving_16_17_rate": _p(
        _PER_YEAR, 0, 10, (0.1, 1.0),
        "Hazard from the 16th birthday that a child on a care order or accommodated leaves "
        "care (independent or semi-independent living)"),
    "care.adoption_delay_months": _p(
        "months", 2.3, 120, (8, 20),
        "Mean time from a placement order to adoption (at least the ten weeks' placement)"),
    "care.adoption_max_age": _p(
        "years", 0, 18, (4, 7),
        "Children this old or older at the final hearing get no placement order"),
    "care.initial_order_share": _share(
        "Share of children looked after at the start who are on care orders (the rest are "
        "accommodated; placement orders below)", (0.5, 0.8)),
    "care.initial_placement_share": _share(
        "Share of children under the adoption age looked after at the start who are on "
        "placement orders", (0.1, 0.6)),
    "care.initial_age_under1": _p(
        "1", 0, 100, None, "Relative number of children looked after at the start aged under 1"),
    "care.initial_age_1_4": _p(
        "1", 0, 100, None, "Relative number of children looked after at the start aged 1-4"),
    "care.initial_age_5_9": _p(
        "1", 0, 100, None, "Relative number of children looked after at the start aged 5-9"),
    "care.initial_age_10_15": _p(
        "1", 0, 100, None, "Relative number of children looked after at the start aged 10-15"),
    "care.initial_age_16_17": _p(
        "1", 0, 100, None, "Relative number of children looked after at the start aged 16-17"),
    # court ------------------------------------------------------------------------------------
    "court.interim_removal_share": _share(
        "Chance the court removes a child living at home on an interim care order at the "
        "first hearing", (0.3, 0.9)),
    "court.family_order_share": _share(
        "Share of orders that are special guardianship or other orders placing the child "
        "with family", (0.1, 0.4)),
    "court.placement_order_share": _share(
        "Share of orders for a child below the adoption age that are placement orders",
        (0.2, 0.9)),
    "court.initial_proceedings": _p(
        "children per 10,000", 0, 1000, (4, 15),
        "Children in care proceedings at the start of the run"),
    "court.pre_proceedings_days": _p(
        "days", 1, 1000, (30, 180), "Mean pre-proceedings work before an application"),
    "court.fgc_share": _share(
        "Share of pre-proceedings cases offered a family group conference", (0.0, 1.0)),
    "court.fgc_diversion": _share(
        "Chance a family group conference finds family carers and avoids proceedings",
        (0.1, 0.5)),
    "court.hearings_mean": _p(
        "hearings", 1, 30, (3, 8), "Mean hearings per case, final hearing included"),
    "court.interval_days": _p(
        "days", 1, 1000, (30, 120),
        "Mean preparation time between hearings (evidence, expert assessments)"),
    "court.legal_quality": _p(
        "1", 0.1, 3, (0.7, 1.5),
        "Strength of LA legal services and case preparation (divides preparation time)"),
    "court.sitting_days_per_week": _p(
        "court days per week", 0.01, 50, (5, 15),
        "Court sitting time available to this LA's cases"),
    "court.hearing_days": _p("court days", 0.01, 30, (0.3, 1.5), "Mean length of a hearing"),
    "court.final_hearing_days": _p(
        "court days", 0.01, 30, (1, 5), "Mean length of a final hearing"),
    "court.time_limit_weeks": _p(
        "weeks", 0, 520, None,
        "Time limit on proceedings (0 = none): each case issued under it is timetabled to "
        "finish within it, or within an extension; a target, not a guarantee"),
    "court.min_interval_days": _p(
        "days", 0, 365, (7, 35),
        "Part of every preparation interval a timetable cannot compress (notice of the "
        "hearing, filing of statements and expert reports); used only under a time limit"),
    "court.extension_share": _share(
        "Chance a case whose timetable does not fit the time limit needs an extension "
        "(further expert evidence) and is timetabled to the limit plus one extension",
        (0.1, 0.6)),
    "court.extension_weeks": _p(
        "weeks", 0, 52, (4, 12),
        "Length of one extension of the time limit"),
    "court.pre_proceedings_frontload": _p(
        "1", 0.1, 5, (1.0, 2.0),
        "Multiplier of pre-proceedings duration under a time limit (assessments done "
        "before issue); 1 under no limit"),
    "court.order_share": _share(
        "Chance proceedings end in an order (care, placement, special guardianship or other "
        "family order) rather than the child at home", (0.6, 0.95)),
    # serious incidents ------------------------------------------------------------------------
    "incidents.harm_rate": _p(
        _PER_YEAR, 0, 10, (0.001, 0.02),
        "Hazard of serious harm per tier-3 child-year whose need is not being met"),
    "incidents.scr_share": _share(
        "Share of serious incidents that lead to a serious case review", (0.3, 0.9)),
}


def _switch(doc: str) -> Param:
    return Param(bool, "", doc=doc)


SCHEMA.update({
    # feedback loops (the system layer) ----------------------------------------------------
    "loops.workforce_spiral": _switch(
        "R1: caseload -> stress -> sickness and leavers -> vacancies -> caseload"),
    "loops.procedure_creep": _switch(
        "R2: serious case reviews -> pressure -> prescription -> less direct work -> "
        "missed harm -> serious case reviews"),
    "loops.defensive_practice": _switch(
        "R3: pressure -> lower referral thresholds and more section 47 -> load"),
    "loops.early_help": _switch(
        "B1: community teams, health visitors and early-help capacity meet need earlier"),
    "loops.gatekeeping": _switch(
        "B2: work held and waiting against capacity -> thresholds rise, low-need work closed "
        "or stepped down and shortened -> load"),
    "loops.inspection_regime": _switch(
        "Inspections: announced inspections pull worker time into compliance"),
    # R1 workforce dynamics
    "workforce_dynamics.manageable_caseload": _p(
        "cases per worker", 1, 100, (12, 24),
        "Caseload at which stress is at its reference level"),
    "workforce_dynamics.stress_months": _p(
        "months", 0.1, 60, (0.5, 6), "Time constant of stress following caseload"),
    "workforce_dynamics.morale_months": _p(
        "months", 0.1, 120, (3, 24), "Time constant of morale following stress"),
    "workforce_dynamics.turnover_gain": _p(
        "1", 0, 20, (0.5, 4),
        "Relative rise in the leaving hazard per unit of stress above its reference"),
    "workforce_dynamics.sickness_share": _share(
        "Share of hours lost to sickness at reference stress", (0.02, 0.06)),
    "workforce_dynamics.sickness_gain": _p(
        "1", 0, 5, (0.02, 0.2), "Rise in the sickness share per unit of stress above reference"),
    "workforce_dynamics.reflective_relief": _share(
        "Share of excess stress relieved by full reflective supervision", (0.1, 0.6)),
    # R2 procedure creep
    "pressure.decay_months": _p(
        "months", 0.1, 240, (6, 36), "Time constant of public and political pressure"),
    "pressure.per_scr": _p(
        "pressure index per SCR", 0, 10, (0.05, 0.5),
        "Rise in pressure for each serious case review"),
    "pressure.reference_scr_per_year": _p(
        "SCRs per year", 0, 100, (0.3, 1.2),
        "SCR rate the 2010 system had adapted to (pressure index 1)"),
    "pressure.prescription_link": _p(
        "1", 0, 10, (0.2, 1.5), "Rise in prescription per unit of pressure above 1"),
    "pressure.ratchet_up_months": _p(
        "months", 0.1, 120, (1, 6), "Time constant of prescription rising"),
    "pressure.ratchet_down_months": _p(
        "months", 0.1, 600, (24, 120), "Time constant of prescription falling"),
    "pressure.initial_prescription": _p(
        "index", 0.2, 3.0, (1.0, 1.1),
        "Prescription index at the start of the run (with procedure creep on)"),
    "pressure.systems_approach_scr": _switch(
        "Serious case reviews take a systems approach (learning, not blame)"),
    "pressure.systems_link_reduction": _share(
        "Share of the pressure-to-prescription link removed by systems-approach SCRs",
        (0.3, 0.9)),
    # R3 defensive practice
    "defensive.notice_gain": _p(
        "1", 0, 10, (0.1, 1.0),
        "Relative rise in universal services' contacts about tiers 0-1 per unit of pressure"),
    "defensive.threshold_gain": _p(
        "tiers", 0, 5, (0.05, 0.5),
        "Fall of the front door's referral threshold per unit of pressure above 1"),
    "defensive.s47_gain": _p(
        "tiers", 0, 5, (0.1, 0.8),
        "Fall of the thresholds for section 47 and of the conference's decisions per unit "
        "of pressure above 1"),
    "defensive.court_gain": _p(
        "1", 0, 10, (0.1, 1.0),
        "Relative rise in the chance a protection plan goes to court per unit of pressure "
        "above 1"),
    # B2 gatekeeping
    "gatekeeping.reference_load": _p(
        "1", 0, 5, (0.4, 0.7),
        "Work held and waiting as a share of the workforce's capacity (weighted cases over "
        "caseload cap x staff) at which no rationing beyond 2010's acts"),
    "gatekeeping.months": _p(
        "months", 0.1, 60, (0.5, 6), "Time constant of managers' view of the load"),
    "gatekeeping.backlog_weeks": _p(
        "weeks", 0.1, 52, (1, 12),
        "Weeks of contacts waiting for screening that the front door rations as one unit of "
        "load above the reference"),
    "gatekeeping.threshold_gain": _p(
        "tiers", 0, 10, (0.2, 2.0),
        "Rise of the front door's referral threshold and the referral check's "
        "no-further-action threshold per unit of load above the reference"),
    "gatekeeping.step_down_gain": _p(
        "1", 0, 20, (0.5, 5.0),
        "Relative rise in the chance a child-in-need plan is stepped down at a review per "
        "unit of load above the reference"),
    "gatekeeping.effort_gain": _p(
        "1", 0, 20, (0.2, 3.0),
        "Shortening of assessments: effort divided by 1 + this x load above the reference"),
    "gatekeeping.stress_gain": _p(
        "1", 0, 10, (0.2, 3.0),
        "Rise in workers' stress per unit of load above the reference (unallocated work "
        "weighs on workers and managers)"),
    # B1 early help capacity
    "early_help.places": _p(
        "children per 10,000", 0, 10_000, (100, 600),
        "Children early help can hold at once (non-statutory family support)"),
    "community_team.places_per_fte": _p(
        "children per FTE", 0, 1000, (5, 30),
        "Early-help places a community-team social worker adds"),
    "community_team.cases_per_fte": _p(
        "cases per FTE", 0, 100, (8, 15),
        "Cases a community-team social worker holds at once (team help)"),
    "early_help.supply_gain": _p(
        "1", 0, 10, (0.5, 4.0),
        "Rise in early-help places, relative to the base, per unit of unmet demand "
        "(families waiting per place)"),
    "early_help.supply_months": _p(
        "months", 0.1, 120, (3, 18),
        "Time constant of early-help places following unmet demand (commissioning delay)"),
    # inspection regime
    "inspection.regime": Param(
        str, "", doc="'announced' (preparation pulls time into compliance) or 'unannounced'",
        choices=("announced", "unannounced")),
    "inspection.interval_years": _p(
        "years", 0.1, 20, (1, 4), "Time between inspections"),
    "inspection.prep_months": _p(
        "months", 0, 12, (1, 4), "Months of preparation before an announced inspection"),
    "inspection.prep_share": _share(
        "Share of worker hours pulled into compliance while preparing", (0.03, 0.2)),
    # stimuli (shocks), off at their default values
    "shocks.surge_start_year": _p(
        "years", 0, 1000, None, "Start of a surge in concerns (years from run start)"),
    "shocks.surge_months": _p("months", 0, 1200, None, "Length of the surge (0 = none)"),
    "shocks.surge_factor": _p(
        "1", 0, 20, None, "Multiplier on concern rates during the surge"),
    "shocks.pressure_year": _p(
        "years", 0, 1000, None,
        "Time of a high-profile child death in the news (years from run start)"),
    "shocks.pressure_size": _p(
        "pressure index", 0, 20, None, "Jump in pressure it causes (0 = none)"),
    "shocks.freeze_start_year": _p(
        "years", 0, 1000, None, "Start of a recruitment freeze (years from run start)"),
    "shocks.freeze_months": _p(
        "months", 0, 1200, None, "Length of the recruitment freeze (0 = none)"),
})

SCHEMA.update({
    "universal.partner_assessment_share": _share(
        "Share of contacts from universal services that carry a partner assessment (CAF)",
        (0.05, 0.6)),
    "workforce.senior_leaving_factor": _p(
        "1", 0, 3, (0.4, 1.0), "Leaving hazard of senior practitioners relative to others"),
    "workforce.mentoring_gain": _p(
        "1", 0, 1, (0.0, 0.3),
        "Rise in a newly qualified worker's expertise with full senior support "
        "(one senior practitioner or more per newly qualified worker)"),
})

#: The few parameters ``childsim calibrate`` fits, each aimed at the targets it most
#: drives (in brackets). Their plausible ranges were set before fitting.
CALIBRATED: tuple[str, ...] = (
    "population.concern_rate_tier2",      # referrals, assessments
    "population.concern_rate_tier3",      # section 47, conferences, plans
    "front_door.urgent_threshold",        # section 47
    "assessment.core_effort_hours",       # core assessments within 35 working days
    "protection.cin_step_down_share",     # re-referrals, children in need
    "protection.icpc_threshold",          # initial conferences
    "population.recurrence_share_met",    # re-referrals
    "protection.proceedings_share",       # care applications
    "court.interval_days",                # length of care proceedings
    "incidents.harm_rate",                # serious case reviews
    "care.breakdown_rate",                # children starting to be looked after
    "care.emergency_threshold_infant",    # starts under 1, placement orders
    "court.placement_order_share",        # adoptions
    "care.order_return_rate",             # children looked after
    "care.leaving_16_17_rate",            # ceased aged 16-17 and at 18
)
for _key in CALIBRATED:
    SCHEMA[_key] = replace(SCHEMA[_key], calibrated=True)

#: What a parameter is, in the order :func:`sim.api.parameters` explains them.
ROLES: dict[str, str] = {
    "lever": "a policy lever: what a reform, a local authority or government sets",
    "size": "the size of the local authority",
    "initial": "the state at the start of a run",
    "behaviour": "how children, families, professionals and courts behave (assumed or "
                 "calibrated)",
    "switch": "a feedback loop of the model, on or off",
    "shock": "a stimulus at a time (off at its default)",
}

#: The policy levers: each reform scenario pulls some of them (scenarios/*.toml), and the
#: rest are set in the same way by services, rules or resources.
LEVERS: tuple[str, ...] = (
    # universal services and early help
    "universal.health_visitor_fte", "universal.partner_assessment_share",
    "community_team.fte", "community_team.consult_hours", "community_team.places_per_fte",
    "community_team.cases_per_fte",
    "early_help.places", "early_help.duration_days", "early_help.success_tier1",
    "early_help.success_tier2",
    # the front door and its thresholds
    "front_door.staff_fte", "front_door.early_help_threshold", "front_door.referral_threshold",
    # the workforce and how its time is spent
    "workforce.posts_fte", "workforce.hours_per_week", "workforce.agency_cover_share",
    "workforce.newly_qualified_share", "workforce.senior_share",
    "workforce.senior_leaving_factor", "workforce.mentoring_gain", "workforce.caseload_cap",
    "time.recording_per_direct_hour",
    "supervision.managers", "supervision.hours_per_manager", "supervision.reflective_share",
    # assessment and plans: policy, timescales, rules
    "assessment.policy", "assessment.initial_timescale_wd", "assessment.core_timescale_wd",
    "assessment.flexible_guide_wd", "assessment.deadline_compliance",
    "assessment.shared_effort_saving", "assessment.continue_shared",
    "protection.icpc_timescale_wd", "protection.first_review_months",
    "protection.review_interval_months", "protection.proceedings_after_months",
    # courts
    "court.fgc_share", "court.hearings_mean", "court.legal_quality",
    "court.sitting_days_per_week", "court.time_limit_weeks",
    # the regime around practice
    "pressure.systems_approach_scr", "pressure.prescription_link",
    "inspection.regime", "inspection.interval_years",
)
#: The size of the authority.
SIZE: tuple[str, ...] = ("population.child_population",)
#: The state at the start of a run.
INITIAL: tuple[str, ...] = (
    "protection.initial_looked_after", "protection.initial_cin_plans",
    "protection.initial_cp_plans", "protection.initial_assessments", "protection.initial_s47",
    "court.initial_proceedings", "early_help.initial",
    "care.initial_order_share", "care.initial_placement_share",
    *(f"care.initial_age_{band}" for band in ("under1", "1_4", "5_9", "10_15", "16_17")),
    "pressure.initial_prescription",
)


def _role(key: str) -> str:
    if key in LEVERS:
        return "lever"
    if key in SIZE:
        return "size"
    if key in INITIAL:
        return "initial"
    if key.startswith("loops."):
        return "switch"
    if key.startswith("shocks."):
        return "shock"
    return "behaviour"


for _key in SCHEMA:
    SCHEMA[_key] = replace(SCHEMA[_key], role=_role(_key))

#: Top-level scenario keys that are not parameters.
META_KEYS: frozenset[str] = frozenset({"name", "description", "base", "start_year"})

#: Parameters that cannot change part-way through a run (``start_year``).
STRUCTURAL: frozenset[str] = frozenset({"workforce.posts_fte"})

#: Sections, in declaration order.
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(k.split(".")[0] for k in SCHEMA))


def table(section: str | None = None, *, scenario: Any = "baseline",
          levers: bool = False) -> Any:
    """Every parameter as a DataFrame (see :func:`sim.scenario.parameter_table`): value in
    ``scenario``, unit, allowed and plausible range, role, description and source.
    ``section`` keeps one section, ``levers`` only the policy levers."""
    from sim.scenario import parameter_table

    frame = parameter_table(scenario, section)
    if levers:
        frame = frame[frame["lever"]].reset_index(drop=True)
    return frame


class _CallableModule(types.ModuleType):
    """``sim.parameters(...)`` is :func:`table`, and ``sim.parameters.SCHEMA`` the schema."""

    def __call__(self, section: str | None = None, *, scenario: Any = "baseline",
                 levers: bool = False) -> Any:
        return table(section, scenario=scenario, levers=levers)


sys.modules[__name__].__class__ = _CallableModule
