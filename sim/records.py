"""The journey event record and the monthly stock record: their schemas, defined once.

Every analysis reads these records; no KPI looks inside the model. A journey row says
that at ``time`` (calendar days from the start of the run, warm-up included) ``event``
happened to ``child`` in its ``episode``, after which the child is in ``stage``.

Columns of the journey log
--------------------------
rep : int32
    Replication number.
time : float64
    Calendar days since the start of the run (warm-up included).
child : int64
    Child identifier, unique within a replication.
episode : int32
    Episode of concern for this child (1, 2, ...); a re-referral opens a new episode.
stage : str
    Where the child is after the event: one of :data:`STAGES`.
event : str
    What happened: one of :data:`EVENTS`.
worker : int32
    Social worker holding the case after the event, or -1 when none.
known_tier : int8
    Need tier as the professionals see it after the event, or -1 when not yet known.
true_tier : int8
    The child's true (hidden) need tier after the event: 0 none, 1 early help,
    2 child in need, 3 at risk of significant harm.
detail : str
    Extra qualifier (:data:`DETAILS` lists which events carry which): for assessments
    ``on_time``, ``late`` or ``at_deadline``; for ``proceedings_ended`` the outcome;
    for ``extension_granted`` why the case needs more time than the limit;
    for ``looked_after_started`` the route into care; for ``looked_after_ended`` the
    route out; otherwise empty.
birth : float64
    The child's date of birth, in calendar days since the start of the run (negative:
    born before it). Age at an event is ``(time - birth) / 365.25`` years.
at_start : bool
    The row records where a child already was when the run or the log began, not
    something that happened then: the rows that place the children present at the start
    of a run (time 0), and, in a log that starts at the measured window
    (:data:`CONTEXT_EVENTS`), the earlier rows kept to describe the cases open at its
    start. Flow KPIs never count these rows.

A log that covers only the measured window (the default of an experiment) keeps, from
before the window, only the rows marked ``at_start``: for every child still open at the
window's start (any stage but ``left``), its last row before it (its state then) and its
latest row of each of :data:`CONTEXT_EVENTS`; for every other child, its latest row of
each of those events if it lies within :data:`CONTEXT_DAYS` before the window, and its
last row (``left``). Those
are what the KPIs read from before the window (re-referrals, durations of proceedings,
first contacts, the state a child is in), so KPIs are the same from either log.
"""

from __future__ import annotations

import pyarrow as pa

#: Where a child can be. ``community`` means a need exists that services do not hold (a
#: family waiting for an early-help place is there too); ``team_help`` means a social
#: worker of the community multi-agency team holds the case (help without a statutory
#: plan: not a child in need, see :data:`CIN_STAGES`); ``left`` means the child has no
#: open need and is not held by any service.
STAGES: tuple[str, ...] = (
    "community",
    "front_door",
    "consultation",
    "early_help",
    "team_help",
    "referral",
    "assessment",
    "s47",
    "cin_plan",
    "cp_plan",
    "pre_proceedings",
    "proceedings",
    "interim_care",
    "looked_after",
    "left",
)

#: Stages counted as a child in need (the DfE census definition: referred and not
#: closed, including assessment, plans, proceedings and looked after). A case held by the
#: community team (``team_help``) is not referred, so not counted.
CIN_STAGES: frozenset[str] = frozenset(
    {
        "referral",
        "assessment",
        "s47",
        "cin_plan",
        "cp_plan",
        "pre_proceedings",
        "proceedings",
        "interim_care",
        "looked_after",
    }
)

#: Stages in which a child is looked after (as the national SSDA903 return counts them:
#: an interim care order during proceedings is looked after).
LOOKED_AFTER_STAGES: frozenset[str] = frozenset({"interim_care", "looked_after"})

#: Stages in which a child is in care proceedings (at home, or in care on an interim order).
PROCEEDINGS_STAGES: frozenset[str] = frozenset({"proceedings", "interim_care"})

#: Age (years) at which every child leaves children's services.
LEAVING_AGE: int = 18

#: Stages in which a tier-3 child counts as protected (need being met by a
#: protective service). Any other stage with true tier 3 is missed harm.
PROTECTED_STAGES: frozenset[str] = frozenset(
    {"cp_plan", "pre_proceedings", "proceedings", "interim_care", "looked_after"}
)

