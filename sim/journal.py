"""The journey log as it is written: rows buffered in memory, flushed in Arrow batches.

Rows are appended as plain tuples (cheap on the hot path) and turned into a
:class:`pyarrow.RecordBatch` of :data:`sim.records.JOURNEY_SCHEMA` every ``chunk_rows``
rows, so memory stays bounded however long the run.
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


class Journal:
    """Buffer of journey rows for one replication.

    Each row is ``(time, child, episode, stage, event, worker, known_tier, true_tier,
    detail)`` with stage, event and detail as integer codes.

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
        self.rows: list[tuple] = []
        self.rows_written = 0

    def flush(self) -> None:
        """Send the buffered rows to the sink as one batch and clear the buffer."""
        rows = self.rows
        if not rows:
            return
        self.rows_written += len(rows)
        self.rows = []
        if self.sink is None:
            return
        self.sink(rows_to_batch(self.rep, rows))


def rows_to_batch(rep: int, rows: list[tuple]) -> pa.RecordBatch:
    """Convert buffered row tuples into a RecordBatch of the journey schema."""
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    arrays = [
        pa.array(np.full(n, rep, dtype=np.int32)),
        pa.array(np.asarray(cols[0], dtype=np.float64)),
        pa.array(np.asarray(cols[1], dtype=np.int64)),
        pa.array(np.asarray(cols[2], dtype=np.int32)),
        pa.DictionaryArray.from_arrays(pa.array(np.asarray(cols[3], dtype=np.int8)), _STAGE_DICT),
        pa.DictionaryArray.from_arrays(pa.array(np.asarray(cols[4], dtype=np.int8)), _EVENT_DICT),
        pa.array(np.asarray(cols[5], dtype=np.int32)),
        pa.array(np.asarray(cols[6], dtype=np.int8)),
        pa.array(np.asarray(cols[7], dtype=np.int8)),
        pa.DictionaryArray.from_arrays(pa.array(np.asarray(cols[8], dtype=np.int8)), _DETAIL_DICT),
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=JOURNEY_SCHEMA)
