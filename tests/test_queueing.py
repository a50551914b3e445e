"""The front door as an M/M/c queue: Erlang C and Little's law (MODEL.md section 9).

Reduced configuration
---------------------
Only worries with no need (true tier 0) arise, as a Poisson process of ``R`` per 10,000
children a year. Universal services contact the front door about each one after an
exponential delay (notice rate 365 a year, the allowed maximum: a mean of one day), and
no worry fades first (resolution rate 0), so every concern becomes a contact. A Poisson
process whose points are each moved by an independent, identically distributed delay is
again a Poisson process of the same rate (beyond the first days), so contacts arrive at
rate ``lambda = R * child_population / 10,000 / YEAR`` a day. The front door sees need
without noise (``signal_sd`` 0), so every tier-0 contact is screened out and leaves. With
``c = round(staff_fte)`` first-come-first-served screeners and exponential screening of
mean ``1/mu = screening_hours / (hours_per_week / 7 * productive_share)`` days, the front
door is an M/M/c queue. No initial stocks, no community team, feedback loops off.

From the journey log: the sojourn of a contact is the time of its ``screened_out`` row
minus the time of its ``contact`` row; ``N(t)``, the number at the front door, is the
number of contacts made at or before ``t`` less the number screened out at or before ``t``.

Erlang C (offered load ``a = lambda / mu``, utilisation ``rho = a / c < 1``)::

    P(wait) = C(c, a) = (a^c / c!) * c / (c - a)
                        / (sum_{k=0}^{c-1} a^k / k!  +  (a^c / c!) * c / (c - a))
    Wq = C(c, a) / (c * mu - lambda),     W = Wq + 1 / mu,     L = lambda * W

By PASTA, ``C(c, a)`` is also the long-run share of time with ``N(t) >= c``.

Measurement window ``[A, B)``: ``A`` after the warm-up, ``B = A + 1 year``; the run goes on
past ``B`` so every contact made in the window has been screened. Per replication:

* ``W_hat``: mean sojourn of the contacts made in ``[A, B)`` (whole sojourns, even the
  part after ``B``);
* ``lambda_hat``: those contacts / ``(B - A)``;
* ``L_hat``: the exact integral of the step function ``N(t)`` over ``[A, B)`` /
  ``(B - A)``; contacts straddling ``A`` or ``B`` count only for their time inside, so
  ``L_hat - lambda_hat * W_hat`` is those edge terms over ``B - A``: Little's law says
  they vanish relative to ``L_hat`` for a long window (the test allows 2%).

Statistical checks put the theoretical value inside the 95% Student t interval of the
per-replication estimates (independent replications, fixed seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

from sim.clock import MONTH, YEAR
from sim.model.simulation import simulate
from sim.parameters import SCHEMA
from sim.records import JOURNEY_SCHEMA, STAGES
from sim.scenario import load_scenario

#: Mean delay from a concern to its contact is 1/365 of a year: one day.
NOTICE_RATE = 365.0


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability that an arrival waits in an M/M/c queue with offered load
    ``a = lambda / mu`` (requires ``a < c``)."""
    if not 0 <= a < c:
        raise ValueError("unstable queue")
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@dataclass(frozen=True)
class Queue:
    """An M/M/c queue: ``c`` servers, arrival and service rates per day."""

    c: int
    lam: float
    mu: float

    @property
    def p_wait(self) -> float:
        return erlang_c(self.c, self.lam / self.mu)

    @property
    def w(self) -> float:
        """Mean time in the system (days): Wq + 1/mu."""
        return self.p_wait / (self.c * self.mu - self.lam) + 1.0 / self.mu


def mmc_scenario(c: int, rho: float, *, child_population: int = 73_000):
    """The reduced front-door configuration with ``c`` screeners at utilisation ``rho``,
    and the queue it should be."""
    base = load_scenario("baseline")
    v = base.values
    service_days = v["front_door.screening_hours"] / (
        v["workforce.hours_per_week"] / 7.0 * v["front_door.productive_share"])
    mu = 1.0 / service_days
    lam = rho * c * mu
    rate = lam * YEAR / (child_population / 10_000.0)  # concerns per 10,000 a year
    overrides = {
        "population.child_population": child_population,
        "population.concern_rate_tier0": rate,
        "population.concern_rate_tier1": 0.0,
        "population.concern_rate_tier2": 0.0,
        "population.concern_rate_tier3": 0.0,
        "population.resolution_rate_tier0": 0.0,
        "universal.notice_rate_tier0": NOTICE_RATE,
        "front_door.signal_sd": 0.0,
        "front_door.staff_fte": float(c),
        "community_team.fte": 0.0,
        "protection.initial_looked_after": 0.0,
        "protection.initial_cin_plans": 0.0,
        "protection.initial_cp_plans": 0.0,
        "court.initial_proceedings": 0.0,
        "early_help.initial": 0.0,
        # no one near 18 (who would leave at the birthday rather than be screened)
        "population.concern_age_weight_16_17": 0.0,
        # feedback loops (where the schema has them) could move notice rates and thresholds
        **{k: False for k, p in SCHEMA.items() if k.startswith("loops.") and p.kind is bool},
    }
    return base.with_values(overrides), Queue(c, lam, mu)


