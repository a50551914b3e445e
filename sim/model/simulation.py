"""The model of one local authority: wiring of the journey, resources and system layer.

Layers
------
* **Journey events** (simpy): every transition of a child is an event at its exact time.
  Spells in the community and in early help, where no capacity-limited resource is
  involved, are computed in closed form as competing exponential risks and their events
  logged at their (future) times; a process (simpy events driven by :class:`_Journey`)
  takes over when the child next meets a resource (the front door, a social worker, the
  court).
* **Worker time**: each case gets a share of its worker's direct hours in proportion to
  its workload weight; rates are read when a piece of work is scheduled.
* **System layer** (:mod:`sim.model.system`): a monthly step that records stocks, updates the
  time split and generates the month's concerns; the feedback loops live there.

Two pieces of bookkeeping keep the hot path cheap and are explained where they live: the
packed layout of journey rows (:mod:`sim.model.journal`) and the stage counts kept exact
at month ends (:mod:`sim.model.month_ends`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Generator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import simpy
from simpy.core import URGENT
from simpy.events import Event, Timeout

from sim.clock import YEAR
from sim.model.child import Child
from sim.model.journal import DETAIL_CODE, EVENT_CODE, ROW_STRUCT, STAGE_CODE, Journal, Sink
from sim.model.month_ends import CHANGE_STRUCT, INCIDENT, SCR, MonthEndCounts
from sim.records import LEAVING_AGE
from sim.streams import Streams

log = logging.getLogger(__name__)

#: Age at which every child leaves children's services, in days.
LEAVING_DAYS: float = LEAVING_AGE * YEAR

Step = Callable[["Model", Child], Generator[Any, Any, "Step | None"]]

# Stages whose tier-3 children carry a running harm clock. Community, early help, the
# front door and consultations are closed-form spells: their harm is drawn analytically.
_UNMET_CLOCK_CODES = frozenset(
    STAGE_CODE[s] for s in ("referral", "assessment", "s47", "cin_plan")
)


class _Journey:
    """A child's journey run as a light-weight process, without a :class:`simpy.Process`.

    The steps run one after another: each is a generator of simpy events that returns
    the next step (or None at the end). The journey itself is the callback of the event
    its current step waits on: called with the event, it sends the event's value in (or
    throws its exception) and waits on the next event yielded, at once if that event has
    already been processed; when a step returns, the next one starts at once. Unlike a
    simpy process, a journey is not an event itself, so nothing can wait for it to finish
    (journeys are never waited for), and it schedules no event when it ends. It holds no
    reference to itself, so it is freed as soon as it ends (no work for the cycle
    collector), and waiting allocates no bound method.
    """

    __slots__ = ("model", "child", "gen")

    def __init__(self, model: Model, child: Child, first: Step) -> None:
        self.model = model
        self.child = child
        self.gen = first(model, child)

    def __call__(self, event: Event) -> None:
        """Continue the journey with the outcome of ``event``."""
        gen = self.gen
        if gen is None:  # ended early (the 18th birthday): the event is stale
            return
        ok, value = event._ok, event._value
        while True:
            try:
                if ok:
                    event = gen.send(value)
                else:
                    event._defused = True
                    event = gen.throw(value)
            except StopIteration as stop:  # the step is over: start the next one
                if stop.value is None:
                    self.gen = None
                    child = self.child
                    if child.journey is self:
                        child.journey = None
                    return
                gen = self.gen = stop.value(self.model, self.child)
                ok, value = True, None
                continue
            if event.callbacks is not None:
                event.callbacks.append(self)
                return
            ok, value = event._ok, event._value

    def stop(self) -> None:
        """End the journey now, wherever it waits: :class:`JourneyEnded` is thrown into
        its generator (so a court request it holds or waits for is given back: simpy does
        not release a resource when a generator is merely closed) and the event it waits
        on, when it comes, is ignored."""
        gen = self.gen
        self.gen = None
        if gen is not None:
            with contextlib.suppress(JourneyEnded, StopIteration):
                gen.throw(JourneyEnded())


class JourneyEnded(Exception):
    """Thrown into a journey's generator to end it where it waits (the 18th birthday)."""


