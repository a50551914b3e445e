"""Concerns in the child population, universal services, and early help.

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

Early help is likewise a closed-form spell: it lasts an exponential time, then meets the
need with a chance that falls with tier; an unmet need at tier 2 or above is referred on
(a new contact) with a set chance, otherwise it returns to the community. Early help has
limited places (per 10,000 children, plus those community teams add); when they are
full the family is not served and the need stays in the community.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING

import numpy as np

from sim.clock import MONTH, YEAR
from sim.model.child import Child
from sim.model.journal import EVENT_CODE, ROW_DTYPE, STAGE_CODE
from sim.records import LEAVING_AGE

if TYPE_CHECKING:  # pragma: no cover
    from sim.model.simulation import Model

_COMMUNITY = STAGE_CODE["community"]
_LEFT = STAGE_CODE["left"]
_CONCERN = EVENT_CODE["concern"]
_RESOLVED = EVENT_CODE["resolved"]
_LEAVING_DAYS = LEAVING_AGE * YEAR
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
    """Concerns, universal services and early help of one LA.

    Parameters
    ----------
    model : Model
        The model this belongs to.
    """

    def __init__(self, model: Model) -> None:
        self.m = model
        self._notice_multiplier = 1.0  # see the notice_multiplier property
        self._eh_ends: list[float] = []
        self.rng = model.rng.community
        self.configure()

    def configure(self) -> None:
        """Read the parameters (again, when a reform starts part-way through a run)."""
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
        hv = p["universal.health_visitor_fte"] / p["universal.health_visitor_reference_fte"]
        self.hv_factor = hv ** p["universal.health_visitor_elasticity"] if b1 else 1.0
        self.base_notice = [p[f"universal.notice_rate_tier{k}"] / YEAR for k in range(4)]
        self.eh_places = (
            p["early_help.places"] * self.pop10k
            + p["community_team.fte"] * p["community_team.places_per_fte"]) if b1 else math.inf
        surge_start = p["shocks.surge_start_year"] * YEAR
        self.surge = (surge_start, surge_start + p["shocks.surge_months"] * MONTH,
                      p["shocks.surge_factor"])
        self.eh_days = p["early_help.duration_days"]
        self.eh_success = (1.0, p["early_help.success_tier1"], p["early_help.success_tier2"],
                           0.5 * p["early_help.success_tier2"])
        self.step_up = p["early_help.step_up_share"]
        self.age_probs = [age_band_probabilities(p, tier) for tier in range(4)]
        self._set_hazards()

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
        """An early-help spell from ``t`` (days), in closed form."""
        m = self.m
        rng = self.rng
        if self.eh_occupancy() >= self.eh_places:
            self.leave_services(child, "early_help_declined", t)
            return
        m.log(child, "early_help_started", "early_help", t=t)
        end = t + rng.exponential(self.eh_days)
        birthday = child.birth + _LEAVING_DAYS
        heapq.heappush(self._eh_ends, min(end, birthday))
        if child.tier == 3 and m.harm_rate > 0:
            s = t + rng.exponential(1.0 / m.harm_rate)
            if s < end and s < birthday:
                m.incident(child, s)
                m.log(child, "early_help_ended", t=s)
                m.front_door.arrive(child, s)
                return
        if end >= birthday:
            m.leave_at_18(child, birthday)
            return
        if rng.random() < self.eh_success[child.tier]:
            child.tier = 0
            self.leave_services(child, "early_help_ended", end, helped=True)
            return
        if child.tier >= 2 and rng.random() < self.step_up:
            m.log(child, "early_help_ended", t=end)
            m.front_door.arrive(child, end)
            return
        self.leave_services(child, "early_help_ended", end)


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