@dataclass(frozen=True)
class Replication:
    """What one replication of the reduced model shows, over the window ``[a, b)``."""

    arrivals: np.ndarray  # contact times, all contacts of the run
    departures: np.ndarray  # screened-out times, same order
    a: float
    b: float
    stocks: pd.DataFrame
    events: frozenset[str]

    @property
    def in_window(self) -> np.ndarray:
        return (self.arrivals >= self.a) & (self.arrivals < self.b)

    @property
    def sojourns(self) -> np.ndarray:
        w = self.in_window
        return self.departures[w] - self.arrivals[w]

    @property
    def w_hat(self) -> float:
        return float(self.sojourns.mean())

    @property
    def lam_hat(self) -> float:
        return float(self.in_window.sum()) / (self.b - self.a)

    def occupancy(self) -> tuple[np.ndarray, np.ndarray]:
        """The step function N(t) on [a, b): lengths of its pieces and N on each."""
        times = np.concatenate([self.arrivals, self.departures])
        steps = np.concatenate([np.ones(len(self.arrivals), np.int64),
                                -np.ones(len(self.departures), np.int64)])
        order = np.argsort(times, kind="stable")
        times, steps = times[order], steps[order]
        n_at_a = int(steps[times <= self.a].sum())
        inside = (times > self.a) & (times < self.b)
        starts = np.concatenate([[self.a], times[inside]])
        n = n_at_a + np.concatenate([[0], np.cumsum(steps[inside])])
        lengths = np.diff(np.append(starts, self.b))
        return lengths, n

    @property
    def l_hat(self) -> float:
        lengths, n = self.occupancy()
        return float((lengths * n).sum()) / (self.b - self.a)

    def p_busy(self, c: int) -> float:
        """Share of the window with all ``c`` servers busy (N(t) >= c)."""
        lengths, n = self.occupancy()
        return float(lengths[n >= c].sum()) / (self.b - self.a)

    def number_at(self, t: float) -> int:
        return int((self.arrivals <= t).sum() - (self.departures <= t).sum())


def replicate(scenario, seed: int, *, warmup_years: float, window_years: float,
              margin_days: float = 30.0) -> Replication:
    """Run the reduced model past the window by ``margin_days`` and read its queue."""
    batches: list[pa.RecordBatch] = []
    stocks = simulate(scenario, rep=0, seed=seed, warmup_years=warmup_years,
                      years=window_years + margin_days / YEAR, journey_sink=batches.append)
    log = pa.Table.from_batches(batches, schema=JOURNEY_SCHEMA).to_pandas()
    event = log["event"].astype(str)
    contacts = log.loc[event == "contact", ["child", "time"]].set_index("child")["time"]
    leaves = log.loc[event == "screened_out", ["child", "time"]].set_index("child")["time"]
    assert contacts.index.is_unique and leaves.index.is_unique  # one contact per child
    a = warmup_years * YEAR
    b = a + window_years * YEAR
    window = contacts[(contacts >= a) & (contacts < b)]
    assert window.index.isin(leaves.index).all(), "a contact made in the window never left"
    both = contacts.index.intersection(leaves.index)
    assert leaves.index.isin(contacts.index).all()
    return Replication(contacts[both].to_numpy(), leaves[both].to_numpy(), a, b, stocks,
                       frozenset(event.unique()))


def t_interval(values, level: float = 0.95) -> tuple[float, float]:
    """Student t confidence interval for the mean of independent replications."""
    x = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return x.mean() - half, x.mean() + half


SEEDS = tuple(range(101, 111))  # ten independent replications


@pytest.fixture(scope="module")
def mm3():
    sc, q = mmc_scenario(3, 0.8)
    reps = [replicate(sc, s, warmup_years=0.25, window_years=1.0) for s in SEEDS]
    return q, reps


