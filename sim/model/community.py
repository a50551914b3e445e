"""Concerns in the child population, universal services, early help and community-team help.

A concern arises (Poisson, by true tier, scaled by child population) and the child is in
the community: the need exists but services do not hold it. Three competing risks act,
as exponential hazards per year: universal services notice it and make a contact
(faster for higher tiers, and for tiers 1-2 with more health visitors), the need resolves
unaided, or an unmet tier-1 or tier-2 need escalates. A tier-3 child in the community
also carries the serious-harm hazard; an incident brings the child to the front door.

These spells involve no capacity-limited resource, so they are computed in closed form
at their start and their events logged at their exact (future) times; the simpy process
of the child starts when the contact happens. Hazards are read at the start of a spell.

Every concern arises at an age drawn from age-specific rates: the tier's rate per child is
multiplied by a relative weight for the child's age band (under 1, 1-4, 5-9, 10-15,
16-17; normalised so that the weights average 1 over the child population, which is
spread evenly over ages 0-17), with an extra weight on infants at tier 3 (concerns before
and soon after birth). A child reaching 18 during a spell leaves children's services
then (``aged_out``): spells are cut at the 18th birthday.

Early help
----------
An early-help spell, once started, is closed-form: it lasts an exponential time (mean
``early_help.duration_days``), then meets the need with a chance that falls with tier
(``early_help.success_tier1``, ``success_tier2``, half of that at tier 3); an unmet need at
tier 2 or above is referred on (a new contact) with chance ``early_help.step_up_share``,
otherwise it returns to the community. A tier-3 child carries the serious-harm hazard;
an incident ends the spell and brings a contact.

With B1 on (``loops.early_help``), early help has limited places: ``early_help.places``
per 10,000 children plus ``community_team.places_per_fte`` per community-team FTE (the
*base*). A family offered early help when every place is taken, or when others are
already waiting, joins a first-come-first-served waiting list (``early_help_waiting``;
it stays in the ``community`` stage: its need is not yet held by a service, and while it
waits its need neither escalates nor resolves). It leaves the list when a place frees
(the head of the list starts at once), when it gives up after an exponential patience
(mean ``early_help.patience_days``: ``early_help_gave_up``, back to the community), at
a serious incident (tier 3: a contact follows) or at 18. A family that gives up never
takes a place, so the list is a FIFO multi-server queue with reneging. Offers are
handled at their exact times (one event each), place releases and departures from the
list by events at their exact times.

The supply responds (:meth:`Community.month_end`, monthly): places follow the target
``base x (1 + early_help.supply_gain x waiting / places)`` by first-order adjustment with
time constant ``early_help.supply_months`` (``places += (target - places) x (1 -
exp(-1 / supply_months))``), so they rise, with a delay, while families wait, and fall
back to the base once no one does. With B1 off, places are unlimited, no one waits and
the supply does not move (every spell starts when offered, in closed form).

Community-team help
-------------------
A community multi-agency team's social workers hold cases from their own posts
(:meth:`Community.team_decision`): when a consultation judges a need the team can meet
(between the front door's referral threshold and ``community_team.refer_threshold``:
judged tier 2) and the team holds fewer than ``community_team.fte x cases_per_fte``
cases, it holds the case (stage ``team_help``, not a child in need: no referral is made).
Otherwise the front door refers it. Team help is closed-form like early help: it lasts
an exponential time (mean ``community_team.help_days``), meets the need with chance
``community_team.success_tier1`` / ``success_tier2`` (half of that at tier 3), better
than early help since a social worker leads it; met need leaves with the recurrence
hazard of help that worked; an unmet need at tier 2 or above is stepped up to a
referral that carries the team's assessment (continued at referral); unmet tier 1
returns to the community. A serious incident during team help (tier 3) ends it with
a referral. The team's capacity is a loss system: when it is full, the case is referred.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
from simpy.events import Timeout

from sim.clock import MONTH, YEAR
from sim.model.child import Child
from sim.model.front_door import exact_delay
from sim.model.journal import EVENT_CODE, ROW_DTYPE, STAGE_CODE
from sim.records import LEAVING_AGE

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.simulation import Model

_COMMUNITY = STAGE_CODE["community"]
_LEFT = STAGE_CODE["left"]
_CONCERN = EVENT_CODE["concern"]
_RESOLVED = EVENT_CODE["resolved"]
_LEAVING_DAYS = LEAVING_AGE * YEAR
# why a family leaves the early-help waiting list without a place
_GAVE_UP, _HARMED, _AGED_OUT = range(3)
#: Age bands of the age-specific concern rates: (parameter suffix, from age, to age).
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("under1", 0.0, 1.0), ("1_4", 1.0, 5.0), ("5_9", 5.0, 10.0), ("10_15", 10.0, 16.0),
    ("16_17", 16.0, 18.0),
)


def age_band_probabilities(p, tier: int) -> np.ndarray:
    """Share of new concerns at ``tier`` arising in each of :data:`AGE_BANDS`: the band's
    relative rate times its width in years (the population is even over ages 0-17)."""
    w = np.array([p[f"population.concern_age_weight_{name}"] * (hi - lo)
                  for name, lo, hi in AGE_BANDS])
    if tier == 3:
        w[0] *= p["population.infant_factor_tier3"]
    total = w.sum()
    return w / total if total > 0 else np.full(len(w), 1.0 / len(w))


def draw_ages(gen: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` ages (years) from the band shares ``probs``, uniform within each band."""
    band = np.minimum(np.searchsorted(np.cumsum(probs), gen.random(n), side="right"),
                      len(AGE_BANDS) - 1)
    lo = np.array([b[1] for b in AGE_BANDS])[band]
    hi = np.array([b[2] for b in AGE_BANDS])[band]
    return lo + (hi - lo) * gen.random(n)


