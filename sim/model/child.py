"""The child: one entity per child, carried across episodes of concern."""

from __future__ import annotations

import math

from sim.clock import YEAR

#: Legal status of a looked-after child, as stored in :attr:`Child.legal`.
LEGAL_STATUSES: tuple[str, ...] = (
    "none",       # not looked after
    "voluntary",  # accommodated with the parents' agreement (Children Act 1989 s20)
    "emergency",  # emergency protection order or police protection
    "interim",    # interim care order during proceedings
    "order",      # full care order
    "placement",  # placement order: the plan is adoption
)
NOT_LOOKED_AFTER, VOLUNTARY, EMERGENCY, INTERIM, ORDER, PLACEMENT = range(len(LEGAL_STATUSES))


class Child:
    """A child known to the model.

    Attributes
    ----------
    id : int
        Identifier, unique within a replication.
    episode : int
        Current episode of concern (1, 2, ...).
    tier : int
        True need tier, hidden from professionals: 0 none, 1 early help, 2 child in need,
        3 risk of significant harm.
    known : int
        Tier as the professionals last judged it (-1 unknown).
    complexity : float
        Effort multiplier to understand the case (mean 1 over children).
    stage : int
        Where the child is: index into :data:`sim.records.STAGES` (-1 before entering).
    post, worker : int
        Post index and worker id holding the case (-1 none).
    weight : float
        Workload weight of the case for its worker (weighted cases).
    minimum : float
        Statutory minimum of direct time the case needs (hours a week).
    task : Task or None
        Work of a set number of direct hours under way on the case (an assessment or
        enquiry), paced by its worker's load (:class:`sim.model.workforce.Task`).
    worker_since : float
        Time (days) the current worker took the case.
    shared : bool
        Whether a partner assessment exists for this episode.
    team_assessed : bool
        Whether that partner assessment is the community team's: a referral from the team
        carries it and it is continued at referral whatever
        ``assessment.continue_shared`` says of other partners' forms.
    birth : float
        Date of birth (days since the start of the run; negative: born before it).
    legal : int
        Legal status while looked after (:data:`LEGAL_STATUSES` index; 0 when not
        looked after).
    returned : float
        Time (days) the child last returned home from care (-inf: never).
    journey : object or None
        The child's running journey (a process of the model), so that it can be ended at
        the 18th birthday; None when no journey is running.
    aged_out : bool
        Whether the child has reached 18 and left children's services (for good).
    quality : float
        Quality of a completed assessment that a section 47 enquiry reuses (-1 none).
    unmet_token : int
        Invalidates a pending serious-harm clock when the child's situation changes.
    """

    __slots__ = (
        "id", "episode", "tier", "known", "complexity", "stage", "post", "worker",
        "weight", "minimum", "task", "worker_since", "shared", "team_assessed", "legal",
        "unmet", "unmet_token",
        "ticket", "quality", "referral_time", "birth", "returned", "journey", "aged_out",
    )

    def __init__(self, cid: int, tier: int, complexity: float, birth: float = 0.0) -> None:
        self.id = cid
        self.episode = 1
        self.tier = tier
        self.known = -1
        self.complexity = complexity
        self.stage = -1
        self.post = -1
        self.worker = -1
        self.weight = 0.0
        self.minimum = 0.0
        self.task = None
        self.worker_since = 0.0
        self.shared = False
        self.team_assessed = False
        self.legal = NOT_LOOKED_AFTER
        self.unmet = False
        self.unmet_token = 0
        self.ticket = 0
        self.quality = -1.0
        self.referral_time = 0.0
        self.birth = birth
        self.returned = -math.inf
        self.journey = None
        self.aged_out = False

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Child({self.id}, ep={self.episode}, tier={self.tier}, stage={self.stage})"

    def age(self, t: float) -> float:
        """Age in years at time ``t`` (days)."""
        return (t - self.birth) / YEAR
