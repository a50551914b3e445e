"""The ``childsim`` command line (also ``python -m sim``).

Each subcommand is a small function registered with :func:`subcommand`: it receives the
parsed arguments and returns the exit code; its ``arguments`` function adds its options.
To add one::

    def _my_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument(...)

    @subcommand("mine", help="one line for the command list", arguments=_my_arguments)
    def _cmd_mine(args: argparse.Namespace) -> int:
        ...
        return 0

Exit codes: 0 success, 2 bad input (scenario, options), 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from sim import __version__

#: Where the calibration targets live inside the package.
CALIBRATION_FILE = "data/calibration/england-2010-11.csv"

#: Exit codes.
EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


# -- subcommand registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None] | None
    run: Callable[[argparse.Namespace], int]


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str,
    *,
    help: str,
    description: str | None = None,
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register the decorated function as subcommand ``name``."""

    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        if name in SUBCOMMANDS:
            raise ValueError(f"subcommand {name!r} registered twice")
        SUBCOMMANDS[name] = Subcommand(name, help, description or help, arguments, fn)
        return fn

    return register


class _UsageError(Exception):
    """Bad command-line input found after parsing: reported as ``error: ...``, exit 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _years(positive: bool) -> Callable[[str], float]:
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


def _verbose_argument(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument(
        "-v", "--verbose", action="store_true", default=default,
        help="log progress messages of the simulator (level INFO) to standard error",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="childsim",
        description=(
            "The child's journey simulator: a discrete-event model of one English local "
            "authority's child protection system."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _verbose_argument(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in SUBCOMMANDS.values():
        p = sub.add_parser(
            cmd.name, help=cmd.help, description=cmd.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if cmd.arguments is not None:
            cmd.arguments(p)
        _verbose_argument(p, argparse.SUPPRESS)
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


def _error(message: object) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


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
        return int(args._run(args))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _UsageError as exc:
        return _error(exc)
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


# -- calibration targets and table formatting ------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A calibration target band for one KPI (per average LA)."""

    kpi: str
    unit: str
    value: float
    low: float
    high: float
    confidence: str


def calibration_targets() -> dict[str, Target]:
    """The calibration targets shipped with the package, by KPI name."""
    text = resources.files("sim").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    targets: dict[str, Target] = {}
    for row in csv.DictReader(io.StringIO(text)):
        try:
            targets[row["kpi"]] = Target(
                row["kpi"], row["unit"], float(row["per_la_value"]), float(row["low"]),
                float(row["high"]), row.get("confidence", "") or "",
            )
        except (KeyError, ValueError):
            continue
    return targets


def value_kind(unit: str) -> str:
    """``"share"``, ``"rate"`` or ``"count"``, from a KPI's unit text."""
    u = unit.strip().lower()
    if u in ("1", "share") or "share" in u or "proportion" in u:
        return "share"
    if "per year" in u or "per 10000" in u or "per 10,000" in u:
        return "rate"
    return "count"


def _sig3(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def format_value(x: float | None, unit: str) -> str:
    """A number for the table: 3 significant figures for rates and shares (no exponent
    notation: large values are rounded to whole numbers), 1 decimal for counts."""
    if x is None or not math.isfinite(x):
        return "-"
    if value_kind(unit) == "count":
        return f"{x:.1f}"
    return _sig3(x)


def _plain(x: float) -> str:
    """A published target as written: whole numbers without decimals, else up to 6 figures."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.6g}"


def kpi_table(summary: Any, units: Mapping[str, str], targets: Mapping[str, Target]) -> str:
    """Fixed-width table of KPI means and 95% CIs, with calibration bands where known.

    ``summary`` is a DataFrame indexed by KPI with columns mean, ci_low and ci_high. The
    unit comes last so that it can be shown in full without breaking the alignment.
    """
    header = ("KPI", "mean", "95% CI", "target band", "in band", "unit")
    rows: list[tuple[str, ...]] = []
    for name, row in summary.iterrows():
        name = str(name)
        target = targets.get(name)
        unit = units.get(name) or (target.unit if target else "")
        mean, lo, hi = (float(row[c]) for c in ("mean", "ci_low", "ci_high"))
        ci = "-" if not (math.isfinite(lo) and math.isfinite(hi)) else (
            f"{format_value(lo, unit)} to {format_value(hi, unit)}")
        if target is None:
            band, mark = "", ""
        else:
            band = f"{_plain(target.low)} to {_plain(target.high)}"
            if target.confidence:
                band += f" ({target.confidence})"
            if not math.isfinite(mean):
                mark = "-"
            else:
                mark = "yes" if target.low <= mean <= target.high else "NO"
        rows.append((name, format_value(mean, unit), ci, band, mark, unit))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths[:-1]] + ["-" * len(header[-1])]
    out = [line(header), line(rule)]
    out.extend(line(r) for r in rows)
    return "\n".join(out)


# -- progress ------------------------------------------------------------------------------------


class _Progress:
    """A one-line replication counter on a terminal's standard error."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream

    def __call__(self, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label}: {done}/{total} replications{end}")
        self.stream.flush()


def _show_progress(quiet: bool) -> bool:
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- childsim run --------------------------------------------------------------------------------


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", default=["baseline"],
        help="scenario name (a file in scenarios/) or path to a scenario TOML file; "
             "several may be given (default: baseline)",
    )
    p.add_argument(
        "--years", type=_years(True), default=5.0, metavar="Y",
        help="measured simulation time per replication, in years of 365.25 days, counted "
             "after the warm-up (default: 5)",
    )
    p.add_argument(
        "--warmup", type=_years(False), default=2.0, metavar="W",
        help="warm-up before measurement starts, in years of 365.25 days; events in it are "
             "not counted in KPIs (default: 2)",
    )
    p.add_argument(
        "--reps", type=_positive_int, default=10, metavar="R",
        help="number of independent replications (a count; default: 10)",
    )
    p.add_argument(
        "--seed", type=_int, default=1, metavar="S",
        help="base random seed (an integer); replication r draws from numpy "
             "SeedSequence(S, spawn_key=(r, stream)) (default: 1)",
    )
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="result directory (default: results/<scenario name>/; with several scenarios, "
             "DIR/<scenario name>/ for each)",
    )
    p.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="number of worker processes running replications in parallel (a count; "
             "default: all cores); results do not depend on it",
    )
    p.add_argument(
        "--resume", action="store_true",
        help="keep replications already finished in the result directory and run only the "
             "missing ones (refused if the directory holds another scenario, seed, years or "
             "warm-up)",
    )
    p.add_argument(
        "--quiet", action="store_true",
        help="print no progress line while replications run",
    )


