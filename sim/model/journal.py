"""The journey log as it is written: rows buffered in memory, flushed in Arrow batches.

Rows are packed one by one into a byte buffer in the memory layout of
:data:`ROW_DTYPE` (:data:`ROW_STRUCT`): cheap on the hot path, no per-row Python object
outlives the call (so the garbage collector is not kept busy), and the buffer becomes a
structured array without any conversion. Every ``chunk_rows`` rows the buffer is turned
into a :class:`pyarrow.RecordBatch` of :data:`sim.records.JOURNEY_SCHEMA`, so memory
stays bounded however long the run.

Two marks and one filter are applied when rows are flushed, vectorised, never on the hot
path: rows of the children created before the run started (the initial population,
numbered below :attr:`Journal.initial_children`) at time 0 are marked ``at_start``;
and a journal with ``log_from`` (the start of the measured window) writes no row timed
before it, but keeps the few that describe the cases open then (:class:`_Context`, see
:mod:`sim.records`) and writes them, marked ``at_start``, when :meth:`Journal.open_window`
is called at that time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sim.records import CONTEXT_DAYS, CONTEXT_EVENTS, EVENTS, JOURNEY_SCHEMA, STAGES
from sim.records import DETAILS as _DETAILS_BY_EVENT

EVENT_NAMES: tuple[str, ...] = tuple(EVENTS)
#: Integer code of each event and stage, as stored in buffered rows.
EVENT_CODE: dict[str, int] = {e: i for i, e in enumerate(EVENT_NAMES)}
STAGE_CODE: dict[str, int] = {s: i for i, s in enumerate(STAGES)}
#: Values of the ``detail`` column.
DETAILS: tuple[str, ...] = tuple(dict.fromkeys(
    ["", *(d for details in _DETAILS_BY_EVENT.values() for d in details)]))
DETAIL_CODE: dict[str, int] = {d: i for i, d in enumerate(DETAILS)}

_STAGE_DICT = pa.array(STAGES, pa.string())
_EVENT_DICT = pa.array(EVENT_NAMES, pa.string())
_DETAIL_DICT = pa.array(DETAILS, pa.string())

Sink = Callable[[pa.RecordBatch], None]

#: Buffered row layout (stage, event and detail as codes), packed (no padding).
ROW_DTYPE = np.dtype([
    ("time", np.float64), ("child", np.int64), ("episode", np.int32), ("stage", np.int8),
    ("event", np.int8), ("worker", np.int32), ("known", np.int8), ("tier", np.int8),
    ("detail", np.int8), ("birth", np.float64),
])
#: The same layout for packing one row: ``ROW_STRUCT.pack(time, child, episode, stage,
#: event, worker, known, tier, detail, birth)`` gives the bytes of one :data:`ROW_DTYPE`
#: item (native byte order, standard sizes, no padding).
ROW_STRUCT = struct.Struct("=dqibbibbbd")
assert ROW_STRUCT.size == ROW_DTYPE.itemsize

_LEFT = STAGE_CODE["left"]
#: Slot of each context event (slot 0 is a child's last row).
_CONTEXT_SLOT = np.zeros(len(EVENT_NAMES), dtype=np.int8)
for _i, _e in enumerate(CONTEXT_EVENTS):
    _CONTEXT_SLOT[EVENT_CODE[_e]] = _i + 1


class _Context:
    """The rows before the measured window that a window-only log keeps (see
    :mod:`sim.records`), reduced as they are flushed: per child, its last row (slot 0)
    and its latest row of each context event (slots 1...), ordered by ``(time, seq)``
    where ``seq`` is the row's position in the full log (so ties keep file order)."""

    def __init__(self) -> None:
        self.rows = np.empty(0, dtype=ROW_DTYPE)
        self.seq = np.empty(0, dtype=np.int64)
        self.slot = np.empty(0, dtype=np.int8)

    def add(self, rows: np.ndarray, seq: np.ndarray) -> None:
        """Fold in ``rows`` (all before the window) numbered ``seq``."""
        slot = _CONTEXT_SLOT[rows["event"]]
        extra = slot > 0
        rows = np.concatenate([self.rows, rows, rows[extra]])
        seq = np.concatenate([self.seq, seq, seq[extra]])
        slot = np.concatenate([self.slot, np.zeros(len(extra), np.int8), slot[extra]])
        order = np.lexsort((seq, rows["time"], slot, rows["child"]))
        child, slot_o = rows["child"][order], slot[order]
        last = np.r_[(child[1:] != child[:-1]) | (slot_o[1:] != slot_o[:-1]), True]
        keep = order[last]
        self.rows, self.seq, self.slot = rows[keep], seq[keep], slot[keep]

    def at(self, start: float) -> np.ndarray:
        """The rows to keep for a window starting at ``start`` (days), in file order."""
        rows, slot = self.rows, self.slot
        if not len(rows):
            return rows
        last = slot == 0
        open_children = rows["child"][last & (rows["stage"] != _LEFT)]
        recent = (slot > 0) & (rows["time"] >= start - CONTEXT_DAYS)
        # every row of an open child; a recent context row of any other, with its last
        # row (so its state at the start, ``left``, is known)
        keep = np.isin(rows["child"], np.union1d(open_children, rows["child"][recent]))
        seq, idx = np.unique(self.seq[keep], return_index=True)  # one copy of each row
        return rows[keep][idx]