class Model:
    """One replication of one local authority.

    Parameters
    ----------
    values : mapping
        Fully resolved scenario parameters (dotted keys, see :mod:`sim.parameters`).
    rep, seed : int
        Replication number and experiment seed (random streams derive from both).
    sink : callable or None
        Receives the journey log in Arrow batches.
    log_from : float or None
        Start of the measured window (days) for a log of the window only (see
        :class:`sim.model.journal.Journal`); None keeps every row.
    """

    def __init__(self, values: dict[str, Any], *, rep: int, seed: int, sink: Sink | None,
                 chunk_rows: int = 100_000, log_from: float | None = None) -> None:
        from sim.model.assessment import Assessment
        from sim.model.community import Community
        from sim.model.court import Court
        from sim.model.front_door import FrontDoor
        from sim.model.protection import Protection
        from sim.model.system import SystemLayer
        from sim.model.workforce import Workforce

        self.p = values
        self.rep = rep
        self.env = simpy.Environment()
        self.until = math.inf  # end of the run (days), set by :meth:`run`
        self.rng = Streams(seed, rep)
        self.journal = Journal(rep, sink, chunk_rows, log_from)
        #: Called at a part-way switch as ``on_switch(model, values)``; returns the values
        #: to switch to (None: none). A branch point (see :func:`simulate_branches`).
        self.on_switch: Callable[[Model, dict[str, Any] | None], dict[str, Any] | None] | None
        self.on_switch = None
        self._buffer = self.journal.buffer  # packed rows (the bytearray persists)
        self._pack = ROW_STRUCT.pack
        self._chunk_bytes = chunk_rows * ROW_STRUCT.size
        self.month_ends = MonthEndCounts()
        self.counts = self.month_ends.counts  # children in each stage at the last month end
        self._changes = self.month_ends.changes  # packed stage changes (the bytearray persists)
        self._pack_change = CHANGE_STRUCT.pack
        self.next_child_id = 0
        self._on_harm = self._harm  # one bound method for every harm-clock event
        self._on_birthday = self._birthday  # one bound method for every 18th birthday
        self.incidents_due = 0
        self.harm_rate = float(values["incidents.harm_rate"]) / YEAR
        self.scr_share = float(values["incidents.scr_share"])
        self.workforce = Workforce(self)
        self.community = Community(self)
        self.front_door = FrontDoor(self)
        self.assessment = Assessment(self)
        self.protection = Protection(self)
        self.court = Court(self)
        self.system = SystemLayer(self)

    # -- children -----------------------------------------------------------------------
    def new_child(self, tier: int, complexity: float, birth: float = 0.0) -> Child:
        """Create a child born at ``birth`` (days; not yet in any stage)."""
        c = Child(self.next_child_id, tier, complexity, birth)
        self.next_child_id += 1
        return c

    def log(self, child: Child, event: str, stage: str | None = None, detail: str = "",
            t: float | None = None) -> None:
        """Record ``event`` for ``child`` at time ``t`` (default now), moving it to ``stage``.

        A time in the future (closed-form spells) is allowed. Stage changes are kept with
        their times and counted at the first month end at or after ``t`` (see
        :meth:`apply_due`), so counts are exact at every month end whatever order events
        are logged in.
        """
        now = self.env._now
        if t is None:
            t = now
        code = child.stage
        if stage is not None:
            new = STAGE_CODE[stage]
            if new != code:
                changes = self._changes
                changes += self._pack_change(t, code, new)
                child.stage = code = new
        tier = child.tier
        buffer = self._buffer
        buffer += self._pack(t, child.id, child.episode, code, EVENT_CODE[event],
                             child.worker, child.known, tier, DETAIL_CODE[detail], child.birth)
        if len(buffer) >= self._chunk_bytes:
            self.journal.flush()
        if child.unmet:
            if t <= now:
                self._check_unmet(child)
            else:  # the child's future is now closed-form: stop its clock
                child.unmet = False
                child.unmet_token += 1
        elif tier == 3 and t <= now:
            self._check_unmet(child)

    def add_stage_changes(self, times: np.ndarray, old: int, new: int) -> None:
        """Record that children move from stage code ``old`` (-1: none) to ``new`` at
        ``times`` (days), for rows added in bulk (see :class:`MonthEndCounts`)."""
        self.month_ends.add(times, old, new)

    def apply_due(self, month: int) -> tuple[int, int]:
        """Bring stage counts to the end of ``month``; return its incidents and SCRs."""
        return self.month_ends.apply_due(month)

    # -- serious incidents -------------------------------------------------------------
    def _check_unmet(self, child: Child) -> None:
        """Start or stop the serious-harm clock of a tier-3 child whose need is not met."""
        unmet = child.tier == 3 and child.stage in _UNMET_CLOCK_CODES
        if unmet == child.unmet:
            return
        child.unmet = unmet
        child.unmet_token += 1
        if unmet and self.harm_rate > 0:
            self._arm(child)

    def _arm(self, child: Child) -> None:
        delay = self.rng.incidents.exponential(1.0 / self.harm_rate)
        Timeout(self.env, delay, (child, child.unmet_token)).callbacks.append(self._on_harm)

    def _harm(self, event: Timeout) -> None:
        child, token = event._value
        if child.unmet_token != token or not child.unmet:
            return
        self.incident(child, self.env.now)
        self._arm(child)

    def incident(self, child: Child, t: float) -> None:
        """A serious incident to ``child`` at time ``t``, perhaps with a serious case review."""
        self.log(child, "serious_incident", t=t)
        self._changes += self._pack_change(t, -1, INCIDENT)
        if self.rng.incidents.random() < self.scr_share:
            self.log(child, "scr_started", t=t)
            self._changes += self._pack_change(t, -1, SCR)

    # -- processes ----------------------------------------------------------------------
    def start_journey(self, child: Child, at: float, first: Step) -> None:
        """Start the child's journey at time ``at`` (days) with step ``first``.

        The steps run as a light-weight process (:class:`_Journey`): one event at ``at``
        starts them (an urgent one, like a simpy process's initialisation, if ``at`` is
        now), and each event a step yields resumes them.
        """
        env = self.env
        delay = at - env._now
        if delay > 0:
            ev: Event = Timeout(env, delay)
        else:
            ev = Event(env)
            ev._ok = True
            ev._value = None
            env.schedule(ev, URGENT)
        journey = _Journey(self, child, first)
        ev.callbacks.append(journey)
        child.journey = journey
        # the 18th birthday ends the journey wherever it is (see :meth:`_birthday`)
        birthday = child.birth + LEAVING_DAYS
        if birthday < self.until:
            wait = birthday - env._now
            Timeout(env, wait if wait > 0 else 0.0, (child, journey)).callbacks.append(
                self._on_birthday)

    def _birthday(self, event: Timeout) -> None:
        """The 18th birthday of a child whose journey is running: the child leaves
        children's services, wherever it is (a looked-after child ceases to be looked
        after); its worker is released and any request it waits on is withdrawn."""
        child, journey = event._value
        if child.journey is not journey or journey.gen is None:
            return  # that journey is over: the child is elsewhere (closed-form spells
            # end at the birthday themselves)
        journey.stop()
        child.journey = None
        self.leave_at_18(child, self.env._now)

    def leave_at_18(self, child: Child, t: float) -> None:
        """Log that ``child`` leaves children's services at time ``t`` (its 18th birthday)."""
        self.workforce.release(child)
        child.aged_out = True
        child.returned = -math.inf
        if child.legal:
            self.protection.leave_care(child)
            self.log(child, "looked_after_ended", "left", detail="age_18", t=t)
        else:
            self.log(child, "aged_out", "left", t=t)

    def reconfigure(self, values: dict[str, Any]) -> None:
        """Change the parameters now (a reform starting part-way through a run): every
        part reads them again; the state (children, workers, stocks) carries on."""
        self.p = values
        self.harm_rate = float(values["incidents.harm_rate"]) / YEAR
        self.scr_share = float(values["incidents.scr_share"])
        for part in (self.community, self.front_door, self.assessment, self.protection,
                     self.court, self.workforce, self.system):
            part.configure()
        log.info("replication %d: parameters changed at day %.1f", self.rep, self.env.now)

    def switch(self, values: dict[str, Any] | None) -> None:
        """The part-way switch: ask :attr:`on_switch` (if set) what to switch to, then
        reconfigure (nothing when there are no values)."""
        if self.on_switch is not None:
            values = self.on_switch(self, values)
        if values is not None:
            self.reconfigure(values)

    def run(self, until: float, switch: tuple[float, dict[str, Any] | None] | None = None
            ) -> pd.DataFrame:
        """Run to ``until`` (days) and return the monthly stocks; ``switch`` is
        ``(day, values)`` for a reform that starts part-way through (values None: only
        :attr:`on_switch` is called there)."""
        self.until = until
        journal = self.journal
        if journal.log_from is not None and 0 < journal.log_from < until:
            Timeout(self.env, journal.log_from).callbacks.append(
                lambda _ev: journal.open_window())
        journal.initial_children = np.iinfo(np.int64).max  # all created now are initial
        self.workforce.start()
        self.system.start(until, switch)
        journal.initial_children = self.next_child_id
        self.env.run(until=until)
        self.system.finish()
        self.journal.flush()
        return self.system.stocks_frame()