#: Every event, with a one-line meaning.
EVENTS: dict[str, str] = {
    "concern": "a need arises in the child population (opens an episode)",
    "escalated": "unmet need rises one tier",
    "improved": "help works: need falls one tier",
    "resolved": "need resolves without services; the episode ends",
    "contact": "universal services contact the front door",
    "consulted": "universal services consult the community multi-agency team",
    "screened_out": "front door: no further action on a contact",
    "signposted": "front door or community team: referred on to early help",
    "early_help_started": "early help begins",
    "early_help_ended": "early help ends (need met, or not)",
    "early_help_waiting": "early help is full: the family joins its waiting list (need "
                          "still unmet, in the community)",
    "early_help_gave_up": "the family leaves the early-help waiting list unserved",
    "team_help_started": "a community-team social worker holds the case and gives help",
    "team_help_ended": "community-team help ends (need met, or not: then perhaps a referral)",
    "referral": "contact accepted as a referral to children's social care",
    "referral_nfa": "referral closed with no further action before assessment",
    "allocated": "case allocated to a social worker",
    "unallocated": "case loses its worker (leaver) and waits in the unallocated queue",
    "reallocated": "case moves to another social worker",
    "initial_assessment_started": "initial assessment begins (2010 policy)",
    "initial_assessment_done": "initial assessment completed (detail: on_time, late, at_deadline)",
    "core_assessment_started": "core assessment begins (2010 policy)",
    "core_assessment_done": "core assessment completed (detail: on_time, late, at_deadline)",
    "assessment_started": "single assessment begins (flexible policy)",
    "assessment_done": "single assessment completed (detail: on_time, late against the guide)",
    "strategy_discussion": "strategy discussion: a section 47 enquiry starts",
    "icpc": "initial child protection conference held",
    "cin_plan_started": "child-in-need plan begins",
    "cp_plan_started": "child protection plan begins",
    "plan_review": "plan reviewed (child in need or child protection)",
    "cp_plan_ended": "child protection plan ends",
    "cin_plan_ended": "child-in-need plan ends",
    "pre_proceedings_started": "pre-proceedings (public law outline) work begins",
    "fgc_held": "family group conference held",
    "diverted": "family carers found: proceedings avoided",
    "care_application": "care proceedings issued",
    "hearing": "court hearing held",
    "extension_granted": "the court extends the time limit for a case issued under it "
                         "(detail: minimum or evidence)",
    "proceedings_ended": "care proceedings end (detail: order, placement, family or home)",
    "looked_after_started": "child becomes looked after (detail: the route into care)",
    "looked_after_ended": "child stops being looked after (detail: the route out of care)",
    "aged_out": "the child turns 18 and leaves children's services",
    "closed": "case closed by children's social care",
    "serious_incident": "serious harm to a child at tier 3 whose need was not met",
    "scr_started": "a serious case review starts",
}

#: Values of the ``detail`` column, by event (an event not listed has an empty detail).
DETAILS: dict[str, dict[str, str]] = {
    "initial_assessment_done": {"on_time": "within the timescale", "late": "after it",
                                "at_deadline": "closed at the deadline with the work done"},
    "core_assessment_done": {"on_time": "within the timescale", "late": "after it",
                             "at_deadline": "closed at the deadline with the work done"},
    "assessment_done": {"on_time": "within the reported guide", "late": "after it"},
    "proceedings_ended": {
        "order": "care order",
        "placement": "placement order (the plan is adoption)",
        "family": "special guardianship or another order placing the child with family",
        "home": "the child stays or returns home with support",
    },
    "extension_granted": {
        "minimum": "the minimum intervals of the case's hearings alone exceed the limit",
        "evidence": "the case needs further expert evidence",
    },
    "looked_after_started": {
        "emergency": "emergency protection (EPO or police protection) during a section 47 "
                     "enquiry",
        "voluntary": "accommodated with the parents' agreement (section 20)",
        "interim": "interim care order during proceedings",
        "order": "care or placement order at the end of proceedings",
    },
    "looked_after_ended": {
        "home": "returned home (a child-in-need plan supports the return)",
        "adopted": "adopted",
        "family": "special guardianship or another order placing the child with family",
        "independent": "left care aged 16 or 17 (independent or semi-independent living)",
        "age_18": "the 18th birthday",
    },
}