_RUN_EPILOG = """\
Each replication simulates W warm-up years then Y measured years (a year is 365.25
calendar days; statutory timescales inside the model are in working days). KPIs are
computed from the measured years only and reported as means over replications with
95% confidence intervals, beside the England 2010-11 calibration bands where they exist.
"""


def _out_dirs(names: Sequence[str], out: Path | None) -> list[Path]:
    if out is None:
        return [Path("results") / n for n in names]
    if len(names) == 1:
        return [out]
    return [out / n for n in names]


def _fmt_years(y: float) -> str:
    return f"{y:g}"


@subcommand(
    "run",
    help="run replications of one or more scenarios and print their KPIs",
    description="Run replications of one or more scenarios, write the records and print\n"
                "KPI means with 95% confidence intervals.\n\n" + _RUN_EPILOG,
    arguments=_run_arguments,
)
def _cmd_run(args: argparse.Namespace) -> int:
    from sim.experiment import ExperimentError, run_experiment
    from sim.scenario import ScenarioError, load_scenario

    try:
        scenarios = [load_scenario(s) for s in args.scenarios]
    except (ScenarioError, FileNotFoundError) as exc:
        return _error(exc)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return _error(f"several scenarios are named {', '.join(dupes)}; run them separately "
                      "with different --out directories")
    try:
        from sim.kpis import KPIS

        units = {name: k.unit for name, k in KPIS.items()}
    except ImportError:
        units = {}
    targets = calibration_targets()
    command = ["childsim", *args.argv]
    progress_on = _show_progress(args.quiet)
    out_dir: Path | None = None
    for scenario, out_dir in zip(scenarios, _out_dirs(names, args.out), strict=True):
        progress = _Progress(scenario.name, sys.stderr) if progress_on else None
        try:
            result = run_experiment(
                scenario, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out_dir, workers=args.workers,
                resume=args.resume, progress=progress, command=command,
            )
        except ExperimentError as exc:
            return _error(exc)
        except KeyboardInterrupt:
            sys.stderr.write(
                f"\ninterrupted: finished replications are kept in {out_dir}; run the same "
                "command with --resume to continue\n"
            )
            return EXIT_INTERRUPTED
        print(
            f"\nScenario {scenario.name}: {scenario.description}\n"
            f"{args.reps} replications of {_fmt_years(args.years)} measured years after "
            f"{_fmt_years(args.warmup)} warm-up years, seed {args.seed}\n"
        )
        print(kpi_table(result.summary, units, targets))
        print(
            "\ntarget band: England 2010-11 per-LA calibration band (source confidence); "
            "in band: whether the mean lies in it"
        )
        print(f"results written to {out_dir}{os.sep}")
    return EXIT_OK


# -- childsim scenarios ----------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@subcommand("scenarios", help="list the scenarios that `childsim run` can find by name")
def _cmd_scenarios(args: argparse.Namespace) -> int:
    from sim.scenario import list_scenarios

    rows = list_scenarios()
    if not rows:
        print("no scenarios found")
        return EXIT_OK
    width = max(len(name) for name, _, _ in rows)
    for name, description, path in rows:
        print(f"{name.ljust(width)}  {description}")
        print(f"{'':{width}}  ({_display(Path(path))})")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
