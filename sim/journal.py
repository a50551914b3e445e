"""The journey log as it is written: rows buffered in memory, flushed in Arrow batches.

Rows are appended as plain values to one flat list, :data:`ROW_WIDTH` values a row (cheap
on the hot path: no per-row object outlives the call, so the garbage collector is not
kept busy), and turned into a :class:`pyarrow.RecordBatch` of
:data:`sim.records.JOURNEY_SCHEMA` every ``chunk_rows`` rows, so memory stays bounded
however long the run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sim.records import EVENTS, JOURNEY_SCHEMA, STAGES

EVENT_NAMES: tuple[str, ...] = tuple(EVENTS)
#: Integer code of each event and stage, as stored in buffered rows.
EVENT_CODE: dict[str, int] = {e: i for i, e in enumerate(EVENT_NAMES)}
STAGE_CODE: dict[str, int] = {s: i for i, s in enumerate(STAGES)}
#: Values of the ``detail`` column.
DETAILS: tuple[str, ...] = ("", "on_time", "late", "at_deadline", "order", "home")
DETAIL_CODE: dict[str, int] = {d: i for i, d in enumerate(DETAILS)}

_STAGE_DICT = pa.array(STAGES, pa.string())
_EVENT_DICT = pa.array(EVENT_NAMES, pa.string())
_DETAIL_DICT = pa.array(DETAILS, pa.string())

Sink = Callable[[pa.RecordBatch], None]

#: Values per buffered row in :attr:`Journal.values`.
ROW_WIDTH = 9


class Journal:
    """Buffer of journey rows for one replication.

    Each row is ``(time, child, episode, stage, event, worker, known_tier, true_tier,
    detail)`` with stage, event and detail as integer codes, appended to the flat list
    :attr:`values` (``values.extend(row)``; the list object is kept across flushes, so
    callers may hold a reference to it).

    Parameters
    ----------
    rep : int
        Replication number written in every row.
    sink : callable or None
        Receives each full batch; ``None`` discards rows (rows are still counted).
    chunk_rows : int
        Rows per batch.
    """

    def __init__(self, rep: int, sink: Sink | None, chunk_rows: int = 100_000) -> None:
        self.rep = rep
        self.sink = sink
        self.chunk_rows = chunk_rows
        self.values: list[float] = []
        self.blocks: list[np.ndarray] = []
        self.block_rows = 0
        self.rows_written = 0

    def add_block(self, block: np.ndarray) -> None:
        """Buffer rows given as a structured array of dtype :data:`ROW_DTYPE`."""
        self.blocks.append(block)
        self.block_rows += len(block)
        if self.block_rows + len(self.values) // ROW_WIDTH >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Send the buffered rows to the sink as one batch and clear the buffer."""
        values, blocks = self.values, self.blocks
        n = len(values) // ROW_WIDTH + self.block_rows
        if not n:
            return
        self.rows_written += n
        rows = values_to_array(values) if values and self.sink is not None else None
        values.clear()
        self.blocks = []
        self.block_rows = 0
        if self.sink is None:
            return
        parts = ([rows] if rows is not None else []) + blocks
        self.sink(array_to_batch(self.rep, np.concatenate(parts)))


#: Buffered row layout (stage, event and detail as codes).
ROW_DTYPE = np.dtype([
    ("time", np.float64), ("child", np.int64), ("episode", np.int32), ("stage", np.int8),
    ("event", np.int8), ("worker", np.int32), ("known", np.int8), ("tier", np.int8),
    ("detail", np.int8),
])


def values_to_array(values: list[float]) -> np.ndarray:
    """Convert flat buffered values (:data:`ROW_WIDTH` a row) into a structured array of
    :data:`ROW_DTYPE`. Every value is exact in float64 (times, and integers far below
    2**53), so going through one float64 array loses nothing."""
    flat = np.array(values, dtype=np.float64).reshape(-1, ROW_WIDTH)
    out = np.empty(len(flat), dtype=ROW_DTYPE)
    for j, name in enumerate(ROW_DTYPE.names):
        out[name] = flat[:, j]
    return out


def rows_to_batch(rep: int, rows: list[tuple]) -> pa.RecordBatch:
    """Convert buffered row tuples into a RecordBatch of the journey schema."""
    return array_to_batch(rep, np.array(rows, dtype=ROW_DTYPE))


def array_to_batch(rep: int, a: np.ndarray) -> pa.RecordBatch:
    """Convert a structured array of :data:`ROW_DTYPE` into a journey RecordBatch."""
    n = len(a)

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
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=JOURNEY_SCHEMA)