#: Arrow schema of the journey log, in column order.
JOURNEY_SCHEMA: pa.Schema = pa.schema(
    [
        ("rep", pa.int32()),
        ("time", pa.float64()),
        ("child", pa.int64()),
        ("episode", pa.int32()),
        ("stage", pa.dictionary(pa.int8(), pa.string())),
        ("event", pa.dictionary(pa.int8(), pa.string())),
        ("worker", pa.int32()),
        ("known_tier", pa.int8()),
        ("true_tier", pa.int8()),
        ("detail", pa.dictionary(pa.int8(), pa.string())),
        ("birth", pa.float64()),
        ("at_start", pa.bool_()),
    ]
)

JOURNEY_COLUMNS: tuple[str, ...] = tuple(JOURNEY_SCHEMA.names)

#: Events whose latest row before the measured window a window-only log keeps (marked
#: ``at_start``): the KPIs look back at them (the previous referral, the application of
#: proceedings still open, the first contact of an episode still open, a proceedings end,
#: the start of a care spell still open and the last return home).
CONTEXT_EVENTS: tuple[str, ...] = (
    "referral", "contact", "consulted", "care_application", "proceedings_ended",
    "looked_after_started", "looked_after_ended",
)
#: How far before the window (days) a window-only log keeps those rows for children
#: no longer open at its start (at least the 12 months of the re-referral measure).
CONTEXT_DAYS: float = 366.0

#: Monthly stock columns, with their units. Stocks are point-in-time values at the end
#: of each month; ``*_in_month`` columns are flows counted over the month.
STOCK_COLUMNS: dict[str, str] = {
    "rep": "replication",
    "month": "months since the start of the run",
    "time": "calendar days since the start of the run",
    **{f"stage_{s}": f"children in stage {s}" for s in STAGES if s != "left"},
    "cin_open": "children in need (referred, not closed: CIN_STAGES)",
    "looked_after": "children looked after (LOOKED_AFTER_STAGES: interim care orders included)",
    "looked_after_16_plus": "children looked after aged 16 or over",
    "in_proceedings": "children in care proceedings (PROCEEDINGS_STAGES)",
    "contacts_waiting": "contacts waiting for front-door screening",
    "unallocated": "cases waiting with no allocated social worker",
    "posts": "social worker posts (FTE)",
    "staff_in_post": "permanent social workers in post",
    "agency_staff": "agency social workers covering vacant posts",
    "vacancies": "posts without a permanent social worker",
    "caseload_mean": "cases held per worker (permanent and agency), mean",
    "caseload_p10": "cases held per worker, 10th percentile",
    "caseload_p50": "cases held per worker, median",
    "caseload_p90": "cases held per worker, 90th percentile",
    "direct_share": "share of worker hours in direct work with children and families",
    "recording_share": "share of worker hours in recording and case management",
    "travel_share": "share of worker hours travelling",
    "supervision_share": "share of worker hours in supervision",
    "other_share": "share of worker hours in development, meetings and compliance",
    "reflective_supervision_share": "share of supervision hours that is reflective",
    "sickness_share": "share of worker hours lost to sickness",
    "compliance_share": "share of worker hours pulled into inspection preparation",
    "experienced_share": "share of workers in post who are experienced or senior (not newly "
    "qualified, not agency)",
    "agency_share": "agency workers as a share of posts",
    "expertise_mean": "mean expertise of workers in post, before supervision (1 = experienced)",
    "stress": "worker stress (index, 1 = at the manageable caseload)",
    "morale": "worker morale (index, 1 = stress at the manageable caseload; above 1 below it)",
    "pressure": "public and political pressure (index, 1 = 2010 level)",
    "prescription": "procedural prescription (index, 1 = 2010 level)",
    "load": "work held and waiting over the capacity of the staff in post, as managers see "
    "it (gatekeeping's driver; 1 = every worker at the caseload cap)",
    "early_help_places": "children early help can hold at once",
    "early_help_occupancy": "children in early help (started, not ended)",
    "early_help_waiting": "families on the early-help waiting list",
    "leavers_in_month": "permanent social workers who left in the month",
    "joiners_in_month": "permanent social workers who started in the month",
    "incidents_in_month": "serious incidents in the month",
    "scrs_in_month": "serious case reviews started in the month",
}