class Journal:
    """Buffer of journey rows for one replication.

    Each row is ``(time, child, episode, stage, event, worker, known_tier, true_tier,
    detail, birth)`` with stage, event and detail as integer codes, appended to the byte buffer
    :attr:`buffer` as ``buffer += ROW_STRUCT.pack(*row)`` (the bytearray is kept across
    flushes, so callers may hold a reference to it).

    Parameters
    ----------
    rep : int
        Replication number written in every row.
    sink : callable or None
        Receives each full batch; ``None`` discards rows (rows are still counted).
    chunk_rows : int
        Rows per batch.

    log_from : float or None
        Start of the measured window (days): rows timed before it are not written, except
        those :class:`_Context` keeps, written by :meth:`open_window`. None: every row.
    """

    def __init__(self, rep: int, sink: Sink | None, chunk_rows: int = 100_000,
                 log_from: float | None = None) -> None:
        self.rep = rep
        self.sink = sink
        self.chunk_rows = chunk_rows
        self.buffer = bytearray()
        self.blocks: list[np.ndarray] = []
        self.block_rows = 0
        self.rows_written = 0
        #: Rows flushed so far (written or not): the position of the next one in the log.
        self.rows_flushed = 0
        #: Children numbered below this were present when the run started.
        self.initial_children = 0
        self.log_from = log_from
        self._context: _Context | None = None if log_from is None else _Context()

    def add_block(self, block: np.ndarray) -> None:
        """Buffer rows given as a structured array of dtype :data:`ROW_DTYPE`."""
        self.blocks.append(block)
        self.block_rows += len(block)
        if self.block_rows + len(self.buffer) // ROW_DTYPE.itemsize >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Send the buffered rows to the sink as one batch and clear the buffer."""
        buffer, blocks = self.buffer, self.blocks
        n = len(buffer) // ROW_DTYPE.itemsize + self.block_rows
        if not n:
            return
        first = self.rows_flushed
        self.rows_flushed += n
        self.blocks = []
        self.block_rows = 0
        if self.sink is None and self._context is None:
            self.rows_written += n
            buffer.clear()
            return
        parts = ([np.frombuffer(buffer, dtype=ROW_DTYPE)] if buffer else []) + blocks
        rows = np.concatenate(parts)  # a copy: the buffer can then be reused
        del parts
        buffer.clear()
        if self._context is not None:
            early = rows["time"] < self.log_from
            if early.any():
                self._context.add(rows[early], first + np.flatnonzero(early))
                rows = rows[~early]
        self._send(rows, self._initial(rows))

    def _initial(self, rows: np.ndarray) -> np.ndarray:
        """Which rows place a child present at the start of the run (``at_start``)."""
        return (rows["child"] < self.initial_children) & (rows["time"] <= 0.0)

    def _send(self, rows: np.ndarray, at_start: np.ndarray) -> None:
        if not len(rows):
            return
        self.rows_written += len(rows)
        if self.sink is not None:
            self.sink(array_to_batch(self.rep, rows, at_start))

    def open_window(self) -> None:
        """The measured window starts now: write the rows kept from before it (marked
        ``at_start``), after the rows buffered so far; from now on every row is written."""
        if self._context is None:
            return
        self.flush()
        rows = self._context.at(float(self.log_from))
        self._context = None
        self._send(rows, np.ones(len(rows), dtype=bool))


def rows_to_batch(rep: int, rows: list[tuple]) -> pa.RecordBatch:
    """Convert buffered row tuples into a RecordBatch of the journey schema."""
    return array_to_batch(rep, np.array(rows, dtype=ROW_DTYPE))


def array_to_batch(rep: int, a: np.ndarray, at_start: np.ndarray | None = None
                   ) -> pa.RecordBatch:
    """Convert a structured array of :data:`ROW_DTYPE` into a journey RecordBatch
    (``at_start``: the rows' marks, default none)."""
    n = len(a)
    if at_start is None:
        at_start = np.zeros(n, dtype=bool)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(a[name])

    arrays = [
        pa.array(np.full(n, rep, dtype=np.int32)),
        pa.array(col("time")),
        pa.array(col("child")),
        pa.array(col("episode")),
        pa.DictionaryArray.from_arrays(pa.array(col("stage")), _STAGE_DICT),
        pa.DictionaryArray.from_arrays(pa.array(col("event")), _EVENT_DICT),
        pa.array(col("worker")),
        pa.array(col("known")),
        pa.array(col("tier")),
        pa.DictionaryArray.from_arrays(pa.array(col("detail")), _DETAIL_DICT),
        pa.array(col("birth")),
        pa.array(np.asarray(at_start, dtype=bool)),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=JOURNEY_SCHEMA)