class Community:
    """Concerns, universal services, early help and community-team help of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self._notice_multiplier = 1.0  # see the notice_multiplier property
        self.rng = model.rng.community
        self.eh_rng = model.rng.early_help
        self.team_rng = model.rng.community_team
        # early help: times (days) at which the places held now free (a heap)
        self._eh_ends: list[float] = []
        # the waiting list, in arrival order (entries that left are skipped), and the
        # times the waiting families would leave it unserved (a heap of (time, seq, entry))
        self._eh_queue: deque[_Waiting] = deque()
        self._eh_leaving: list[tuple[float, int, _Waiting]] = []
        self._eh_waiting = 0  # families waiting now
        self._eh_seq = 0
        self._eh_wakes: list[float] = []  # times of the waiting-list events scheduled
        self._on_eh_wake = self._eh_wake
        self._on_eh_offer = self._eh_offer_event
        self._on_team = self._team_event
        # community-team help: times (days) at which the cases held now end (a heap)
        self._team_ends: list[float] = []
        self.eh_base = math.nan  # early-help places without the supply's response
        self.eh_places = math.nan  # early-help places now (set by configure)
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run).

        Early-help places keep the supply's response so far: a change of the base moves
        them by as much. Families waiting get any places that are now free.
        """
        p = self.m.p
        self.pop10k = p["population.child_population"] / 10_000.0
        self.concern_rate = [p[f"population.concern_rate_tier{k}"] for k in range(4)]
        self.sigma = p["population.complexity_sigma"]
        self.esc = p["population.escalation_rate"] / YEAR
        self.resolve = [p[f"population.resolution_rate_tier{k}"] / YEAR for k in range(4)]
        self.recur_share = p["population.recurrence_share_met"]
        self.recur_delay = p["population.recurrence_delay_days"]
        self.recur_tier = int(p["population.recurrence_tier_met"])
        b1 = bool(p["loops.early_help"])
        self.b1 = b1
        hv = p["universal.health_visitor_fte"] / p["universal.health_visitor_reference_fte"]
        self.hv_factor = hv ** p["universal.health_visitor_elasticity"] if b1 else 1.0
        self.base_notice = [p[f"universal.notice_rate_tier{k}"] / YEAR for k in range(4)]
        base = (p["early_help.places"] * self.pop10k
                + p["community_team.fte"] * p["community_team.places_per_fte"]) if b1 else math.inf
        if b1 and math.isfinite(self.eh_places):
            self.eh_places = max(0.0, base + (self.eh_places - self.eh_base))
        else:
            self.eh_places = base
        self.eh_base = base
        self.patience = p["early_help.patience_days"]
        self.supply_gain = p["early_help.supply_gain"]
        self.supply_step = 1.0 - math.exp(-1.0 / p["early_help.supply_months"])
        surge_start = p["shocks.surge_start_year"] * YEAR
        self.surge = (surge_start, surge_start + p["shocks.surge_months"] * MONTH,
                      p["shocks.surge_factor"])
        self.eh_days = p["early_help.duration_days"]
        self.eh_success = (1.0, p["early_help.success_tier1"], p["early_help.success_tier2"],
                           0.5 * p["early_help.success_tier2"])
        self.step_up = p["early_help.step_up_share"]
        #: Cases the community team can hold at once (0: it holds none).
        self.team_capacity = (p["community_team.fte"] * p["community_team.cases_per_fte"]
                              if b1 else 0.0)
        self.team_days = p["community_team.help_days"]
        self.team_success = (1.0, p["community_team.success_tier1"],
                             p["community_team.success_tier2"],
                             0.5 * p["community_team.success_tier2"])
        self.age_probs = [age_band_probabilities(p, tier) for tier in range(4)]
        self._set_hazards()
        if self._eh_waiting:
            self._eh_serve_next()

    @property
    def notice_multiplier(self) -> float:
        """Multiplier of universal services' notice rate for tiers 0-1 (1 = 2010), set
        by the system layer (defensive practice)."""
        return self._notice_multiplier

    @notice_multiplier.setter
    def notice_multiplier(self, value: float) -> None:
        self._notice_multiplier = value
        self._set_hazards()

    def _set_hazards(self) -> None:
        """Per tier, the hazards (per day) of a spell in the community: noticed,
        resolved, escalated, and their total with the serious-harm hazard."""
        harm = self.m.harm_rate
        self._hazards = []
        for tier in range(4):
            notice = self.notice_rate(tier)
            resolve = self.resolve[tier]
            esc = self.esc if tier in (1, 2) else 0.0
            h = harm if tier == 3 else 0.0
            self._hazards.append((notice, resolve, esc, notice + resolve + esc + h))

    def notice_rate(self, tier: int) -> float:
        """Hazard (per day) that universal services contact about a child at ``tier``."""
        r = self.base_notice[tier]
        if tier <= 1:
            r *= self.notice_multiplier
        if tier in (1, 2):
            r *= self.hv_factor
        return r

    def eh_occupancy(self) -> int:
        """Children in early help now (spells started and not yet ended)."""
        ends = self._eh_ends
        now = self.m.env._now
        while ends and ends[0] <= now:
            heapq.heappop(ends)
        return len(ends)

    def eh_waiting(self) -> int:
        """Families on the early-help waiting list now."""
        return self._eh_waiting

    def team_occupancy(self) -> int:
        """Cases the community team holds now (team help started and not yet ended)."""
        ends = self._team_ends
        now = self.m.env._now
        while ends and ends[0] <= now:
            heapq.heappop(ends)
        return len(ends)

    def _at(self, t: float, callback: Any, value: Any) -> None:
        """Call ``callback`` with an event carrying ``value`` at exactly time ``t`` (days)."""
        env = self.m.env
        now = env._now
        d = t - now
        if now + d != t:
            d = exact_delay(now, t)
        Timeout(env, d, value).callbacks.append(callback)

    def _surge_factor(self, t0: float, t1: float) -> float:
        """Mean concern-rate multiplier over ``[t0, t1)`` from a surge shock."""
        s0, s1, factor = self.surge
        overlap = max(0.0, min(t1, s1) - max(t0, s0))
        return 1.0 + (factor - 1.0) * overlap / (t1 - t0) if overlap > 0 else 1.0

    # -- concerns -----------------------------------------------------------------------
    def generate(self, t0: float, t1: float) -> None:
        """Create the concerns arising in ``[t0, t1)`` (days) and run their spells.

        Vectorised: the first competing risk of every new concern is drawn at once;
        concerns that resolve unaided never become objects, only journey rows. The rest
        (noticed, escalated, harmed) continue one by one.
        """
        m = self.m
        gen = m.rng.concerns.gen
        span = t1 - t0
        harm = m.harm_rate
        surge = self._surge_factor(t0, t1)
        for tier in range(4):
            n = int(gen.poisson(self.concern_rate[tier] * surge * self.pop10k * span / YEAR))
            if n == 0:
                continue
            times = np.sort(t0 + span * gen.random(n))
            sig = self.sigma
            cx = np.exp(sig * gen.standard_normal(n) - 0.5 * sig * sig)
            births = times - draw_ages(gen, self.age_probs[tier], n) * YEAR
            ids = np.arange(m.next_child_id, m.next_child_id + n, dtype=np.int64)
            m.next_child_id += n
            notice = self.notice_rate(tier)
            resolve = self.resolve[tier]
            esc = self.esc if tier in (1, 2) else 0.0
            h = harm if tier == 3 else 0.0
            total = notice + resolve + esc + h
            m.add_stage_changes(times, -1, _COMMUNITY)
            if total <= 0:
                m.journal.add_block(_concern_rows(tier, times, ids, births))
                for cid, c, b in zip(ids.tolist(), cx.tolist(), births.tolist(), strict=True):
                    child = Child(cid, tier, c, b)  # the need persists, unseen, until 18
                    child.stage = _COMMUNITY
                    m.leave_at_18(child, b + _LEAVING_DAYS)
                continue
            ends = times + gen.standard_exponential(n) / total
            u = gen.random(n) * total
            aged = ends >= births + _LEAVING_DAYS  # 18 before anything else happens
            resolved = (u >= notice) & (u < notice + resolve) & ~aged
            m.add_stage_changes(ends[resolved], _COMMUNITY, _LEFT)
            m.journal.add_block(_concern_rows(tier, times, ids, births, ends[resolved],
                                              ids[resolved], births[resolved]))
            noticed = (u < notice) & ~aged  # the child is created when the contact happens
            m.front_door.arrive_new(ends[noticed], ids[noticed], tier, cx[noticed],
                                    births[noticed])
            rest = ~(resolved | noticed)
            for cid, c, t, ui, b, old in zip(
                    ids[rest].tolist(), cx[rest].tolist(), ends[rest].tolist(),
                    u[rest].tolist(), births[rest].tolist(), aged[rest].tolist(), strict=True):
                child = Child(cid, tier, c, b)
                child.stage = _COMMUNITY
                if old:
                    m.leave_at_18(child, b + _LEAVING_DAYS)
                elif ui < notice + resolve + esc:
                    child.tier = tier + 1
                    m.log(child, "escalated", t=t)
                    self.spell(child, t)
                else:
                    m.incident(child, t)
                    m.front_door.arrive(child, t)

    def new_episode(self, child: Child, t: float, tier: int) -> None:
        """A new concern for a known child (recurrence) at time ``t`` (before 18)."""
        if child.aged_out or t >= child.birth + _LEAVING_DAYS:
            return
        child.episode += 1
        child.tier = max(child.tier, tier)
        child.known = -1
        child.shared = False
        child.team_assessed = False
        self.m.log(child, "concern", "community", t=t)
        self.spell(child, t)

    def spell(self, child: Child, t: float) -> None:
        """The child is in the community from ``t`` with an unmet need (or a worry).

        Runs competing risks until a contact (then the front door process starts) or
        resolution (the child leaves).
        """
        m = self.m
        rng = self.rng
        hazards = self._hazards
        birthday = child.birth + _LEAVING_DAYS
        while True:
            tier = child.tier
            notice, resolve, esc, total = hazards[tier]
            if total <= 0:  # nothing can happen: the need persists, unseen, until 18
                m.leave_at_18(child, birthday)
                return
            t += rng.exponential(1.0 / total)
            if t >= birthday:
                m.leave_at_18(child, birthday)
                return
            u = rng.random() * total
            if u < notice:
                m.front_door.arrive(child, t)
                return
            u -= notice
            if u < resolve:
                child.tier = 0
                child.known = -1
                m.log(child, "resolved", "left", t=t)
                return
            u -= resolve
            if u < esc:
                child.tier = tier + 1
                m.log(child, "escalated", t=t)
                continue
            m.incident(child, t)
            m.front_door.arrive(child, t)
            return

    def recurrence(self, child: Child, t: float) -> None:
        """After need is met by help, it recurs for a share of children, after an
        exponential delay (days)."""
        if self.rng.random() < self.recur_share:
            dt = self.rng.exponential(self.recur_delay)
            if t + dt < child.birth + _LEAVING_DAYS:
                self.m.system.schedule_recurrence(child, t + dt, self.recur_tier)

    def leave_services(self, child: Child, event: str, t: float | None = None, *,
                       helped: bool = False) -> None:
        """The child leaves children's social care (or the front door) with ``event``.

        Goes to the community if need remains, otherwise leaves; a child whose need was
        met by help (``helped``) carries a hazard of a new concern later.
        """
        m = self.m
        if t is None:
            t = m.env._now
        if child.tier >= 1:
            m.log(child, event, "community", t=t)
            self.spell(child, t)
        else:
            m.log(child, event, "left", t=t)
            if helped:
                self.recurrence(child, t)

    # -- early help ---------------------------------------------------------------------
    def early_help(self, child: Child, t: float) -> None:
        """``child``'s family is offered early help at ``t`` (days, now or later).

        With places unlimited (B1 off) the spell starts then, in closed form. Otherwise the
        offer is handled at ``t`` (an event, if later): a free place with no one waiting
        starts the spell, else the family joins the waiting list.
        """
        if not self.b1:
            self._eh_start(child, t)
            return
        now = self.m.env._now
        if t > now:
            self._at(t, self._on_eh_offer, child)
        else:
            self._eh_offer(child, now)

    def _eh_offer_event(self, event: Timeout) -> None:
        self._eh_offer(event._value, self.m.env._now)

    def _eh_offer(self, child: Child, now: float) -> None:
        """The offer of early help to ``child`` happens now (B1 on)."""
        if not self._eh_waiting and self.eh_occupancy() < self.eh_places:
            self._eh_start(child, now)
            return
        m = self.m
        rng = self.eh_rng
        m.log(child, "early_help_waiting", "community", t=now)
        leaves, why = now + rng.exponential(self.patience), _GAVE_UP
        if child.tier == 3 and m.harm_rate > 0:
            s = now + rng.exponential(1.0 / m.harm_rate)
            if s < leaves:
                leaves, why = s, _HARMED
        birthday = child.birth + _LEAVING_DAYS
        if birthday <= leaves:
            leaves, why = birthday, _AGED_OUT
        entry = _Waiting(child, leaves, why)
        self._eh_queue.append(entry)
        self._eh_waiting += 1
        self._eh_seq += 1
        heapq.heappush(self._eh_leaving, (leaves, self._eh_seq, entry))
        self._eh_schedule()

    def _eh_schedule(self) -> None:
        """Make sure an event is due at the next change of the waiting list: the first
        departure from it, or (while families wait) the first place to free."""
        if not self._eh_waiting:
            return
        leaving = self._eh_leaving
        while leaving and not leaving[0][2].active:
            heapq.heappop(leaving)
        nxt = leaving[0][0] if leaving else math.inf
        if self.eh_occupancy() and self._eh_ends[0] < nxt:
            nxt = self._eh_ends[0]
        wakes = self._eh_wakes
        if nxt < math.inf and (not wakes or nxt < wakes[0]):
            heapq.heappush(wakes, nxt)
            self._at(nxt, self._on_eh_wake, None)

    def _eh_wake(self, _event: Timeout) -> None:
        heapq.heappop(self._eh_wakes)
        self._eh_serve(self.m.env._now)

    def _eh_serve(self, now: float) -> None:
        """Bring the waiting list to ``now``: families whose time to leave has come leave
        it, then the longest waiting take the free places, first come first served."""
        leaving = self._eh_leaving
        while leaving and leaving[0][0] <= now:
            entry = heapq.heappop(leaving)[2]
            if entry.active:
                entry.active = False
                self._eh_waiting -= 1
                self._eh_leave(entry)
        queue = self._eh_queue
        occupied = self.eh_occupancy()
        while self._eh_waiting and occupied < self.eh_places:
            entry = queue.popleft()
            if not entry.active:
                continue
            entry.active = False
            self._eh_waiting -= 1
            self._eh_start(entry.child, now)
            occupied = len(self._eh_ends)
        while queue and not queue[0].active:
            queue.popleft()
        self._eh_schedule()

    def _eh_leave(self, entry: _Waiting) -> None:
        """A family leaves the waiting list unserved, at its time ``entry.leaves``."""
        m = self.m
        child, t = entry.child, entry.leaves
        if entry.why == _GAVE_UP:
            self.leave_services(child, "early_help_gave_up", t)
        elif entry.why == _HARMED:
            m.incident(child, t)
            m.front_door.arrive(child, t)
        else:
            m.leave_at_18(child, t)

    def month_end(self) -> None:
        """The supply of early help responds to unmet demand (B1 on; called monthly).

        Places follow ``base x (1 + supply_gain x waiting / places)`` with a first-order
        delay of ``early_help.supply_months``; families waiting get any places added.
        """
        if not self.b1:
            return
        places = self.eh_places
        unmet = self._eh_waiting / max(places, 1.0)
        target = self.eh_base * (1.0 + self.supply_gain * unmet)
        self.eh_places = places + (target - places) * self.supply_step
        if self._eh_waiting:
            self._eh_serve_next()

    def _eh_serve_next(self) -> None:
        """Serve the waiting list at the next representable time after now: a change
        made at a month end (places, parameters) acts after that month end's count."""
        t = math.nextafter(self.m.env._now, math.inf)
        heapq.heappush(self._eh_wakes, t)
        self._at(t, self._on_eh_wake, None)

    def _eh_start(self, child: Child, t: float) -> None:
        """An early-help spell from ``t`` (days), in closed form; it holds a place until it
        ends. Unmet need at tier 2 or above is referred on with chance ``step_up_share``."""
        self._help_spell(child, t, "early_help", self.eh_rng, self.eh_days, self._eh_ends,
                         self.eh_success, self.step_up, self.m.front_door.arrive)

    def _help_spell(self, child: Child, t: float, name: str, rng, days: float,
                    ends: list[float], success, step_up: float | None, refer) -> None:
        """A help spell ``name`` (early help or community-team help) from ``t`` (days), in
        closed form: it lasts an exponential time of mean ``days`` (cut at the 18th
        birthday, or at a serious incident to a tier-3 child, which brings a contact by
        ``refer``), holds a place in ``ends`` until then, and ends with the need met
        (chance ``success[tier]``), referred on by ``refer`` (need at tier 2 or above, with
        chance ``step_up``; None: always, with no draw) or back in the community."""
        m = self.m
        m.log(child, f"{name}_started", name, t=t)
        end = t + rng.exponential(days)
        birthday = child.birth + _LEAVING_DAYS
        if child.tier == 3 and m.harm_rate > 0:
            s = t + rng.exponential(1.0 / m.harm_rate)
            if s < end and s < birthday:
                heapq.heappush(ends, s)
                m.incident(child, s)
                m.log(child, f"{name}_ended", t=s)
                refer(child, s)
                return
        heapq.heappush(ends, min(end, birthday))
        if end >= birthday:
            m.leave_at_18(child, birthday)
            return
        if rng.random() < success[child.tier]:
            child.tier = 0
            self.leave_services(child, f"{name}_ended", end, helped=True)
            return
        if child.tier >= 2 and (step_up is None or rng.random() < step_up):
            m.log(child, f"{name}_ended", t=end)
            refer(child, end)
            return
        self.leave_services(child, f"{name}_ended", end)

    # -- community-team help ------------------------------------------------------------
    def team_decision(self, child: Child, t: float, signal: float) -> None:
        """A consultation judged at ``t`` (days, now or later), from ``signal``, that the
        team could hold ``child``'s case: at ``t`` (an event, if later) it holds it if it
        has room, else the front door refers it."""
        now = self.m.env._now
        if t > now:
            self._at(t, self._on_team, (child, signal))
        else:
            self._team_decide(child, signal, now)

    def _team_event(self, event: Timeout) -> None:
        child, signal = event._value
        self._team_decide(child, signal, self.m.env._now)

    def _team_decide(self, child: Child, signal: float, now: float) -> None:
        if self.team_occupancy() < self.team_capacity:
            self.team_help(child, now)
        else:
            self.m.front_door.team_referral(child, now, signal)

    def team_help(self, child: Child, t: float) -> None:
        """A community-team worker holds ``child``'s case from ``t`` (days, now): team
        help in closed form, holding one of the team's cases until it ends; unmet need at
        tier 2 or above is referred, carrying the team's assessment."""
        self._help_spell(child, t, "team_help", self.team_rng, self.team_days,
                         self._team_ends, self.team_success, None,
                         self.m.front_door.team_referral)


