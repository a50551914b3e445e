"""``childsim export DIR --format xes|ocel|csv``: the journey log as an event log."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import EXIT_OK, Command, error, non_negative_int, path_arg


def _export_arguments(p: argparse.ArgumentParser) -> None:
    from sim.outputs.eventlog import DEFAULT_START, FORMATS

    p.add_argument("directory", type=path_arg, metavar="DIR",
                   help="result directory of a run (childsim run ... --out DIR)")
    p.add_argument("--format", choices=tuple(FORMATS), default="xes",
                   help="xes: one trace per child episode; ocel: object-centric (child, "
                        "episode, social worker); csv: one row per event (default: xes)")
    p.add_argument("--out", type=path_arg, default=None, metavar="FILE",
                   help="file to write (default: DIR/" + ", DIR/".join(
                       f.filename for f in FORMATS.values()) + "); a name ending in .gz is "
                       "compressed")
    p.add_argument("--reps", type=non_negative_int, nargs="+", default=None, metavar="R",
                   help="replications to export (default: every finished one)")
    p.add_argument("--window", choices=("measured", "all"), default="measured",
                   help="measured: the events of the measured years, which the KPIs count "
                        "(default); all: the warm-up too")
    p.add_argument("--start", default=DEFAULT_START.isoformat(), metavar="YYYY-MM-DD",
                   help="calendar date on which the measured window starts; day d of the "
                        "run is dated START + (d - warm-up days) (default: "
                        f"{DEFAULT_START.isoformat()}, the start of the 2010-11 year the "
                        "baseline is calibrated to)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the file if it exists")


def run(args: argparse.Namespace) -> int:
    from sim.outputs import files as output
    from sim.outputs.eventlog import FORMATS, ExportError, export, parse_start

    try:
        parse_start(args.start)
    except ExportError as exc:
        return error(exc)
    target = args.out if args.out is not None else \
        Path(args.directory) / FORMATS[args.format].filename
    if target.exists() and not args.overwrite:
        return error(f"{target} exists already: use --overwrite to replace it, or --out FILE")
    inside = target.resolve().parent == Path(args.directory).resolve()
    try:
        if inside:
            with output.DirectoryLock(args.directory):
                done = export(args.directory, format=args.format, path=target,
                              reps=args.reps, window=args.window, start=args.start)
        else:
            done = export(args.directory, format=args.format, path=target, reps=args.reps,
                          window=args.window, start=args.start)
    except ExportError as exc:
        return error(exc)
    except output.DirectoryBusyError as exc:
        return error(f"{args.directory} is in use: {exc.strerror}")
    except FileNotFoundError as exc:
        return error(f"{exc.filename or args.directory}: no such file or directory")
    reps = len(done.reps)
    print(f"{done.events:,} events of {reps} replication{'s' if reps != 1 else ''} "
          f"({'measured window' if done.window == 'measured' else 'warm-up included'}) "
          f"written to {done.path} ({done.format})")
    print(f"case: child and episode (r<rep>-c<child>-e<episode>); activity: the journey "
          f"event; timestamp: {done.calendar.describe()}")
    return EXIT_OK


COMMAND = Command(
    "export",
    help="write a run's journey log as an event log for process mining (XES, OCEL, CSV)",
    description="Write the journey log of a run's result directory as a process-mining event\n"
                "log: case = a child's episode, activity = the journey event, timestamp = a\n"
                "date on a calendar whose measured window starts on --start. pm4py reads\n"
                "the files (pip install \"childsim[export]\").",
    arguments=_export_arguments, run=run)
