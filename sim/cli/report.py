"""``childsim report``: the self-contained HTML report of result directories."""

from __future__ import annotations

import argparse

from sim.cli.options import EXIT_OK, Command, error, file_error, path_arg


def arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``childsim report``."""
    p.add_argument("dirs", nargs="+", type=path_arg, metavar="DIR",
                   help="result directories (of `childsim run`), comparison directories "
                        "(of `childsim compare`) or sensitivity directories; the first "
                        "scenario is the base")
    p.add_argument("--out", type=path_arg, default=None, metavar="PATH",
                   help="HTML file to write (default: report.html in the first DIR)")


def run(args: argparse.Namespace) -> int:
    """Run ``childsim report``: write the report and print its path; 2 on bad input."""
    from sim.outputs.report import ReportError, build_report

    try:
        path = build_report(args.dirs, args.out)
    except (ReportError, FileNotFoundError) as exc:
        return error(exc)
    except OSError as exc:
        return error(f"cannot write the report: {file_error(exc) or exc}")
    print(f"report written to {path}")
    return EXIT_OK


COMMAND = Command("report", help="write a self-contained HTML report of result directories",
                  arguments=arguments, run=run)
