"""The front door: community-team consultations and duty screening of contacts.

Screening is capacity-limited: ``round(staff_fte)`` screeners work as parallel
first-come-first-served servers with exponential screening times, so with Poisson
contacts the front door is an M/M/c queue (used to verify the model against Erlang C).
Each contact is one event; its departure time follows from the FIFO multi-server
recursion, and a screening that does not lead to a referral needs no further event.
A screener sees the need through noise: signal = true tier + Normal(0, sd). Below the
early-help threshold the contact is closed (no further action), between the thresholds
the family is signposted to early help, above the referral threshold the contact
becomes a referral. Both errors arise: real need screened out (it comes back later,
perhaps escalated) and unnecessary referrals.

Where a community multi-agency team exists (B1 on), universal services consult it first
with a chance that grows with its staffing (``community_team.fte /
full_coverage_fte``). Consultations queue for the team's workers as contacts do for
screeners. The team sees need more sharply (``community_team.signal_sd``) and judges it
against the front door's thresholds: below the early-help threshold it takes no further
action, below the referral threshold it offers early help; up to
``community_team.refer_threshold`` (judged tier 2) the team holds the case itself while it
has room (:meth:`sim.model.community.Community.team_decision`), and otherwise (judged at
risk, or the team full) it refers. A referral made at a consultation carries the team's
assessment with chance ``community_team.shared_assessment_share``; one made after team
help always does. The team's assessment is continued at referral (its effort saving
applies) whatever ``assessment.continue_shared`` says of other partners' forms
(:attr:`sim.model.child.Child.team_assessed`). Referrals from the team are accepted
without screening.

Contacts made directly carry a partner assessment (a Common Assessment Framework form)
with a smaller chance (``universal.partner_assessment_share``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import Timeout

from sim.clock import YEAR
from sim.model.child import Child
from sim.model.journal import STAGE_CODE
from sim.records import LEAVING_AGE

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.simulation import Model

_COMMUNITY = STAGE_CODE["community"]
_LEAVING_DAYS = LEAVING_AGE * YEAR


def classify(signal: float) -> int:
    """Tier judged from a signal of need (cut points midway between tiers)."""
    if signal < 0.5:
        return 0
    if signal < 1.5:
        return 1
    if signal < 2.5:
        return 2
    return 3


def exact_delay(now: float, t: float) -> float:
    """The delay ``d`` for which the clock reads exactly ``t`` after a wait from ``now``
    (``now + d == t`` in floating point; ``t - now`` itself unless ``t > 2 now``)."""
    d = t - now
    while now + d < t:
        d = math.nextafter(d, math.inf)
    while now + d > t:
        d = math.nextafter(d, -math.inf)
    return d


class _Servers:
    """First-come-first-served servers as a heap of the times each becomes free.

    For a FIFO queue with ``c`` identical servers, a customer arriving at ``a`` starts
    when the earliest server is free (or at ``a``) and departs after its service: the
    Kiefer-Wolfowitz recursion. Arrivals must be offered in time order, which the
    simpy event that brings each arrival guarantees.
    """

    __slots__ = ("free", "starts")

    def __init__(self, servers: int) -> None:
        self.free = [0.0] * servers
        self.starts: list[float] = []  # start times still in the future (waiting)

    def serve(self, arrival: float, service: float) -> float:
        """Offer a customer arriving at ``arrival`` needing ``service``; return departure."""
        start = heapq.heappop(self.free)
        if start < arrival:
            start = arrival
        elif start > arrival:
            heapq.heappush(self.starts, start)
        departure = start + service
        heapq.heappush(self.free, departure)
        return departure

    def resize(self, servers: int, now: float) -> None:
        """Change the number of servers at ``now``: new ones are free at once; removed ones
        are those that would be free last (their customers still finish)."""
        free = self.free
        if servers > len(free):
            for _ in range(servers - len(free)):
                heapq.heappush(free, now)
        elif servers < len(free):
            free.sort()
            del free[servers:]
            heapq.heapify(free)

    def waiting(self, now: float) -> int:
        """Customers waiting (arrived, not yet in service) at ``now``."""
        starts = self.starts
        while starts and starts[0] <= now:
            heapq.heappop(starts)
        return len(starts)


class FrontDoor:
    """Duty screening and community-team consultation of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        p = model.p
        self.queue = _Servers(max(1, round(p["front_door.staff_fte"])))
        self.consult_queue = _Servers(max(1, round(p["community_team.fte"])))
        self.threshold_shift = 0.0  # set by the system layer (defensive practice, gatekeeping)
        self.triage = 1.0  # screening time multiplier (gatekeeping shortens it under a backlog)
        self.rng = model.rng.front_door
        # Contacts to come, in time order (ties in the order announced): a heap of
        # (time, seq, child) or, for a new concern's child not yet created,
        # (time, seq, id, tier, complexity, birth). One simpy event is due at the first of them
        # (more if a contact is announced before it): the front door wakes for each
        # contact at its time, without an event object per contact waiting meanwhile.
        self._agenda: list[tuple] = []
        self._seq = 0
        self._wakes: list[float] = []  # times of the wake-up events scheduled
        self._on_wake = self._wake  # one bound method for every wake-up event
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
        p = self.m.p
        now = self.m.env.now
        hours_day = p["workforce.hours_per_week"] / 7.0
        self.servers = max(1, round(p["front_door.staff_fte"]))
        self.queue.resize(self.servers, now)
        #: Mean screening time in calendar days of one screener.
        self.service_days = p["front_door.screening_hours"] / (
            hours_day * p["front_door.productive_share"])
        self.sd = p["front_door.signal_sd"]
        self.eh_threshold = p["front_door.early_help_threshold"]
        self.ref_threshold = p["front_door.referral_threshold"]
        ct_fte = p["community_team.fte"]
        self.consult_share = (min(1.0, ct_fte / p["community_team.full_coverage_fte"])
                              if p["loops.early_help"] else 0.0)
        self.consult_queue.resize(max(1, round(ct_fte)), now)
        self.consult_days = p["community_team.consult_hours"] / hours_day
        self.consult_sd = p["community_team.signal_sd"]
        self.shared_share = p["community_team.shared_assessment_share"]
        self.team_refer_threshold = p["community_team.refer_threshold"]
        self.partner_share = p["universal.partner_assessment_share"]

    def arrive(self, child: Child, t: float) -> None:
        """Universal services will contact (or consult) about ``child`` at time ``t``."""
        # exactly ``t``: the caller may have logged an event at ``t`` that must not come
        # after the contact (an early-help spell ending in a step-up, say)
        self._seq += 1
        heapq.heappush(self._agenda, (t, self._seq, child))
        wakes = self._wakes
        if not wakes or t < wakes[0]:
            self._wake_at(t)

    def arrive_new(self, times: np.ndarray, cids: np.ndarray, tier: int,
                   complexity: np.ndarray, births: np.ndarray) -> None:
        """As :meth:`arrive` at ``times`` (days), for the children of new concerns at
        ``tier`` (episode 1, in the community, nothing else known) with ids ``cids``, born
        at ``births``: each is created when its contact happens."""
        k = len(times)
        if k == 0:
            return
        now = self.m.env._now
        times = now + (times - now)
        agenda = self._agenda
        seq = self._seq
        self._seq = seq + k
        for item in zip(times.tolist(), range(seq + 1, seq + k + 1), cids.tolist(),
                        itertools.repeat(tier, k), complexity.tolist(), births.tolist(),
                        strict=True):
            heapq.heappush(agenda, item)
        t = agenda[0][0]
        wakes = self._wakes
        if not wakes or t < wakes[0]:
            self._wake_at(t)

    def _wake_at(self, t: float) -> None:
        """Schedule a wake-up event at exactly time ``t`` (days)."""
        env = self.m.env
        now = env._now
        heapq.heappush(self._wakes, t)
        d = t - now
        if now + d != t:
            d = exact_delay(now, t)
        Timeout(env, d).callbacks.append(self._on_wake)

    def _wake(self, _event: Timeout) -> None:
        """A wake-up event: the contacts due now happen, then the next wake-up is set."""
        agenda = self._agenda
        wakes = self._wakes
        heapq.heappop(wakes)
        now = self.m.env._now
        while agenda and agenda[0][0] <= now:
            item = heapq.heappop(agenda)
            if len(item) == 3:
                self._arrival(item[2])
            else:
                child = Child(item[2], item[3], item[4], item[5])
                child.stage = _COMMUNITY
                self._arrival(child)
        if agenda and (not wakes or agenda[0][0] < wakes[0]):
            self._wake_at(agenda[0][0])

    def waiting(self) -> int:
        """Contacts waiting for screening now."""
        return self.queue.waiting(self.m.env.now)

    def backlog_weeks(self) -> float:
        """Weeks the screeners would need to clear the contacts waiting now, at the
        screening time of 2010 (no triage)."""
        return self.waiting() * self.service_days / self.servers / 7.0

    def _arrival(self, child: Child) -> None:
        """The contact (or consultation) about ``child`` happens now."""
        m = self.m
        rng = self.rng
        now = m.env._now
        if self.consult_share > 0 and rng.random() < self.consult_share:
            self._consult(child, now)
            return
        m.log(child, "contact", "front_door")
        child.shared = rng.random() < self.partner_share
        child.team_assessed = False
        done = self.queue.serve(now, rng.exponential(self.service_days) * self.triage)
        if done >= child.birth + _LEAVING_DAYS:  # 18 before the contact is decided
            m.leave_at_18(child, child.birth + _LEAVING_DAYS)
            return
        if child.tier == 3:
            self._harm_while_waiting(child, now, done)
        signal = child.tier + rng.normal(self.sd)
        shift = self.threshold_shift
        if signal < self.eh_threshold - shift:
            child.known = classify(signal)
            m.community.leave_services(child, "screened_out", done)
        elif signal < self.ref_threshold - shift:
            child.known = classify(signal)
            m.log(child, "signposted", t=done)
            m.community.early_help(child, done)
        else:
            self._refer(child, done, signal)

    def _refer(self, child: Child, done: float, signal: float) -> None:
        """The contact becomes a referral at ``done``, the child judged from ``signal``.

        The judged tier is set now: nothing records or reads it before ``done``.
        """
        child.known = classify(signal)
        m = self.m
        m.start_journey(child, done, m.assessment.referral)

    def _harm_while_waiting(self, child: Child, start: float, end: float) -> None:
        """Serious incidents to a tier-3 child between contact and decision (a Poisson
        process at the harm rate, drawn at once: the child's path does not change)."""
        m = self.m
        if child.tier != 3 or m.harm_rate <= 0:
            return
        t = start + m.rng.incidents.exponential(1.0 / m.harm_rate)
        while t < end:
            m.incident(child, t)
            t += m.rng.incidents.exponential(1.0 / m.harm_rate)

    def _consult(self, child: Child, now: float) -> None:
        """Universal services consult the community team about ``child`` now."""
        m = self.m
        rng = self.rng
        m.log(child, "consulted", "consultation")
        done = self.consult_queue.serve(now, rng.exponential(self.consult_days))
        if done >= child.birth + _LEAVING_DAYS:
            m.leave_at_18(child, child.birth + _LEAVING_DAYS)
            return
        self._harm_while_waiting(child, now, done)
        signal = child.tier + rng.normal(self.consult_sd)
        if signal < self.eh_threshold:
            child.known = classify(signal)
            m.community.leave_services(child, "screened_out", done)
        elif signal < self.ref_threshold:
            child.known = classify(signal)
            m.log(child, "signposted", t=done)
            m.community.early_help(child, done)
        elif signal < self.team_refer_threshold and m.community.team_capacity > 0:
            child.known = classify(signal)
            m.community.team_decision(child, done, signal)
        else:
            self.team_referral(child, done, signal)

    def team_referral(self, child: Child, t: float, signal: float | None = None) -> None:
        """The community team refers ``child`` at ``t`` (days, now or later), judged from
        ``signal``: at a consultation (it carries the team's assessment with chance
        ``shared_assessment_share``), or after team help (``signal`` None: the team's view
        after its work, and always its assessment)."""
        rng = self.rng
        if signal is None:
            signal = child.tier + rng.normal(self.consult_sd)
            child.shared = True
        else:
            child.shared = rng.random() < self.shared_share
        child.team_assessed = child.shared
        self._refer(child, t, signal)
