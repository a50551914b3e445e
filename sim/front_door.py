"""The front door: community-team consultations and duty screening of contacts.

Screening is capacity-limited: ``round(staff_fte)`` screeners work as parallel servers
with exponential screening times, so with Poisson contacts the front door is an M/M/c
queue (used to verify the model against Erlang C). A screener sees the need through
noise: signal = true tier + Normal(0, sd). Below the early-help threshold the contact is
closed (no further action), between the thresholds the family is signposted to early
help, above the referral threshold the contact becomes a referral. Both errors arise:
real need screened out (it comes back later, perhaps escalated) and unnecessary
referrals.

Where a community multi-agency team exists, universal services consult it first with a
chance that grows with its staffing; the team sees need more sharply, keeps lower needs
in early help without a referral, and refers the rest carrying a partner assessment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

if TYPE_CHECKING:  # pragma: no cover
    from sim.child import Child
    from sim.model import Model


def classify(signal: float) -> int:
    """Tier judged from a signal of need (cut points midway between tiers)."""
    if signal < 0.5:
        return 0
    if signal < 1.5:
        return 1
    if signal < 2.5:
        return 2
    return 3


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
        hours_day = p["workforce.hours_per_week"] / 7.0
        self.servers = max(1, round(p["front_door.staff_fte"]))
        self.resource = simpy.Resource(model.env, capacity=self.servers)
        #: Mean screening time in calendar days of one screener.
        self.service_days = p["front_door.screening_hours"] / (
            hours_day * p["front_door.productive_share"])
        self.sd = p["front_door.signal_sd"]
        self.eh_threshold = p["front_door.early_help_threshold"]
        self.ref_threshold = p["front_door.referral_threshold"]
        self.threshold_shift = 0.0  # set by the system layer (defensive practice)
        ct_fte = p["community_team.fte"]
        self.consult_share = min(1.0, ct_fte / p["community_team.full_coverage_fte"])
        self.consult_servers = max(1, round(ct_fte))
        self.consult_resource = simpy.Resource(model.env, capacity=self.consult_servers)
        self.consult_days = p["community_team.consult_hours"] / hours_day
        self.consult_sd = p["community_team.signal_sd"]
        self.shared_share = p["community_team.shared_assessment_share"]
        self.rng = model.rng.front_door

    def contact(self, m: Model, child: Child):
        """Step: universal services contact (or consult) about the child."""
        rng = self.rng
        if self.consult_share > 0 and rng.random() < self.consult_share:
            return (yield from self._consult(m, child))
        m.log(child, "contact", "front_door")
        with self.resource.request() as req:
            yield req
            yield m.env.timeout(rng.exponential(self.service_days))
        signal = child.tier + rng.normal(self.sd)
        child.known = classify(signal)
        shift = self.threshold_shift
        if signal < self.eh_threshold - shift:
            m.community.leave_services(child, "screened_out")
            return None
        if signal < self.ref_threshold - shift:
            m.log(child, "signposted")
            m.community.early_help(child, m.env.now)
            return None
        return m.assessment.referral

    def _consult(self, m: Model, child: Child):
        rng = self.rng
        m.log(child, "consulted", "consultation")
        with self.consult_resource.request() as req:
            yield req
            yield m.env.timeout(rng.exponential(self.consult_days))
        signal = child.tier + rng.normal(self.consult_sd)
        child.known = classify(signal)
        if signal < self.eh_threshold:
            m.community.leave_services(child, "screened_out")
            return None
        if signal < self.ref_threshold:
            m.log(child, "signposted")
            m.community.early_help(child, m.env.now)
            return None
        child.shared = rng.random() < self.shared_share
        return m.assessment.referral