def simulate(scenario: Any, *, rep: int, seed: int, warmup_years: float, years: float,
             journey_sink: Sink | None, chunk_rows: int = 100_000,
             log_warmup: bool = True) -> pd.DataFrame:
    """Run one replication of a scenario.

    Parameters
    ----------
    scenario : Scenario or mapping
        Fully resolved scenario (anything with a ``values`` mapping, or the mapping).
    rep, seed : int
        Replication number and experiment seed.
    warmup_years, years : float
        Warm-up and measured lengths (years); the run lasts their sum.
    journey_sink : callable or None
        Receives the journey log as Arrow RecordBatches of :data:`sim.records.JOURNEY_SCHEMA`.
    log_warmup : bool
        Whether the log keeps the warm-up; False writes the measured window only, with the
        rows describing the cases open at its start (marked ``at_start``).

    Returns
    -------
    pandas.DataFrame
        Monthly stocks, one row per month end (columns :data:`sim.records.STOCK_COLUMNS`).
    """
    values = dict(getattr(scenario, "values", scenario))
    before = getattr(scenario, "before", None)
    switch = None
    if before is not None:  # a reform that starts at start_year
        switch = (float(scenario.start_year) * YEAR, values)
        values = dict(before)
    model = Model(values, rep=rep, seed=seed, sink=journey_sink, chunk_rows=chunk_rows,
                  log_from=None if log_warmup else warmup_years * YEAR)
    return model.run((warmup_years + years) * YEAR, switch)


