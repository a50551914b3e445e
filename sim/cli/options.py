"""What the ``childsim`` commands share: exit codes, argument types and options,
the backend, progress bars and scenario loading.

Every command module (:mod:`sim.cli.run`, :mod:`sim.cli.compare`, ...) imports from here
and nothing from the others, so the command line has no import cycle.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.experiments.progress import PROGRESS_DELAY, ProgressBar

#: Exit codes: 0 success, 2 bad input (scenario, options), 130 interrupted.
EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


@dataclass(frozen=True)
class Command:
    """One subcommand of ``childsim``: its name, one line of help, a description (shown
    by ``childsim NAME --help``), a function adding its options and the function running
    it, which returns the exit code."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None


class UsageError(Exception):
    """Bad command-line input found after parsing: reported as ``error: ...``, exit 2."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def years_type(positive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of years, got {text!r}") from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            need = "positive" if positive else "zero or more"
            raise argparse.ArgumentTypeError(f"must be {need} (years), got {text}")
        return value

    return parse


def verbose_argument(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "-v", "--verbose", action="store_true", default=default,
        help="log progress messages of the simulator (level INFO) to standard error",
    )


def error(message: object) -> int:
    """Print ``error: MESSAGE`` on standard error; returns the usage exit code."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def show_progress(quiet: bool) -> bool:
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress_bar(label: str, args: argparse.Namespace, unit: str = "rep") -> ProgressBar:
    return ProgressBar(label, sys.stderr, enabled=show_progress(args.quiet), unit=unit,
                     delay=PROGRESS_DELAY)


def reps_type(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of replications or 'auto', got {text!r}") from None


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value < 1):
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def length_arguments(p: argparse.ArgumentParser, *, years: float = 5.0,
                      warmup: bool = True) -> None:
    p.add_argument(
        "--years", type=years_type(True), default=years, metavar="Y",
        help="measured simulation time per replication, in years of 365.25 days, counted "
             f"after the warm-up (default: {years:g})" if warmup else
             f"simulated time per replication, in years of 365.25 days, from the start of "
             f"the run with no warm-up (default: {years:g})",
    )
    if warmup:
        p.add_argument(
            "--warmup", type=years_type(False), default=DEFAULT_WARMUP_YEARS, metavar="W",
            help="warm-up before measurement starts, in years of 365.25 days; events in it "
                 "are not counted in KPIs; the baseline has settled by then (default: "
                 f"{DEFAULT_WARMUP_YEARS:g})",
        )


def reform_arguments(p: argparse.ArgumentParser) -> None:
    """``--reform-start`` and ``--log-warmup``."""
    p.add_argument(
        "--reform-start", choices=("window", "run"), default="window",
        help="when a scenario's changes from the baseline (the root of its chain) begin: "
             "'window' (default), at the start of the measured window, on the settled "
             "baseline (the years after a reform is introduced); 'run', from the start of "
             "the run (its long-run state). Recorded in the manifest",
    )
    p.add_argument(
        "--log-warmup", action="store_true",
        help="keep the warm-up in the journey logs (default: the measured window only, "
             "with the cases open at its start, marked at_start; KPIs are the same)",
    )


