"""Social workers: posts, people, caseloads, time split, leavers and recruitment.

A worker holds many cases and shares weekly hours among them (a caseload is not a
resource of capacity 1). Each post is one FTE. A post holds a permanent worker, an
agency worker covering a vacancy, or nobody. Cases are allocated to the post with the
lowest weighted load, provided it is below the cap; otherwise they wait in the
unallocated queue, a real, reported stock.

Time split of a worker's week (shares of contracted hours): travel, other (development,
meetings), supervision (hours received), sickness and inspection preparation (set by the
system layer), and casework, the remainder. Casework is direct work with children and
families and the recording each task of it needs: recording is a cost per task,
``recording_per_direct_hour`` hours for each direct hour (scaled by the prescription level
of the system layer), so direct hours = casework / (1 + recording per direct hour) and the
procedural burden grows with what is done and what is prescribed.

Direct hours are shared among a worker's cases in two parts. First each case's statutory
minimum (``time.statutory_hours_<kind>``: the visits, reviews and meetings its kind of
case requires, in direct hours a month) is met; if the worker's direct hours cannot meet
the sum of the minimums, each case gets the same fraction of its minimum. What is left is
discretionary and shared in proportion to the cases' workload weights.

Processor sharing: work that takes a set number of direct hours (an assessment, a section
47 enquiry) is a :class:`Task` whose pace follows its worker's load as it changes: when a
case joins or leaves the worker's caseload, changes kind, or the week's split changes,
the remaining work of every task of that worker is re-timed at the new rate. A case that
loses its worker pauses.

Allocation: a case goes to the post with the lowest weighted load, provided it is below
the cap; otherwise it waits in the unallocated queue. Urgent work (section 47 enquiries,
care proceedings) waits in its own queue and is allocated before routine work.

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
from simpy.events import Timeout

from sim.clock import MONTH, YEAR

if TYPE_CHECKING:  # pragma: no cover
    import simpy

    from sim.model.child import Child
    from sim.model.simulation import Model

EMPTY, PERMANENT, AGENCY = 0, 1, 2
#: Weeks in a month, for converting weekly hours to monthly hours.
WEEKS_PER_MONTH: float = MONTH / 7.0
#: Kinds of case a worker holds, each with a workload weight (``weights.<kind>``) and a
#: statutory minimum of direct time (``time.statutory_hours_<kind>``).
CASE_KINDS: tuple[str, ...] = (
    "assessment", "s47", "cin_plan", "cp_plan", "proceedings", "looked_after")


class Task:
    """Work of a set number of direct hours on one case, paced by its worker's load.

    Attributes
    ----------
    child : Child
        The case.
    remaining : float
        Direct hours still to do (as of :attr:`since`).
    rate : float
        Direct hours a week the case gets now.
    since : float
        Time (days) ``remaining`` and ``rate`` were last brought up to date.
    done : simpy.Event
        Succeeds when the work is finished.
    version : int
        Invalidates a wake-up scheduled before the work sped up, paused or stopped.
    finish, wake : float
        When the work will be done at the current rate, and when the wake-up scheduled
        for it comes (days; inf: none).
    """

    __slots__ = ("child", "remaining", "rate", "since", "done", "version", "hours", "finish",
                 "wake")

    def __init__(self, child: Child, hours: float, done: simpy.Event, now: float) -> None:
        self.child = child
        self.hours = hours
        self.remaining = hours
        self.rate = 0.0
        self.since = now
        self.done = done
        self.version = 0
        self.finish = math.inf  # when the work will be done at the current rate (days)
        self.wake = math.inf  # when the wake-up scheduled for it comes (days)

    def fraction_done(self) -> float:
        """Share of the work done (as of :attr:`since`)."""
        return 1.0 - self.remaining / self.hours if self.hours > 0 else 1.0


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
        self._min = [0.0] * n  # per post: sum of the statutory minimums (hours a week)
        self.tasks: list[set[Task]] = [set() for _ in range(n)]
        self.queue: deque[tuple[Child, simpy.Event | None, int]] = deque()
        self.urgent: deque[tuple[Child, simpy.Event | None, int]] = deque()
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
        self.recording_base = float(p["time.recording_per_direct_hour"])
        #: per kind of case: (workload weight, statutory minimum in direct hours a week)
        self.kinds = {k: (float(p[f"weights.{k}"]),
                          float(p[f"time.statutory_hours_{k}"]) / WEEKS_PER_MONTH)
                      for k in CASE_KINDS}
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
        self._min[post] = 0.0
        self._refresh_post(post)
        self.count[post] = 0
        moving = sorted(self.cases[post], key=lambda c: c.id)
        self.cases[post] = set()
        self.tasks[post] = set()
        m = self.m
        for child in moving:
            child.post = -1
            child.worker = -1
            task = child.task
            if task is not None:  # its work pauses until the case has a worker again
                self._retime(task)
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
        self._min[post] += child.minimum
        self.count[post] += 1
        self.cases[post].add(child)
        child.post = post
        child.worker = self.worker_id[post]
        child.worker_since = self.m.env._now
        task = child.task
        if task is not None:
            self.tasks[post].add(task)
        self._retime_post(post)

    def allocate(self, child: Child, kind: str, *, urgent: bool = False) -> simpy.Event | None:
        """Allocate ``child``, a case of ``kind`` (one of :data:`CASE_KINDS`), to the
        least-loaded post; ``urgent`` work is allocated before routine work.

        Returns ``None`` when allocated at once, else an event that succeeds on allocation.
        """
        child.weight, child.minimum = self.kinds[kind]
        if not self.urgent and (urgent or not self.queue):
            post = int(self.load.argmin())
            if self._load[post] + child.weight <= self.cap:
                self._assign(child, post)
                return None
        ev = self.m.env.event()
        self._enqueue(child, ev, urgent=urgent)
        return ev

    def _enqueue(self, child: Child, ev: simpy.Event | None, *, urgent: bool = False) -> None:
        self._ticket += 1
        child.ticket = self._ticket
        (self.urgent if urgent else self.queue).append((child, ev, self._ticket))

    def reweight(self, child: Child, kind: str) -> None:
        """A held (or queued) case becomes a case of ``kind`` (its weight and minimum)."""
        weight, minimum = self.kinds[kind]
        post = child.post
        if post >= 0:
            self.load[post] = self._load[post] = self._load[post] + (weight - child.weight)
            self._min[post] += minimum - child.minimum
        child.weight = weight
        child.minimum = minimum
        if post >= 0:
            self._retime_post(post)

    def release(self, child: Child) -> None:
        """The case closes or leaves the workforce (e.g. to the court's care); any task
        on it is dropped."""
        if child.task is not None:
            self.end_task(child.task)
        post = child.post
        if post >= 0:
            self.load[post] = self._load[post] = self._load[post] - child.weight
            self._min[post] -= child.minimum
            self.count[post] -= 1
            self.cases[post].discard(child)
            child.post = -1
            child.worker = -1
            self._retime_post(post)
            if self.queue or self.urgent:
                self.serve_queue()
        else:
            child.ticket = 0  # withdrawn from the queue

    def serve_queue(self) -> None:
        """Allocate waiting cases while some post has room: urgent work first, then
        routine work, each first come, first served."""
        load = self.load
        m = self.m
        for q in (self.urgent, self.queue):
            while q:
                child, ev, ticket = q[0]
                if child.ticket != ticket:  # closed while waiting
                    q.popleft()
                    continue
                post = int(load.argmin())
                if load[post] + child.weight > self.cap:
                    return
                q.popleft()
                child.ticket = 0
                self._assign(child, post)
                if ev is None:
                    m.log(child, "allocated")
                else:
                    ev.succeed(post)

    # -- processor sharing ----------------------------------------------------------------
    def begin_task(self, child: Child, hours: float) -> Task:
        """Start ``hours`` direct hours of work on ``child`` (a held case); its ``done``
        event succeeds when they are done at the pace the worker's load allows."""
        env = self.m.env
        task = Task(child, hours, env.event(), env._now)
        child.task = task
        if child.post >= 0:
            self.tasks[child.post].add(task)
        self._retime(task)
        return task

    def end_task(self, task: Task) -> float:
        """Stop ``task`` now (finished or not); returns the share of its work done."""
        self._progress(task)
        task.version += 1
        child = task.child
        child.task = None
        if child.post >= 0:
            self.tasks[child.post].discard(task)
        return task.fraction_done()

    def _progress(self, task: Task) -> None:
        now = self.m.env._now
        if now > task.since:
            task.remaining = max(0.0, task.remaining - task.rate * (now - task.since) / 7.0)
            task.since = now

    def _retime(self, task: Task) -> None:
        """Bring ``task`` up to date and set its completion at its worker's rate now.

        A completion that moves later keeps the wake-up already scheduled (it looks again
        when that comes); one that moves earlier, or a task with no wake-up, gets a new
        one. So a change of load costs a new event only when work speeds up.
        """
        self._progress(task)
        rate = self.direct_hours_per_week(task.child)
        if rate == task.rate and task.version > 0:
            return  # the completion already set still holds
        task.rate = rate
        if rate <= 0:
            task.finish = math.inf
            task.version += 1  # paused: any wake-up scheduled is void
            task.wake = math.inf
            return
        now = self.m.env._now
        task.finish = now + (task.remaining / rate * 7.0 if task.remaining > 0 else 0.0)
        if task.wake <= task.finish and task.version > 0:
            return  # the wake-up scheduled comes first; it will look again
        self._wake(task, now)

    def _wake(self, task: Task, now: float) -> None:
        """Schedule a wake-up of ``task`` at its completion time."""
        task.version += 1
        task.wake = task.finish
        ev = Timeout(self.m.env, task.finish - now, task.version)
        ev.callbacks.append(lambda e, task=task: self._finish(task, e._value))

    def _finish(self, task: Task, version: int) -> None:
        if version != task.version or task.done.triggered:
            return  # re-timed since, or stopped
        now = self.m.env._now
        if task.finish - now > 1e-9:  # the work slowed after this wake-up was set
            self._wake(task, now)
            return
        self.end_task(task)
        task.remaining = 0.0
        task.done.succeed()

    def _retime_post(self, post: int) -> None:
        """Re-time every task of ``post`` (its load has changed)."""
        for task in self.tasks[post]:
            self._retime(task)

    def _retime_all(self) -> None:
        for post in range(self.n_posts):
            if self.tasks[post]:
                self._retime_post(post)

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
        casework = max(0.02, 1.0 - self.travel - self.other - sup_share - sickness - compliance)
        self.direct_share = casework / (1.0 + self.recording_base * prescription)
        self.recording_share = casework - self.direct_share
        self.supervision_share = sup_share
        self.sickness_share = sickness
        self.compliance_share = compliance
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
        self._retime_all()

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
        """Direct hours a week the child's worker gives the case (0 when unallocated):
        its statutory minimum (scaled down when the worker cannot meet every case's),
        then a share of the discretionary rest in proportion to its workload weight."""
        post = child.post
        if post < 0:
            return 0.0
        direct = self._direct_hours
        minimum = self._min[post]
        if minimum >= direct:
            return direct * child.minimum / minimum
        load = self._load[post]
        weight = child.weight
        share = weight / load if load > weight else 1.0
        return child.minimum + (direct - minimum) * share

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
    def load_ratio(self) -> float:
        """Weighted cases held and waiting over the capacity of the staff in post
        (caseload cap x posts held): 1 when every worker is at the cap."""
        active = self.kind != EMPTY
        staff = int(np.count_nonzero(active))
        held = float(self.load[active].sum())
        waiting = sum(c.weight for q in (self.urgent, self.queue) for c, _, t in q
                      if c.ticket == t)
        return (held + waiting) / (self.cap * max(1, staff))

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
            "unallocated": float(sum(1 for q in (self.urgent, self.queue)
                                     for c, _, t in q if c.ticket == t)),
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
