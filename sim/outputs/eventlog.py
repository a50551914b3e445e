"""The journey log as an event log for process mining (``childsim export``).

A process-mining event log has a *case* (here: one episode of one child in one
replication, ``r{rep}-c{child}-e{episode}``), an *activity* (the journey event:
:data:`sim.records.EVENTS`) and a *timestamp*. The model's clock counts days from the
start of a run; a timestamp is a real date on a stated calendar: the measured window
starts on ``start`` (default :data:`DEFAULT_START`, 1 April 2010, the start of the
2010-11 year the baseline is calibrated to), so day ``t`` of the run is
``start + (t - warm-up) days``, and warm-up events, when exported, fall before it.

Formats (:data:`FORMATS`; each a function writing one file, so more can be added):

* ``xes``: IEEE 1849-2016 XES, one trace per case, its events in time order, with the
  concept, time and lifecycle-free standard extensions; each event also carries the
  ``stage``, ``worker``, ``known_tier``, ``true_tier``, ``detail`` and ``day`` (model time)
  of the journey row, each trace its ``rep``, ``child`` and ``episode``.
* ``ocel``: OCEL 2.0 JSON, object-centric: every event relates to its ``child``, its
  ``episode`` and, when one holds the case, its ``social worker``.
* ``csv``: one row per event with ``case:concept:name``, ``concept:name`` and
  ``time:timestamp`` (the column names pm4py and most tools expect), then the journey
  columns.

The writers stream one replication at a time (a full-size log has millions of events),
so they need no process-mining library; pm4py (``pip install "childsim[export]"``) reads
what they write (``pm4py.read_xes``, ``pm4py.read_ocel2_json``) and discovers process
models from it. A file name ending in ``.gz`` is written gzip-compressed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from sim.clock import Window
from sim.outputs import files as output
from sim.outputs.results import load_result

#: Where the measured window starts on the calendar by default.
DEFAULT_START = dt.date(2010, 4, 1)
#: Which events are exported: those of the measured window (what the KPIs count), or all.
WINDOWS: tuple[str, ...] = ("measured", "all")
#: Columns of the journey log carried on every event, after the case, activity and time.
EVENT_COLUMNS: tuple[str, ...] = ("rep", "child", "episode", "stage", "worker", "known_tier",
                                  "true_tier", "detail", "day")
#: The three columns of a process-mining event table (pm4py's names).
CASE, ACTIVITY, TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"


class ExportError(ValueError):
    """An export cannot run as asked (not a result directory, unknown format, bad date)."""


@dataclass(frozen=True)
class Calendar:
    """Model days to dates: day ``origin_day`` of a run is midnight (UTC) of ``start``."""

    start: dt.date
    origin_day: float

    def timestamps(self, days: np.ndarray | pd.Series) -> pd.Series:
        base = pd.Timestamp(self.start, tz="UTC")
        offset = pd.to_timedelta(np.asarray(days, dtype=float) - self.origin_day, unit="D")
        return pd.Series(base + offset).dt.round("ms")

    def describe(self) -> str:
        return (f"day {self.origin_day:g} of the run (the end of the warm-up) is "
                f"{self.start.isoformat()}; a day is a calendar day")


def parse_start(text: str | dt.date | None) -> dt.date:
    """A calendar start from ``YYYY-MM-DD`` (or a date; None: :data:`DEFAULT_START`)."""
    if text is None:
        return DEFAULT_START
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ExportError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def case_ids(frame: pd.DataFrame) -> pd.Series:
    """``r{rep}-c{child}-e{episode}`` for every row."""
    return ("r" + frame["rep"].astype("int64").astype(str) + "-c"
            + frame["child"].astype("int64").astype(str) + "-e"
            + frame["episode"].astype("int64").astype(str))


def event_table(journeys: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """Journey rows as an event table: ``case:concept:name``, ``concept:name``,
    ``time:timestamp``, then :data:`EVENT_COLUMNS`; ordered by case, then time (ties in
    the order the model logged them)."""
    j = journeys.reset_index(drop=True)
    out = pd.DataFrame({
        CASE: case_ids(j),
        ACTIVITY: j["event"].astype(str),
        TIMESTAMP: calendar.timestamps(j["time"]),
    })
    for col in EVENT_COLUMNS:
        if col == "day":
            out["day"] = j["time"].astype(float)
        elif col in ("stage", "detail"):
            out[col] = j[col].astype(str)
        else:
            out[col] = j[col].astype("int64")
    order = np.lexsort((np.arange(len(j)), j["time"].to_numpy(), j["episode"].to_numpy(),
                        j["child"].to_numpy(), j["rep"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# -- reading a result directory ----------------------------------------------------------------


@dataclass
class Source:
    """The journey log of a result directory, one replication at a time."""

    out_dir: Path
    reps: list[int]
    window: Window
    scenario: str

    def replication(self, rep: int, which: str) -> pd.DataFrame:
        import pyarrow.dataset as ds

        path = output.journey_path(self.out_dir, rep)
        data = ds.dataset(str(path), format="parquet")
        t = ds.field("time")
        flt = (t >= self.window.start) & (t < self.window.end) if which == "measured" else None
        return data.to_table(filter=flt).to_pandas()


def open_source(out_dir: str | os.PathLike[str], reps: Sequence[int] | None = None) -> Source:
    """A run's result directory to export (its finished replications, or those of ``reps``)."""
    out = Path(out_dir)
    manifest = output.read_manifest(out)
    if manifest is None or output.manifest_kind(manifest) != "run":
        raise ExportError(f"{out} is not the result directory of a run (no manifest.json of "
                          "kind run): give a directory written by childsim run")
    result = load_result(out)
    have = sorted(int(r) for r in result.per_rep.index)
    if not have:
        raise ExportError(f"{out} has no finished replication")
    chosen = have if reps is None else sorted(set(int(r) for r in reps))
    missing = [r for r in chosen if r not in have]
    if missing:
        raise ExportError(f"{out} has no finished replication {', '.join(map(str, missing))} "
                          f"(finished: {', '.join(map(str, have))})")
    window = Window.from_years(float(manifest.get("warmup_years", 0.0)),
                               float(manifest.get("years", 0.0)))
    name = (manifest.get("scenario") or {}).get("name") or out.name
    return Source(out, chosen, window, str(name))