def seed_type(text: str) -> int:
    """A base seed: a whole number, 0 or more (numpy's SeedSequence takes no negative)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of 0 or more, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of 0 or more, got {value}")
    return value


def path_arg(text: str) -> Path:
    """A path given on the command line (``--out``, result directories)."""
    if not text or "\x00" in text:
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    return Path(text)


def seed_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=seed_type, default=1, metavar="S",
        help="base random seed (a whole number, 0 or more); replication r draws from numpy "
             "SeedSequence(S, spawn_key=(r, stream)) (default: 1)",
    )


def auto_reps_arguments(p: argparse.ArgumentParser, *, what: str = "the KPI") -> None:
    p.add_argument(
        "--precision", type=fraction, default=0.05, metavar="P",
        help=f"with --reps auto: wanted relative half-width of the 95%% CI of {what} "
             "(a fraction of its mean; default: 0.05)",
    )
    p.add_argument(
        "--kpi", default=None, metavar="NAME",
        help="with --reps auto: the KPI whose precision decides (a name from sim/outputs/kpis.py)",
    )
    p.add_argument(
        "--max-reps", type=positive_int, default=50, metavar="N",
        help="with --reps auto: the most replications to run (a count; default: 50)",
    )
    p.add_argument(
        "--look-ahead", type=non_negative_int, default=5, metavar="K",
        help="with --reps auto: further replications over which the precision must hold "
             "before the rule stops (Hoad, Robinson and Davies 2010; default: 5)",
    )


def execution_arguments(p: argparse.ArgumentParser, *, resume_what: str) -> None:
    p.add_argument(
        "--workers", type=positive_int, default=None, metavar="N",
        help="number of worker processes running replications in parallel (a count; "
             "default: all cores); results do not depend on it",
    )
    p.add_argument(
        "--backend", choices=("local", "dask"), default=None,
        help="where replications run: local processes (default), or a Dask distributed "
             "cluster (with --scheduler, else a local Dask cluster of --workers processes); "
             "results do not depend on it",
    )
    p.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="address of a Dask scheduler (e.g. tcp://host:8786); implies --backend dask",
    )
    p.add_argument(
        "--resume", action="store_true",
        help=f"keep {resume_what} already finished in the result directory and run only the "
             "missing ones (refused if the directory holds results of other scenario "
             "content, seed, years or warm-up); half-written ones are removed",
    )
    p.add_argument(
        "--overwrite", action="store_true",
        help="replace the results of an earlier run in the result directory: only the files "
             "its manifest.json lists as childsim's are removed, nothing else. Without "
             "--resume or --overwrite a directory holding results is refused",
    )
    p.add_argument(
        "--quiet", action="store_true",
        help="show no progress bar (none is shown either when standard error is not a "
             "terminal, or for runs shorter than a second)",
    )


@contextlib.contextmanager
def open_backend(args: argparse.Namespace) -> Iterator[Any]:
    """The backend the options ask for, closed (a Dask cluster stopped) afterwards."""
    from sim.experiments.backends import make_backend

    name = backend_name(args)
    try:
        backend = make_backend(name, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise UsageError(exc) from None
    try:
        yield backend
    finally:
        backend.close()


def kpi_units() -> dict[str, str]:
    try:
        from sim.outputs.kpis import KPIS
    except ImportError:
        return {}
    return {name: k.unit for name, k in KPIS.items()}


def check_kpis(names: Sequence[str]) -> None:
    units = kpi_units()
    unknown = [n for n in names if units and n not in units]
    if unknown:
        raise UsageError(f"unknown KPI {', '.join(unknown)}; known KPIs: {', '.join(units)}")


def load_scenarios(names: Sequence[str]) -> list[Any]:
    from sim.scenario import ScenarioError, load_scenario

    try:
        return [load_scenario(s) for s in names]
    except (ScenarioError, FileNotFoundError) as exc:
        raise UsageError(exc) from None


def auto_kpi(args: argparse.Namespace) -> None:
    if args.reps == "auto":
        if args.kpi is None:
            raise UsageError("--reps auto needs --kpi NAME: the KPI whose precision decides")
        check_kpis([args.kpi])
    elif args.kpi is not None:
        raise UsageError("--kpi is used only with --reps auto")


def interrupted(out_dir: Path) -> int:
    sys.stderr.write(
        f"\ninterrupted: finished replications are kept in {out_dir}; run the same "
        "command with --resume to continue\n"
    )
    return EXIT_INTERRUPTED


BACKEND_ERRORS = (OSError, TimeoutError)


def backend_name(args: argparse.Namespace) -> str:
    return args.backend or ("dask" if args.scheduler else "local")


def file_error(exc: OSError) -> str | None:
    """``PATH: reason`` for an error about a file (None when it names no file)."""
    if exc.filename is None:
        return None
    path = os.fsdecode(exc.filename) if isinstance(exc.filename, bytes | str) \
        else str(exc.filename)
    if exc.filename2 is not None:
        path += f" -> {exc.filename2}"
    return f"{path}: {exc.strerror or exc}"


def backend_failed(args: argparse.Namespace, exc: BaseException) -> int:
    """Report an error of the run: a file that could not be written (naming the path and
    why), else a failure of the backend."""
    if isinstance(exc, OSError) and (text := file_error(exc)) is not None:
        return error(f"cannot write the results: {text}")
    where = f" at {args.scheduler}" if args.scheduler else ""
    return error(f"the {backend_name(args)} backend{where} failed: {exc}")


def print_notes(result: Any) -> None:
    """Print what a run has to say about the directory it used (``ExperimentResult.notes``)."""
    for note in getattr(result, "notes", None) or ():
        print(f"note: {note}", file=sys.stderr)


def fmt_years(y: float) -> str:
    return f"{y:g}"


def out_dir_or(args: argparse.Namespace, default: str) -> Path:
    """The ``--out`` directory, or ``results/DEFAULT``."""
    return args.out if args.out is not None else Path("results") / default
