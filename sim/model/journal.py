"""The journey log as it is written: rows buffered in memory, flushed in Arrow batches.

Rows are packed one by one into a byte buffer in the memory layout of
:data:`ROW_DTYPE` (:data:`ROW_STRUCT`): cheap on the hot path, no per-row Python object
outlives the call (so the garbage collector is not kept busy), and the buffer becomes a
structured array without any conversion. Every ``chunk_rows`` rows the buffer is turned
into a :class:`pyarrow.RecordBatch` of :data:`sim.records.JOURNEY_SCHEMA`, so memory
stays bounded however long the run.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sim.records import DETAILS as _DETAILS_BY_EVENT
from sim.records import EVENTS, JOURNEY_SCHEMA, STAGES

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
    """

    def __init__(self, rep: int, sink: Sink | None, chunk_rows: int = 100_000) -> None:
        self.rep = rep
        self.sink = sink
        self.chunk_rows = chunk_rows
        self.buffer = bytearray()
        self.blocks: list[np.ndarray] = []
        self.block_rows = 0
        self.rows_written = 0

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
        self.rows_written += n
        self.blocks = []
        self.block_rows = 0
        if self.sink is None:
            buffer.clear()
            return
        parts = ([np.frombuffer(buffer, dtype=ROW_DTYPE)] if buffer else []) + blocks
        rows = np.concatenate(parts)  # a copy: the buffer can then be reused
        del parts
        buffer.clear()
        self.sink(array_to_batch(self.rep, rows))


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
        pa.array(col("birth")),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=JOURNEY_SCHEMA)