@pytest.fixture(scope="module")
def mm1():
    sc, q = mmc_scenario(1, 0.8)
    reps = [replicate(sc, s, warmup_years=0.25, window_years=1.0) for s in SEEDS]
    return q, reps


# ---------------------------------------------------------------------------------------------


def test_erlang_c_formula():
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0)
    q = Queue(1, 0.8, 1.0)
    assert q.w == pytest.approx(1.0 / (1.0 - 0.8))  # M/M/1: W = 1 / (mu - lambda)
    # more servers at the same load per server: less waiting
    assert erlang_c(3, 2.4) < erlang_c(2, 1.6) < erlang_c(1, 0.8)


def test_reduced_configuration_is_a_single_queue(mm3):
    q, reps = mm3
    assert q.lam / (q.c * q.mu) == pytest.approx(0.8)
    for r in reps:
        assert r.events == {"concern", "contact", "screened_out"}
        assert (r.departures > r.arrivals).all()
    # the contacts arrive at the configured rate: lambda inside the 95% t interval
    low, high = t_interval([r.lam_hat for r in reps])
    assert low <= q.lam <= high, (low, q.lam, high)


def test_mean_sojourn_matches_erlang_c(mm3):
    q, reps = mm3
    low, high = t_interval([r.w_hat for r in reps])
    assert low <= q.w <= high, (low, q.w, high)


def test_share_of_time_all_screeners_busy_matches_erlang_c(mm3):
    q, reps = mm3
    low, high = t_interval([r.p_busy(q.c) for r in reps])
    assert low <= q.p_wait <= high, (low, q.p_wait, high)


def test_mean_sojourn_matches_mm1(mm1):
    q, reps = mm1
    assert q.w == pytest.approx(1.0 / (q.mu - q.lam))
    low, high = t_interval([r.w_hat for r in reps])
    assert low <= q.w <= high, (low, q.w, high)


def test_littles_law_in_every_replication(mm3):
    """L_hat = lambda_hat * W_hat: the difference has mean zero over replications (its 95%
    interval contains 0) and is within 5% in each one-year window. The difference is the
    edge terms only, customers present at the window's ends times their stay outside it,
    which a congested spell at an edge can make a few percent of a year. (Not asked of the
    M/M/1 queue at rho 0.8, where those edge terms are heavier still.)"""
    _, reps = mm3
    gaps = [r.l_hat - r.lam_hat * r.w_hat for r in reps]
    low, high = t_interval(gaps)
    assert low <= 0.0 <= high, (low, high)
    for r in reps:
        assert r.l_hat == pytest.approx(r.lam_hat * r.w_hat, rel=0.05), (r.l_hat, r.lam_hat,
                                                                          r.w_hat)


def test_little_integral_is_exact_sum_of_time_in_window(mm3):
    """The integral of N(t) over the window equals the summed time each contact spent at
    the front door inside the window (the exact accounting behind Little's law)."""
    _, reps = mm3
    for r in reps:
        inside = (np.minimum(r.departures, r.b) - np.maximum(r.arrivals, r.a)).clip(min=0)
        assert r.l_hat * (r.b - r.a) == pytest.approx(inside.sum(), rel=1e-9)


def test_front_door_stocks_match_the_queue(mm3):
    """At each month end the stock at the front door is N(t), and the contacts waiting are
    those beyond the c in service."""
    q, reps = mm3
    for r in reps[:3]:
        s = r.stocks
        # children are only ever waiting to be noticed, or at the front door
        others = [f"stage_{x}" for x in STAGES if x not in ("community", "front_door", "left")]
        assert (s[others].to_numpy() == 0).all()
        for row in s.itertuples(index=False):
            n = r.number_at(row.month * MONTH)
            assert row.stage_front_door == n
            assert row.contacts_waiting == max(0, n - q.c)


# ---------------------------------------------------------------------------------------------
# longer checks: more replications, longer windows, other sizes and loads


@pytest.mark.slow
@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (1, 0.9), (3, 0.9), (8, 0.7), (14, 0.95)])
def test_erlang_c_long_runs(c, rho):
    sc, q = mmc_scenario(c, rho)
    reps = [replicate(sc, s, warmup_years=1.0, window_years=3.0) for s in range(201, 231)]
    for name, est, theory in (("W", [r.w_hat for r in reps], q.w),
                              ("P(wait)", [r.p_busy(c) for r in reps], q.p_wait)):
        low, high = t_interval(est)
        assert low <= theory <= high, (name, low, theory, high)
    if c >= 3:  # see test_littles_law_in_every_replication
        for r in reps:
            assert r.l_hat == pytest.approx(r.lam_hat * r.w_hat, rel=0.05)