# -- writers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _text_out(path: Path) -> Iterator[IO[str]]:
    """A text file written atomically, gzip-compressed when the name ends in ``.gz``."""
    with output.atomic_path(path) as tmp:
        if path.suffix == ".gz":
            with gzip.open(tmp, "wt", encoding="utf-8", newline="\n") as fh:
                yield fh
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                yield fh


def _iso(ts: pd.Series) -> list[str]:
    return [t.isoformat(timespec="milliseconds") for t in ts]


_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
"""


def write_xes(source: Source, path: Path, calendar: Calendar, which: str) -> int:
    """XES: one trace per case. Returns the number of events written."""
    n = 0
    with _text_out(path) as fh:
        fh.write(_XES_HEAD)
        name = quoteattr(f"childsim {source.scenario}")
        fh.write(f'  <string key="concept:name" value={name}/>\n')
        fh.write(f'  <string key="childsim:calendar" value={quoteattr(calendar.describe())}/>\n')
        for rep in source.reps:
            table = event_table(source.replication(rep, which), calendar)
            n += len(table)
            _xes_traces(fh, table)
        fh.write("</log>\n")
    return n


def _xes_traces(fh: IO[str], table: pd.DataFrame) -> None:
    if table.empty:
        return
    stamps = _iso(table[TIMESTAMP])
    cases = table[CASE].to_numpy()
    acts = table[ACTIVITY].to_numpy()
    cols = {c: table[c].to_numpy() for c in ("stage", "worker", "known_tier", "true_tier",
                                             "detail", "day", "rep", "child", "episode")}
    buf = io.StringIO()
    current = None
    for i in range(len(table)):
        if cases[i] != current:
            if current is not None:
                buf.write("  </trace>\n")
            current = cases[i]
            buf.write(f'  <trace>\n    <string key="concept:name" value="{current}"/>\n'
                      f'    <int key="rep" value="{cols["rep"][i]}"/>\n'
                      f'    <int key="child" value="{cols["child"][i]}"/>\n'
                      f'    <int key="episode" value="{cols["episode"][i]}"/>\n')
        detail = cols["detail"][i]
        buf.write(f'    <event>\n      <string key="concept:name" value={quoteattr(acts[i])}/>\n'
                  f'      <date key="time:timestamp" value="{stamps[i]}"/>\n'
                  f'      <string key="stage" value={quoteattr(cols["stage"][i])}/>\n'
                  f'      <int key="worker" value="{cols["worker"][i]}"/>\n'
                  f'      <int key="known_tier" value="{cols["known_tier"][i]}"/>\n'
                  f'      <int key="true_tier" value="{cols["true_tier"][i]}"/>\n'
                  + (f'      <string key="detail" value={quoteattr(detail)}/>\n' if detail
                     else "")
                  + f'      <float key="day" value="{float(cols["day"][i])!r}"/>\n    </event>\n')
        if buf.tell() > 1 << 20:
            fh.write(buf.getvalue())
            buf = io.StringIO()
    buf.write("  </trace>\n")
    fh.write(buf.getvalue())


def write_ocel(source: Source, path: Path, calendar: Calendar, which: str) -> int:
    """OCEL 2.0 JSON: events related to their child, episode and social worker."""
    children: set[str] = set()
    episodes: dict[str, str] = {}
    workers: set[str] = set()
    activities: set[str] = set()
    n = 0
    with _text_out(path) as fh:
        fh.write('{"events": [\n')
        first = True
        for rep in source.reps:
            table = event_table(source.replication(rep, which), calendar)
            if table.empty:
                continue
            stamps = _iso(table[TIMESTAMP])
            for i, r in enumerate(table.itertuples(index=False)):
                child = f"r{r.rep}-c{r.child}"
                episode = r._0  # the case column
                children.add(child)
                episodes[episode] = child
                rel = [{"objectId": child, "qualifier": "child"},
                       {"objectId": episode, "qualifier": "episode"}]
                if r.worker >= 0:
                    worker = f"r{r.rep}-w{r.worker}"
                    workers.add(worker)
                    rel.append({"objectId": worker, "qualifier": "social worker"})
                activity = r._1  # the activity column
                activities.add(activity)
                event = {
                    "id": f"r{r.rep}-{n}", "type": activity, "time": stamps[i],
                    "attributes": [
                        {"name": "stage", "value": r.stage},
                        {"name": "known_tier", "value": int(r.known_tier)},
                        {"name": "true_tier", "value": int(r.true_tier)},
                        {"name": "detail", "value": r.detail},
                        {"name": "day", "value": float(r.day)},
                    ],
                    "relationships": rel,
                }
                fh.write(("" if first else ",\n") + json.dumps(event, separators=(",", ":")))
                first = False
                n += 1
        fh.write('\n],\n"objects": [\n')
        objects = [{"id": c, "type": "child", "attributes": []} for c in sorted(children)]
        objects += [{"id": e, "type": "episode", "attributes": [],
                     "relationships": [{"objectId": c, "qualifier": "episode of"}]}
                    for e, c in sorted(episodes.items())]
        objects += [{"id": w, "type": "social worker", "attributes": []}
                    for w in sorted(workers)]
        fh.write(",\n".join(json.dumps(o, separators=(",", ":")) for o in objects))
        attrs = [{"name": "stage", "type": "string"}, {"name": "known_tier", "type": "integer"},
                 {"name": "true_tier", "type": "integer"}, {"name": "detail", "type": "string"},
                 {"name": "day", "type": "float"}]
        head = {
            "eventTypes": [{"name": a, "attributes": attrs} for a in sorted(activities)],
            "objectTypes": [{"name": t, "attributes": []}
                            for t in ("child", "episode", "social worker")],
        }
        fh.write("\n],\n" + json.dumps(head)[1:-1] + "}\n")
    return n


def write_csv(source: Source, path: Path, calendar: Calendar, which: str) -> int:
    """CSV: one row per event, ordered by case then time."""
    n = 0
    with _text_out(path) as fh:
        header = True
        for rep in source.reps:
            table = event_table(source.replication(rep, which), calendar)
            table[TIMESTAMP] = _iso(table[TIMESTAMP])
            table.to_csv(fh, index=False, header=header, lineterminator="\n")
            header = False
            n += len(table)
    return n


@dataclass(frozen=True)
class Format:
    """An export format: the default file name and the writer
    ``write(source, path, calendar, window) -> events written``."""

    name: str
    filename: str
    write: Callable[[Source, Path, Calendar, str], int]
    description: str


#: Export formats by name (``childsim export --format NAME``).
FORMATS: dict[str, Format] = {
    "xes": Format("xes", "eventlog.xes", write_xes,
                  "IEEE XES: one trace per child episode (pm4py.read_xes, ProM, Disco)"),
    "ocel": Format("ocel", "eventlog.ocel.json", write_ocel,
                   "OCEL 2.0 JSON: events related to child, episode and social worker "
                   "(pm4py.read_ocel2_json)"),
    "csv": Format("csv", "eventlog.csv", write_csv,
                  "CSV with case:concept:name, concept:name, time:timestamp and the journey "
                  "columns"),
}


@dataclass(frozen=True)
class Exported:
    """What :func:`export` wrote."""

    path: Path
    format: str
    events: int
    reps: list[int]
    calendar: Calendar
    window: str


def export(out_dir: str | os.PathLike[str], *, format: str = "xes",  # noqa: A002
           path: str | os.PathLike[str] | None = None, reps: Sequence[int] | None = None,
           window: str = "measured", start: str | dt.date | None = None) -> Exported:
    """Write the journey log of a run's result directory as an event log.

    Parameters
    ----------
    out_dir : a result directory of ``childsim run`` (or :func:`sim.run` with ``out``).
    format : a name in :data:`FORMATS`.
    path : the file to write (default: ``out_dir/<format's file name>``; ``.gz`` compresses).
    reps : replications to export (default: every finished one).
    window : ``measured`` (default: the events the KPIs count) or ``all`` (the warm-up too).
    start : the date the measured window starts on (default 2010-04-01).
    """
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
    if window not in WINDOWS:
        raise ExportError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    fmt = FORMATS[format]
    source = open_source(out_dir, reps)
    calendar = Calendar(parse_start(start), source.window.start)
    target = Path(path) if path is not None else Path(out_dir) / fmt.filename
    events = fmt.write(source, target, calendar, window)
    return Exported(target, format, events, source.reps, calendar, window)


__all__ = [
    "ACTIVITY",
    "CASE",
    "DEFAULT_START",
    "EVENT_COLUMNS",
    "FORMATS",
    "TIMESTAMP",
    "WINDOWS",
    "Calendar",
    "ExportError",
    "Exported",
    "Format",
    "case_ids",
    "event_table",
    "export",
    "open_source",
    "parse_start",
]