def simulate_branches(root: Mapping[str, Any], *, rep: int, seed: int, warmup_years: float,
                      years: float, branch_years: float, journey_sink: Sink | None,
                      branch: Callable[[Model], dict[str, Any] | None],
                      chunk_rows: int = 100_000, log_warmup: bool = True) -> pd.DataFrame:
    """Run the values ``root`` to a branch point, then continue as what ``branch`` says.

    At ``branch_years`` (at the same place in the order of events as the switch of a
    scenario whose ``start_year`` is ``branch_years``), ``branch(model)`` is called; it
    may point the journal at another sink (``model.journal.sink``) and returns the values
    to continue with (None: the root's, with no reconfiguration). The run then goes on
    to the end and the monthly stocks are returned. So, with the same ``rep`` and
    ``seed``, continuing with a scenario's values gives exactly the run of that scenario
    with ``start_year = branch_years`` and the root's values before it (what
    :func:`simulate` does with it). ``branch`` may return in several processes (after
    ``os.fork``), or never (by raising), see :mod:`sim.experiments.branching`.
    """
    values = dict(root)
    model = Model(values, rep=rep, seed=seed, sink=journey_sink, chunk_rows=chunk_rows,
                  log_from=None if log_warmup else warmup_years * YEAR)
    model.on_switch = lambda m, _values: branch(m)
    return model.run((warmup_years + years) * YEAR, (float(branch_years) * YEAR, None))
