"""The child: one entity per child, carried across episodes of concern."""

from __future__ import annotations


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
    worker_since : float
        Time (days) the current worker took the case.
    shared : bool
        Whether a partner assessment exists for this episode.
    care_order : bool
        Whether the child is looked after under a care order.
    quality : float
        Quality of a completed assessment that a section 47 enquiry reuses (-1 none).
    unmet_token : int
        Invalidates a pending serious-harm clock when the child's situation changes.
    """

    __slots__ = (
        "id", "episode", "tier", "known", "complexity", "stage", "post", "worker",
        "weight", "worker_since", "shared", "care_order", "unmet", "unmet_token",
        "ticket", "quality", "referral_time",
    )

    def __init__(self, cid: int, tier: int, complexity: float) -> None:
        self.id = cid
        self.episode = 1
        self.tier = tier
        self.known = -1
        self.complexity = complexity
        self.stage = -1
        self.post = -1
        self.worker = -1
        self.weight = 0.0
        self.worker_since = 0.0
        self.shared = False
        self.care_order = False
        self.unmet = False
        self.unmet_token = 0
        self.ticket = 0
        self.quality = -1.0
        self.referral_time = 0.0

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Child({self.id}, ep={self.episode}, tier={self.tier}, stage={self.stage})"
