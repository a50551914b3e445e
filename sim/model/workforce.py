"""Social workers: posts, people, caseloads, time split, leavers and recruitment.

A worker holds many cases and shares weekly hours among them (a caseload is not a
resource of capacity 1). Each post is one FTE. A post holds a permanent worker, an
agency worker covering a vacancy, or nobody. Cases are allocated to the post with the
lowest weighted load, provided it is below the cap; otherwise they wait in the
unallocated queue, a real, reported stock.

Time split of a worker's week (shares of contracted hours): recording (scaled by the
prescription level of the system layer), travel, other (development, meetings),
supervision (hours received), sickness and inspection preparation (set by the system
layer), and direct work with children and families (the remainder). Direct hours are
shared among the worker's cases in proportion to their workload weights.

Permanent staff leave with a monthly hazard (scaled by the workforce spiral, and for
senior practitioners by ``senior_leaving_factor``: a career pathway keeps them in
practice); newly qualified staff gain ``mentoring_gain`` expertise with full senior
support (one senior practitioner or more per newly qualified worker). A vacant
post is covered by an agency worker with a set chance (agency workers move on faster)
and filled after an exponential recruitment delay, extended by any recruitment freeze.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MONTH, YEAR

if TYPE_CHECKING:  # pragma: no cover
    import simpy

    from sim.model.child import Child
    from sim.model.simulation import Model

EMPTY, PERMANENT, AGENCY = 0, 1, 2
#: Weeks in a month, for converting weekly hours to monthly hours.
WEEKS_PER_MONTH: float = MONTH / 7.0


class Workforce:
    """The case-holding social workers of one LA.

    Parameters
    ----------
    model : Model
        The model this workforce belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        p = model.p
        self.n_posts = n = max(1, round(p["workforce.posts_fte"]))
        self.load = np.full(n, np.inf)  # weighted load; inf marks an empty post
        self._load = [math.inf] * n  # the same as Python floats, for cheap reads
        self._hired = [0.0] * n  # hire times as Python floats, for cheap reads
        # per post: expertise with supervision, or None for a newly qualified hire
        # (see :meth:`expertise`); set by :meth:`_refresh_expertise`
        self._expertise: list[float | None] = [None] * n
        self.count = np.zeros(n, dtype=np.int64)
        self.kind = np.zeros(n, dtype=np.int8)
        self.worker_id = [-1] * n
        self.hired_at = np.zeros(n)
        self.nq_hire = np.zeros(n, dtype=bool)
        self.cases: list[set[Child]] = [set() for _ in range(n)]
        self.queue: deque[tuple[Child, simpy.Event | None, int]] = deque()
        self._ticket = 0
        self.next_worker_id = 0
        self.leavers = 0
        self.joiners = 0
        self.leave_multiplier = 1.0  # set by the workforce spiral
        self.mentoring = 0.0  # expertise gain of newly qualified staff now
        self.direct_share = 0.0
        self.sup_hours = 0.0
        self._split = (1.0, 0.0, 0.0)
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        n = self.n_posts
        self.cap = float(p["workforce.caseload_cap"])
        self.hours = float(p["workforce.hours_per_week"])
        self.senior_post = np.arange(n) < round(p["workforce.senior_share"] * n)
        self.leave_rate = float(p["workforce.leaving_rate"])
        self.agency_rate = float(p["workforce.agency_leaving_rate"])
        self.recruit_days = float(p["workforce.recruitment_delay_days"])
        self.agency_share = float(p["workforce.agency_cover_share"])
        self.nq_share = float(p["workforce.newly_qualified_share"])
        self.years_to_exp = float(p["workforce.years_to_experienced"])
        self.expertise_by = {
            "nq": float(p["workforce.expertise_newly_qualified"]),
            "exp": float(p["workforce.expertise_experienced"]),
            "senior": float(p["workforce.expertise_senior"]),
            "agency": float(p["workforce.expertise_agency"]),
        }
        self.travel = float(p["time.travel_share"])
        self.other = float(p["time.other_share"])
        self.recording_base = float(p["time.recording_share"])
        self.managers = float(p["supervision.managers"])
        self.manager_hours = float(p["supervision.hours_per_manager"])
        self.sup_needed = float(p["supervision.hours_needed"])
        self.reflective_share = float(p["supervision.reflective_share"])
        self.reflective_gain = float(p["supervision.reflective_gain"])
        self.senior_factor = float(p["workforce.senior_leaving_factor"])
        self.mentoring_gain = float(p["workforce.mentoring_gain"])
        freeze_start = p["shocks.freeze_start_year"] * YEAR
        self.freeze = (freeze_start, freeze_start + p["shocks.freeze_months"] * MONTH)
        self.update_time_split(*self._split)

    # -- people -------------------------------------------------------------------------
    def start(self) -> None:
        """Fill posts at time 0 near their steady state and start each post's process."""
        rng = self.m.rng.initial_workforce
        ld = self.leave_rate * self.recruit_days / YEAR
        vacant_p = ld / (1.0 + ld)
        for post in range(self.n_posts):
            if rng.random() >= vacant_p:
                tenure = rng.exponential(YEAR / self.leave_rate) if self.leave_rate > 0 else YEAR
                self._fill(post, PERMANENT, -tenure, nq=rng.random() < self.nq_share, count=False)
            else:
                self.m.env.process(self._recruit(post))

    def _fill(self, post: int, kind: int, hired_at: float, *, nq: bool, count: bool = True) -> None:
        self.kind[post] = kind
        self.worker_id[post] = self.next_worker_id
        self.next_worker_id += 1
        self.hired_at[post] = hired_at
        self._hired[post] = float(self.hired_at[post])
        self.nq_hire[post] = nq
        self.load[post] = 0.0
        self._load[post] = 0.0
        self.count[post] = 0
        self._refresh_post(post)
        if count and kind == PERMANENT:
            self.joiners += 1
        self.serve_queue()

    def _vacate(self, post: int) -> None:
        """The person in ``post`` leaves: their cases move to others or wait unallocated."""
        if self.kind[post] == PERMANENT:
            self.leavers += 1
        self.kind[post] = EMPTY
        self.worker_id[post] = -1
        self.load[post] = np.inf
        self._load[post] = math.inf
        self._refresh_post(post)
        self.count[post] = 0
        moving = sorted(self.cases[post], key=lambda c: c.id)
        self.cases[post] = set()
        m = self.m
        for child in moving:
            child.post = -1
            child.worker = -1
            target = int(self.load.argmin())
            if self.load[target] + child.weight <= self.cap:
                self._assign(child, target)
                m.log(child, "reallocated")
            else:
                m.log(child, "unallocated")
                self._enqueue(child, None)

    def monthly_leavers(self) -> None:
        """Draw this month's leavers among permanent staff (hazard ``leaving_rate`` times
        ``leave_multiplier``, which the workforce spiral sets); each leaves at a uniform
        time within the month and the post's recruitment starts."""
        rate = self.leave_rate * self.leave_multiplier
        if rate <= 0:
            return
        p_leave = np.where(self.senior_post, 1.0 - math.exp(-rate * self.senior_factor / 12.0),
                           1.0 - math.exp(-rate / 12.0))
        # One draw per post whatever its state, so that runs differing in who is in post
        # keep the same numbers for every other post (common random numbers).
        gen = self.m.rng.leavers.gen
        u = gen.random(self.n_posts)
        when = gen.random(self.n_posts) * MONTH
        env = self.m.env
        for post in np.flatnonzero((u < p_leave) & (self.kind == PERMANENT)).tolist():
            who = self.worker_id[post]
            ev = env.timeout(float(when[post]))
            ev.callbacks.append(lambda _ev, post=post, who=who: self._leave(post, who))

    def _leave(self, post: int, who: int) -> None:
        if self.worker_id[post] != who:  # pragma: no cover - the person already left
            return
        self._vacate(post)
        self.m.env.process(self._recruit(post))

    def _fill_time(self, now: float, delay: float) -> float:
        """When a recruitment started at ``now`` taking ``delay`` days ends, allowing for a
        recruitment freeze (no appointments during it: the freeze's overlap is added)."""
        end = now + delay
        fs, fe = self.freeze
        if fe > fs and end > fs and now < fe:
            end += fe - max(now, fs)
        return end

    def _recruit(self, post: int):
        """Process of a vacant post: agency cover meanwhile, then a permanent appointment."""
        env = self.m.env
        rng = self.m.rng.workforce
        filled_at = self._fill_time(env.now, rng.exponential(self.recruit_days))
        if rng.random() < self.agency_share:
            self._fill(post, AGENCY, env.now, nq=False)
        while env.now < filled_at:
            if self.kind[post] == AGENCY and self.agency_rate > 0:
                stay = rng.exponential(YEAR / self.agency_rate)
                if env.now + stay < filled_at:
                    yield env.timeout(stay)
                    self._vacate(post)
                    if rng.random() < self.agency_share:
                        self._fill(post, AGENCY, env.now, nq=False)
                    continue
            yield env.timeout(filled_at - env.now)
        if self.kind[post] == AGENCY:
            self._vacate(post)
        nq = rng.random() < self.nq_share and not self.senior_post[post]
        self._fill(post, PERMANENT, env.now, nq=nq)

    # -- cases --------------------------------------------------------------------------
    def _assign(self, child: Child, post: int) -> None:
        self.load[post] = self._load[post] = self._load[post] + child.weight
        self.count[post] += 1
        self.cases[post].add(child)
        child.post = post
        child.worker = self.worker_id[post]
        child.worker_since = self.m.env._now

    def allocate(self, child: Child, weight: float) -> simpy.Event | None:
        """Allocate ``child`` (a case of workload ``weight``) to the least-loaded post.

        Returns ``None`` when allocated at once, else an event that succeeds on allocation.
        """
        child.weight = weight
        if not self.queue:
            post = int(self.load.argmin())
            if self._load[post] + weight <= self.cap:
                self._assign(child, post)
                return None
        ev = self.m.env.event()
        self._enqueue(child, ev)
        return ev

    def _enqueue(self, child: Child, ev: simpy.Event | None) -> None:
        self._ticket += 1
        child.ticket = self._ticket
        self.queue.append((child, ev, self._ticket))

    def reweight(self, child: Child, weight: float) -> None:
        """Change the workload weight of a held (or queued) case."""
        post = child.post
        if post >= 0:
            self.load[post] = self._load[post] = self._load[post] + (weight - child.weight)
        child.weight = weight

    def release(self, child: Child) -> None:
        """The case closes or leaves the workforce (e.g. to the court's care)."""
        post = child.post
        if post >= 0:
            self.load[post] = self._load[post] = self._load[post] - child.weight
            self.count[post] -= 1
            self.cases[post].discard(child)
            child.post = -1
            child.worker = -1
            if self.queue:
                self.serve_queue()
        else:
            child.ticket = 0  # withdrawn from the queue

    def serve_queue(self) -> None:
        """Allocate waiting cases while some post has room (first come, first served)."""
        q = self.queue
        load = self.load
        m = self.m
        while q:
            child, ev, ticket = q[0]
            if child.ticket != ticket:  # closed while waiting
                q.popleft()
                continue
            post = int(load.argmin())
            if load[post] + child.weight > self.cap:
                break
            q.popleft()
            child.ticket = 0
            self._assign(child, post)
            if ev is None:
                m.log(child, "allocated")
            else:
                ev.succeed(post)

    # -- time ---------------------------------------------------------------------------
    def update_time_split(self, prescription: float, sickness: float, compliance: float) -> None:
        """Recompute the shares of the week.

        Parameters
        ----------
        prescription : float
            Prescription index (1 = 2010): scales the recording share.
        sickness : float
            Share of hours lost to sickness.
        compliance : float
            Share of hours pulled into inspection preparation.
        """
        self._split = (prescription, sickness, compliance)
        staff = max(1, int(np.count_nonzero(self.kind)))
        sup_capacity = self.managers * self.manager_hours / staff
        self.sup_hours = min(self.sup_needed, sup_capacity)
        sup_share = self.sup_hours / (self.hours * WEEKS_PER_MONTH)
        self.recording_share = min(0.9, self.recording_base * prescription)
        self.supervision_share = sup_share
        self.sickness_share = sickness
        self.compliance_share = compliance
        self.direct_share = max(
            0.02, 1.0 - self.recording_share - self.travel - self.other - sup_share
            - sickness - compliance)
        if self.mentoring_gain > 0:
            now = self.m.env.now
            perm = self.kind == PERMANENT
            nq = int(np.count_nonzero(perm & self.nq_hire & ~self.senior_post
                                      & (now - self.hired_at < self.years_to_exp * YEAR)))
            seniors = int(np.count_nonzero(perm & self.senior_post))
            self.mentoring = self.mentoring_gain * min(1.0, seniors / nq) if nq else 0.0
        self.reflective_fraction = (
            self.sup_hours * self.reflective_share / max(self.sup_needed, 1e-9))
        self.supervision_multiplier = 1.0 + self.reflective_gain * self.reflective_fraction
        self._direct_hours = self.hours * self.direct_share
        self._refresh_expertise()

    def _refresh_expertise(self) -> None:
        """Recompute the per-post expertise used by :meth:`expertise` (after a change of
        parameters, mentoring or supervision)."""
        by = self.expertise_by
        sup = self.supervision_multiplier
        self._novice_days = self.years_to_exp * YEAR
        self._expertise_novice = (by["nq"] + self.mentoring) * sup
        self._expertise_exp = by["exp"] * sup
        self._expertise_agency = by["agency"] * sup
        self._expertise_senior = by["senior"] * sup
        for post in range(self.n_posts):
            self._refresh_post(post)

    def _refresh_post(self, post: int) -> None:
        """Recompute the expertise of ``post`` (after a change of its person): a number,
        or None for a newly qualified hire (see :meth:`expertise`)."""
        if self.kind[post] == AGENCY:
            self._expertise[post] = self._expertise_agency
        elif self.senior_post[post]:
            self._expertise[post] = self._expertise_senior
        elif self.nq_hire[post]:
            self._expertise[post] = None
        else:
            self._expertise[post] = self._expertise_exp

    def direct_hours_per_week(self, child: Child) -> float:
        """Direct hours a week the child's worker gives the case (0 when unallocated)."""
        post = child.post
        if post < 0:
            return 0.0
        load = self._load[post]
        weight = child.weight
        share = weight / load if load > weight else 1.0
        return self._direct_hours * share

    def expertise(self, child: Child) -> float:
        """Expertise multiplier of the child's worker, with supervision (1 = experienced).

        By the worker's kind: agency, senior practitioner, newly qualified (for
        ``years_to_experienced`` after hire, with any mentoring gain) or experienced;
        an unallocated case counts as experienced.
        """
        post = child.post
        if post < 0:
            return self._expertise_exp
        e = self._expertise[post]
        if e is not None:
            return e
        if self.m.env._now - self._hired[post] < self._novice_days:
            return self._expertise_novice
        return self._expertise_exp

    # -- measures -----------------------------------------------------------------------
    def mean_caseload(self) -> float:
        """Mean cases held per worker in post (permanent and agency)."""
        active = self.kind != EMPTY
        return float(self.count[active].mean()) if active.any() else 0.0

    def snapshot(self) -> dict[str, float]:
        """Workforce stocks at this instant (for the monthly stock record)."""
        active = self.kind != EMPTY
        counts = self.count[active]
        n_perm = int(np.count_nonzero(self.kind == PERMANENT))
        n_agency = int(np.count_nonzero(self.kind == AGENCY))
        if counts.size:
            p10, p50, p90 = np.percentile(counts, [10, 50, 90])
            mean = float(counts.mean())
        else:
            p10 = p50 = p90 = mean = float("nan")
        return {
            "posts": float(self.n_posts),
            "staff_in_post": float(n_perm),
            "agency_staff": float(n_agency),
            "vacancies": float(self.n_posts - n_perm),
            "caseload_mean": mean,
            "caseload_p10": float(p10),
            "caseload_p50": float(p50),
            "caseload_p90": float(p90),
            "unallocated": float(sum(1 for c, _, t in self.queue if c.ticket == t)),
            "direct_share": self.direct_share,
            "recording_share": self.recording_share,
            "travel_share": self.travel,
            "supervision_share": self.supervision_share,
            "other_share": self.other,
            "reflective_supervision_share": self.reflective_share,
            "sickness_share": self.sickness_share,
            "compliance_share": self.compliance_share,
            "experienced_share": self._experienced_share(),
            "agency_share": n_agency / self.n_posts,
            "expertise_mean": self._expertise_mean(),
        }

    def _expertise_mean(self) -> float:
        posts = np.flatnonzero(self.kind != EMPTY)
        if posts.size == 0:
            return float("nan")
        now = self.m.env.now
        by = self.expertise_by
        kind = self.kind[posts]
        novice = self.nq_hire[posts] & (now - self.hired_at[posts] < self.years_to_exp * YEAR)
        e = np.where(kind == AGENCY, by["agency"],
                     np.where(self.senior_post[posts], by["senior"],
                              np.where(novice, by["nq"] + self.mentoring, by["exp"])))
        return float(e.mean())

    def _experienced_share(self) -> float:
        perm = np.flatnonzero(self.kind != EMPTY)
        if perm.size == 0:
            return float("nan")
        now = self.m.env.now
        novice = (self.kind[perm] == AGENCY) | (
            self.nq_hire[perm] & (now - self.hired_at[perm] < self.years_to_exp * YEAR))
        return float(1.0 - novice.mean())