class _Waiting:
    """A family on the early-help waiting list: it leaves unserved at ``leaves`` (days)
    for reason ``why`` unless a place comes first (then ``active`` turns False)."""

    __slots__ = ("child", "leaves", "why", "active")

    def __init__(self, child: Child, leaves: float, why: int) -> None:
        self.child = child
        self.leaves = leaves
        self.why = why
        self.active = True


def _concern_rows(tier: int, times: np.ndarray, ids: np.ndarray, births: np.ndarray,
                  resolved_times: np.ndarray | None = None,
                  resolved_ids: np.ndarray | None = None,
                  resolved_births: np.ndarray | None = None) -> np.ndarray:
    """Journey rows of new concerns at ``tier``: children ``ids`` born at ``births`` in
    the community at ``times`` (days), then, for those resolving unaided, their leaving
    at ``resolved_times``. Episode 1, no worker, nothing known, no detail."""
    n = len(times)
    k = 0 if resolved_times is None else len(resolved_times)
    rows = np.empty(n + k, dtype=ROW_DTYPE)
    rows[:n] = np.array((0.0, 0, 1, _COMMUNITY, _CONCERN, -1, -1, tier, 0, 0.0),
                        dtype=ROW_DTYPE)
    rows["time"][:n] = times
    rows["child"][:n] = ids
    rows["birth"][:n] = births
    if k:
        rows[n:] = np.array((0.0, 0, 1, _LEFT, _RESOLVED, -1, -1, 0, 0, 0.0), dtype=ROW_DTYPE)
        rows["time"][n:] = resolved_times
        rows["child"][n:] = resolved_ids
        rows["birth"][n:] = resolved_births
    return rows


__all__ = ["Community", "MONTH"]
