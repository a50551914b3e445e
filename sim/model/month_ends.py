"""Children in each stage at every month end, kept exact however events are logged.

The monthly stocks count the children in each stage at each month end. Events are not
logged in time order: a closed-form spell (a need in the community, early help) logs
its future events when it starts, and bulk rows arrive as arrays. So a stage change is
not applied to the counts when it is logged; it is kept with its time, as
``(time in days, old stage code, new stage code)`` (old code -1: the child was in no
stage), and applied at the first month end at or after its time. Serious incidents and
serious case reviews ride along as changes into two pseudo codes (:data:`INCIDENT`,
:data:`SCR`), so a month's count of them comes out of the same table.

How it stays cheap on the hot path:

* A change logged one at a time is packed into a byte buffer (:data:`CHANGE_STRUCT`,
  three float64; stage codes are small integers, exact in floating point), with no
  Python object per change left behind. Bulk changes are kept as arrays.
* At each month end the buffered changes are sorted into a table of net changes per
  future month end and code in one pass (``numpy.bincount``), then the row of the month
  end being applied is added to :attr:`MonthEndCounts.counts`.

The journey log and the monthly stocks therefore reconcile exactly at every month end
(``tests/test_model.py`` checks it).
"""

from __future__ import annotations

import struct

import numpy as np

from sim.clock import MONTH
from sim.records import STAGES

N_STAGES = len(STAGES)
#: Pseudo stage codes counted at month ends alongside stage changes.
INCIDENT, SCR = N_STAGES, N_STAGES + 1
#: One stage change as buffered: time (days), old code (-1: none), new code, as three
#: float64.
CHANGE_STRUCT = struct.Struct("=3d")
#: Initial number of month ends for which changes are kept (the table grows as needed).
MONTHS_AHEAD = 64


class MonthEndCounts:
    """Stage counts at month ends, from stage changes logged in any order.

    Attributes
    ----------
    counts : numpy.ndarray
        Children in each stage (by stage code) at the last month end applied.
    changes : bytearray
        Stage changes logged one at a time, each ``CHANGE_STRUCT.pack(t, old, new)``; the
        object persists, so a caller may keep a reference and append to it.
    """

    def __init__(self) -> None:
        self.counts = np.zeros(N_STAGES, dtype=np.int64)
        self.changes = bytearray()
        self._blocks: list[np.ndarray] = []
        # per month end from the next one to apply: the net change of each code
        self._delta = np.zeros((MONTHS_AHEAD, N_STAGES + 2), dtype=np.int64)
        self._applied = 0  # last month end whose changes are in ``counts``

    def add(self, times: np.ndarray, old: int, new: int) -> None:
        """Children move from stage code ``old`` (-1: none) to ``new`` at ``times`` (days)."""
        if len(times) == 0:
            return
        block = np.empty((len(times), 3))
        block[:, 0] = times
        block[:, 1] = old
        block[:, 2] = new
        self._blocks.append(block)

    def _sort(self) -> None:
        """Add the buffered changes to the per-month table: a change at time ``t`` (days)
        counts at the first month end at or after ``t`` not yet applied."""
        parts = self._blocks
        if self.changes:
            parts.append(np.frombuffer(self.changes).reshape(-1, 3).copy())
            self.changes.clear()
        if not parts:
            return
        self._blocks = []
        changes = np.concatenate(parts) if len(parts) > 1 else parts[0]
        first = self._applied + 1
        ahead = np.maximum(-np.floor_divide(-changes[:, 0], MONTH), first).astype(np.int64)
        ahead -= first
        rows = int(ahead.max()) + 1
        if rows > len(self._delta):
            grown = np.zeros((max(rows, 2 * len(self._delta)), N_STAGES + 2), dtype=np.int64)
            grown[: len(self._delta)] = self._delta
            self._delta = grown
        width = N_STAGES + 2
        size = rows * width
        old = changes[:, 1].astype(np.int64)
        was = old >= 0
        net = (np.bincount(ahead * width + changes[:, 2].astype(np.int64), minlength=size)
               - np.bincount(ahead[was] * width + old[was], minlength=size))
        self._delta[:rows] += net.reshape(rows, width)

    def apply_due(self, month: int) -> tuple[int, int]:
        """Bring :attr:`counts` to the end of ``month`` (the next month end: month ends are
        applied in order); return that month's serious incidents and SCRs."""
        if month != self._applied + 1:
            raise ValueError(f"month end {month} applied after {self._applied}")
        self._sort()
        delta = self._delta[0].copy()
        self._delta[:-1] = self._delta[1:]
        self._delta[-1] = 0
        self._applied = month
        self.counts += delta[:N_STAGES]
        return int(delta[INCIDENT]), int(delta[SCR])
