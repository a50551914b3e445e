"""The ``childsim`` command line (also ``python -m sim``).

One module per command, each defining ``COMMAND`` (:class:`sim.cli.options.Command`):
its name, help, the function adding its options and the function running it, which
returns the exit code. The options and helpers they share are in
:mod:`sim.cli.options`, the terminal tables in :mod:`sim.cli.tables`. To add a command,
write its module and list it in :data:`COMMANDS`.

Exit codes: 0 success, 2 bad input (scenario, options), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from sim import __version__
from sim.cli import (
    app,
    calibrate,
    compare,
    export,
    loops,
    params,
    report,
    run,
    scenarios,
    sensitivity,
    validate,
    warmup,
)
from sim.cli.options import (
    EXIT_INTERRUPTED,
    Command,
    UsageError,
    error,
    verbose_argument,
)
from sim.cli.tables import calibration_targets, format_value, kpi_table

#: Every command, in the order ``childsim --help`` lists them.
COMMANDS: tuple[Command, ...] = tuple(m.COMMAND for m in (
    run, compare, warmup, sensitivity, scenarios, params, loops, validate, calibrate, report,
    export, app))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="childsim",
        description=(
            "The child's journey simulator: a discrete-event model of one English local "
            "authority's child protection system."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbose_argument(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(
            cmd.name, help=cmd.help, description=cmd.description or cmd.help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if cmd.arguments is not None:
            cmd.arguments(p)
        verbose_argument(p, argparse.SUPPRESS)
        p.set_defaults(_run=cmd.run)
    return parser


def _configure_logging(verbose: bool) -> None:
    logger = logging.getLogger("sim")
    if verbose:
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers stopped, the directory's lock released."""


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a command runs, SIGTERM stops it as Ctrl-C does (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``childsim`` command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, or a usage error already reported
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    args.argv = args_list
    _configure_logging(bool(getattr(args, "verbose", False)))
    try:
        with _terminate_as_interrupt():
            return int(args._run(args))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        return error(exc)
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


__all__ = ["COMMANDS", "build_parser", "calibration_targets", "format_value", "kpi_table",
           "main"]
