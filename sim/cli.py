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
import contextlib
import csv
import io
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sim import __version__
from sim.clock import DEFAULT_WARMUP_YEARS
from sim.numbers import sig3, value_kind
from sim.progress import PROGRESS_DELAY, ProgressBar

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


def format_value(x: float | None, unit: str) -> str:
    """A number for the table: 3 significant figures for rates and shares (no exponent
    notation: large values are rounded to whole numbers), 1 decimal for counts."""
    if x is None or not math.isfinite(x):
        return "-"
    if value_kind(unit) == "count":
        return f"{x:.1f}"
    return sig3(x)


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

_Progress = ProgressBar


def _show_progress(quiet: bool) -> bool:
    if quiet:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress(label: str, args: argparse.Namespace, unit: str = "rep") -> _Progress:
    return _Progress(label, sys.stderr, enabled=_show_progress(args.quiet), unit=unit,
                     delay=PROGRESS_DELAY)


# -- shared options --------------------------------------------------------------------------------


def _reps(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of replications or 'auto', got {text!r}") from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value < 1):
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _length_arguments(p: argparse.ArgumentParser, *, years: float = 5.0,
                      warmup: bool = True) -> None:
    p.add_argument(
        "--years", type=_years(True), default=years, metavar="Y",
        help="measured simulation time per replication, in years of 365.25 days, counted "
             f"after the warm-up (default: {years:g})" if warmup else
             f"simulated time per replication, in years of 365.25 days, from the start of "
             f"the run with no warm-up (default: {years:g})",
    )
    if warmup:
        p.add_argument(
            "--warmup", type=_years(False), default=DEFAULT_WARMUP_YEARS, metavar="W",
            help="warm-up before measurement starts, in years of 365.25 days; events in it "
                 "are not counted in KPIs; the baseline has settled by then (default: "
                 f"{DEFAULT_WARMUP_YEARS:g})",
        )


def _seed_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=_int, default=1, metavar="S",
        help="base random seed (an integer); replication r draws from numpy "
             "SeedSequence(S, spawn_key=(r, stream)) (default: 1)",
    )


def _auto_reps_arguments(p: argparse.ArgumentParser, *, what: str = "the KPI") -> None:
    p.add_argument(
        "--precision", type=_fraction, default=0.05, metavar="P",
        help=f"with --reps auto: wanted relative half-width of the 95%% CI of {what} "
             "(a fraction of its mean; default: 0.05)",
    )
    p.add_argument(
        "--kpi", default=None, metavar="NAME",
        help="with --reps auto: the KPI whose precision decides (a name from sim/kpis.py)",
    )
    p.add_argument(
        "--max-reps", type=_positive_int, default=50, metavar="N",
        help="with --reps auto: the most replications to run (a count; default: 50)",
    )
    p.add_argument(
        "--look-ahead", type=_non_negative_int, default=5, metavar="K",
        help="with --reps auto: further replications over which the precision must hold "
             "before the rule stops (Hoad, Robinson and Davies 2010; default: 5)",
    )


def _execution_arguments(p: argparse.ArgumentParser, *, resume_what: str) -> None:
    p.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
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
             "content, seed, years or warm-up)",
    )
    p.add_argument(
        "--quiet", action="store_true",
        help="show no progress bar (none is shown either when standard error is not a "
             "terminal, or for runs shorter than a second)",
    )


@contextlib.contextmanager
def _backend(args: argparse.Namespace) -> Iterator[Any]:
    """The backend the options ask for, closed (a Dask cluster stopped) afterwards."""
    from sim.backends import make_backend

    name = _backend_name(args)
    try:
        backend = make_backend(name, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise _UsageError(exc) from None
    try:
        yield backend
    finally:
        backend.close()


def _kpi_units() -> dict[str, str]:
    try:
        from sim.kpis import KPIS
    except ImportError:
        return {}
    return {name: k.unit for name, k in KPIS.items()}


def _check_kpis(names: Sequence[str]) -> None:
    units = _kpi_units()
    unknown = [n for n in names if units and n not in units]
    if unknown:
        raise _UsageError(f"unknown KPI {', '.join(unknown)}; known KPIs: {', '.join(units)}")


def _load_scenarios(names: Sequence[str]) -> list[Any]:
    from sim.scenario import ScenarioError, load_scenario

    try:
        return [load_scenario(s) for s in names]
    except (ScenarioError, FileNotFoundError) as exc:
        raise _UsageError(exc) from None


def _auto_kpi(args: argparse.Namespace) -> None:
    if args.reps == "auto":
        if args.kpi is None:
            raise _UsageError("--reps auto needs --kpi NAME: the KPI whose precision decides")
        _check_kpis([args.kpi])
    elif args.kpi is not None:
        raise _UsageError("--kpi is used only with --reps auto")


def _interrupted(out_dir: Path) -> int:
    sys.stderr.write(
        f"\ninterrupted: finished replications are kept in {out_dir}; run the same "
        "command with --resume to continue\n"
    )
    return EXIT_INTERRUPTED


_BACKEND_ERRORS = (OSError, TimeoutError)


def _backend_name(args: argparse.Namespace) -> str:
    return args.backend or ("dask" if args.scheduler else "local")


def _backend_failed(args: argparse.Namespace, exc: BaseException) -> int:
    where = f" at {args.scheduler}" if args.scheduler else ""
    return _error(f"the {_backend_name(args)} backend{where} failed: {exc}")


# -- childsim run --------------------------------------------------------------------------------


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", default=["baseline"],
        help="scenario name (a file in scenarios/) or path to a scenario TOML file; "
             "several may be given (default: baseline)",
    )
    _length_arguments(p)
    p.add_argument(
        "--reps", type=_reps, default=10, metavar="R",
        help="number of independent replications (a count; default: 10), or 'auto': add "
             "replications until the 95%% CI of --kpi is within --precision of its mean",
    )
    _auto_reps_arguments(p)
    _seed_argument(p)
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="result directory (default: results/<scenario name>/; with several scenarios, "
             "DIR/<scenario name>/ for each)",
    )
    _execution_arguments(p, resume_what="replications")


_RUN_EPILOG = """\
Each replication simulates W warm-up years then Y measured years (a year is 365.25
calendar days; statutory timescales inside the model are in working days). KPIs are
computed from the measured years only and reported as means over replications with
95% confidence intervals, beside the England 2010-11 calibration bands where they exist.

With --reps auto, replications are added (in batches of the worker count) until the
relative half-width of the 95% CI of --kpi is at most --precision and stays so for
--look-ahead more replications, or --max-reps is reached (the confidence interval
method of Hoad, Robinson and Davies 2010).
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
    from sim.replications import describe, run_to_precision

    scenarios = _load_scenarios(args.scenarios)
    _auto_kpi(args)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return _error(f"several scenarios are named {', '.join(dupes)}; run them separately "
                      "with different --out directories")
    units = _kpi_units()
    targets = calibration_targets()
    command = ["childsim", *args.argv]
    with _backend(args) as backend:
        for scenario, out_dir in zip(scenarios, _out_dirs(names, args.out), strict=True):
            decision = None
            try:
                with _progress(scenario.name, args) as progress:
                    common = dict(seed=args.seed, years=args.years, warmup=args.warmup,
                                  out_dir=out_dir, backend=backend, resume=args.resume,
                                  progress=progress, command=command)
                    if args.reps == "auto":
                        result, decision = run_to_precision(
                            scenario, kpi=args.kpi, precision=args.precision,
                            max_reps=args.max_reps, look_ahead=args.look_ahead, **common)
                    else:
                        result = run_experiment(scenario, reps=args.reps, **common)
            except ExperimentError as exc:
                return _error(exc)
            except _BACKEND_ERRORS as exc:
                return _backend_failed(args, exc)
            except KeyboardInterrupt:
                return _interrupted(out_dir)
            reps = len(result.per_rep)
            print(
                f"\nScenario {scenario.name}: {scenario.description}\n"
                f"{reps} replications of {_fmt_years(args.years)} measured years after "
                f"{_fmt_years(args.warmup)} warm-up years, seed {args.seed}\n"
            )
            if decision is not None:
                print(describe(decision, args.kpi) + "\n")
            print(kpi_table(result.summary, units, targets))
            print(
                "\ntarget band: England 2010-11 per-LA calibration band (source confidence); "
                "in band: whether the mean lies in it"
            )
            print(f"results written to {out_dir}{os.sep}")
    return EXIT_OK


# -- childsim compare ------------------------------------------------------------------------------


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", metavar="BASE",
                   help="the scenario the others are compared with (name or TOML path)")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenarios to compare with BASE (names or TOML paths)")
    _length_arguments(p)
    p.add_argument(
        "--reps", type=_reps, default=10, metavar="R",
        help="replications of every scenario (a count; default: 10), or 'auto': as many "
             "as BASE needs for --kpi to reach --precision",
    )
    _auto_reps_arguments(p, what="BASE's KPI")
    _seed_argument(p)
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="comparison directory: DIR/<scenario>/ for each scenario's results, and "
             "DIR/comparison.csv and DIR/comparison.json (default: results/compare-<BASE>/)",
    )
    _execution_arguments(p, resume_what="replications of every scenario")


_COMPARE_EPILOG = """\
Every scenario runs with the same base seed and replication numbers, so replication k
of each draws the same random numbers (common random numbers). For each KPI the table
gives every scenario's mean with its 95% CI, and each scenario's difference from BASE:
the mean of the paired differences (replication by replication) with its 95% t interval.
A '*' marks a difference whose interval excludes zero.
"""


def comparison_table(table: Any, units: Mapping[str, str], base: str) -> str:
    """Fixed-width text of a comparison table (:data:`sim.comparison.COLUMNS`)."""
    header = ("KPI", "scenario", "mean", "95% CI", f"diff from {base}", "95% CI of diff", "",
              "unit")
    rows: list[tuple[str, ...]] = []
    last = None
    for _, r in table.iterrows():
        kpi = str(r["kpi"])
        unit = units.get(kpi, "")

        def ci(lo: float, hi: float, unit: str = unit) -> str:
            if not (math.isfinite(lo) and math.isfinite(hi)):
                return "-"
            return f"{format_value(lo, unit)} to {format_value(hi, unit)}"

        if r["is_base"]:
            diff = diff_ci = mark = ""
        else:
            d = float(r["diff"])
            diff = "-" if not math.isfinite(d) else (
                ("+" if d > 0 else "") + format_value(d, unit))
            diff_ci = ci(float(r["diff_ci_low"]), float(r["diff_ci_high"]))
            mark = "*" if bool(r["significant"]) else ""
        rows.append((kpi if kpi != last else "", str(r["scenario"]),
                     format_value(float(r["mean"]), unit),
                     ci(float(r["ci_low"]), float(r["ci_high"])), diff, diff_ci, mark,
                     unit if kpi != last else ""))
        last = kpi
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = ["-" * w for w in widths[:-1]] + ["-" * len(header[-1])]
    return "\n".join([line(header), line(rule), *(line(r) for r in rows)])


@subcommand(
    "compare",
    help="compare scenarios with a base over common random numbers",
    description="Run BASE and each SCENARIO with common random numbers and report, per KPI,\n"
                "each one's mean and 95% CI and its paired difference from BASE.\n\n"
                + _COMPARE_EPILOG,
    arguments=_compare_arguments,
)
def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.comparison import COMPARISON_CSV, COMPARISON_JSON, run_comparison
    from sim.experiment import ExperimentError
    from sim.replications import describe

    base, *others = _load_scenarios([args.base, *args.scenarios])
    _auto_kpi(args)
    out_dir = args.out if args.out is not None else Path("results") / f"compare-{base.name}"
    command = ["childsim", *args.argv]
    bars: list[_Progress] = []

    def progress(name: str) -> _Progress:
        bars.append(_progress(name, args))
        return bars[-1]

    try:
        with _backend(args) as backend:
            comparison = run_comparison(
                base, others, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out_dir, resume=args.resume, backend=backend,
                progress=progress, command=command, kpi=args.kpi, precision=args.precision,
                max_reps=args.max_reps, look_ahead=args.look_ahead,
            )
    except ExperimentError as exc:
        return _error(exc)
    except _BACKEND_ERRORS as exc:
        return _backend_failed(args, exc)
    except KeyboardInterrupt:
        return _interrupted(out_dir)
    finally:
        for bar in bars:
            bar.close()
    names = ", ".join(comparison.scenarios)
    print(
        f"\nComparison of {names} with {base.name}, common random numbers: "
        f"{comparison.reps} replications each of {_fmt_years(args.years)} measured years "
        f"after {_fmt_years(args.warmup)} warm-up years, seed {args.seed}\n"
    )
    if comparison.decision is not None:
        print(describe(comparison.decision, args.kpi) + f" (of {base.name})\n")
    print(comparison_table(comparison.table, _kpi_units(), base.name))
    n_sig = int(comparison.table["significant"].sum())
    print(f"\n* the 95% CI of the paired difference excludes zero ({n_sig} of "
          f"{int((~comparison.table['is_base']).sum())} differences)")
    print(f"results written to {out_dir}{os.sep} ({COMPARISON_CSV}, {COMPARISON_JSON}, and "
          "one directory per scenario)")
    return EXIT_OK


# -- childsim warmup -------------------------------------------------------------------------------


def _warmup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--stock", required=True, metavar="NAME",
                   help="monthly stock to examine (a column of stocks.parquet, e.g. cin_open, "
                        "stage_cp_plan, caseload_mean)")
    _length_arguments(p, years=30.0, warmup=False)
    p.add_argument("--reps", type=_positive_int, default=5, metavar="R",
                   help="replications whose monthly stock is averaged (a count; default: 5)")
    _seed_argument(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result directory, for the records, warmup.json, warmup.csv and the "
                        "chart warmup-<stock>.png (default: results/warmup-<scenario>/)")
    _execution_arguments(p, resume_what="replications")


_WARMUP_EPILOG = """\
Runs the scenario with no warm-up, averages the monthly stock over the replications and
applies MSER-5 (White 1997): the series is averaged in batches of 5 months, and the
suggested warm-up is the number of leading batches whose deletion minimises the squared
standard error of the mean of what remains (searched over the first half of the run).
"""


@subcommand(
    "warmup",
    help="suggest a warm-up length by MSER-5 on a monthly stock",
    description="Suggest a warm-up length for a scenario by MSER-5 on one monthly stock,\n"
                "print it in months and years, and chart the series with the cut.\n\n"
                + _WARMUP_EPILOG,
    arguments=_warmup_arguments,
)
def _cmd_warmup(args: argparse.Namespace) -> int:
    from sim.experiment import ExperimentError
    from sim.mser import stock_names, suggest_warmup

    (scenario,) = _load_scenarios([args.scenario])
    if args.stock not in stock_names():
        return _error(f"no stock {args.stock!r}; stocks: {', '.join(stock_names())}")
    out_dir = args.out if args.out is not None else Path("results") / f"warmup-{scenario.name}"
    try:
        with _backend(args) as backend, _progress(scenario.name, args) as progress:
            result = suggest_warmup(
                scenario, stock=args.stock, reps=args.reps, years=args.years, seed=args.seed,
                out_dir=out_dir, backend=backend, resume=args.resume, progress=progress,
                command=["childsim", *args.argv],
            )
    except ExperimentError as exc:
        return _error(exc)
    except _BACKEND_ERRORS as exc:
        return _backend_failed(args, exc)
    except KeyboardInterrupt:
        return _interrupted(out_dir)
    print(f"\nScenario {scenario.name}: {args.stock}, mean of {result.reps} replications of "
          f"{_fmt_years(args.years)} years from an empty start, seed {args.seed}\n")
    print(series_text(result))
    print(f"\nsuggested warm-up: {result.months} months = {result.years:.2f} years "
          f"(use --warmup {math.ceil(result.years * 4) / 4:g})")
    if not result.reliable:
        print("warning: the MSER minimum lies in the second half of the run; the stock may "
              "not have settled: try more --years")
    print(f"chart written to {result.chart}")
    print(f"results written to {out_dir}{os.sep}")
    return EXIT_OK


def series_text(result: Any) -> str:
    """The batch means of a warm-up series, one line each, with the cut marked."""
    b = result.mser.batch
    z = result.mser.batch_means
    width = 40
    lo, hi = float(z.min()), float(z.max())
    span = hi - lo if hi > lo else 1.0
    lines = [f"{'months':>9}  {'mean':>10}"]
    for i, value in enumerate(z):
        bar = "#" * max(1, round((float(value) - lo) / span * width))
        lines.append(f"{i * b + 1:>4}-{(i + 1) * b:<4}  {format_value(float(value), ''):>10}  "
                     f"{bar}")
        if i + 1 == result.mser.batches:
            lines.append(f"{'':>9}  {'':>10}  " + "-" * 8 + " warm-up cut " + "-" * 8)
    return "\n".join(lines)


# -- childsim sensitivity --------------------------------------------------------------------------


def _sensitivity_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--method", choices=("morris", "sobol"), default="morris",
                   help="morris: elementary effects screening (mu*, sigma); sobol: variance-based "
                        "first-order and total indices (S1, ST) (default: morris)")
    p.add_argument("--kpi", nargs="+", required=True, metavar="NAME",
                   help="KPIs to analyse (names from sim/kpis.py)")
    p.add_argument("--samples", type=_positive_int, default=10, metavar="N",
                   help="morris: trajectories, N x (parameters + 1) runs; sobol: base samples "
                        "(best a power of 2), N x (parameters + 2) runs (default: 10)")
    p.add_argument("--params", nargs="+", default=None, metavar="KEY",
                   help="parameters to vary, as dotted keys (default: every number parameter "
                        "with a plausible range in sim/parameters.py)")
    p.add_argument("--levels", type=_positive_int, default=4, metavar="L",
                   help="morris: levels of the sampling grid (default: 4)")
    p.add_argument("--reps", type=_positive_int, default=1, metavar="R",
                   help="replications per sample point, averaged; the same seed and "
                        "replication numbers at every point (a count; default: 1)")
    _length_arguments(p)
    _seed_argument(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result directory (default: results/sensitivity-<scenario>-<method>/)")
    _execution_arguments(p, resume_what="sample points")
    p.add_argument("--top", type=_positive_int, default=10, metavar="N",
                   help="parameters shown per KPI in the printed table (default: 10)")


@subcommand(
    "sensitivity",
    help="sensitivity analysis (SALib Morris or Sobol) over the plausible parameter ranges",
    description="Vary parameters over their plausible ranges (sim/parameters.py) with SALib,\n"
                "run each sample point, and estimate sensitivity indices of KPIs with 95%\n"
                "confidence intervals; writes sensitivity.csv, sensitivity.json, samples.csv\n"
                "and a chart per KPI.",
    arguments=_sensitivity_arguments,
)
def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from sim.experiment import ExperimentError
    from sim.gsa import INDEX_COLUMNS, SensitivityError, run_sensitivity

    (scenario,) = _load_scenarios([args.scenario])
    _check_kpis(args.kpi)
    out_dir = args.out if args.out is not None else (
        Path("results") / f"sensitivity-{scenario.name}-{args.method}")
    try:
        with _backend(args) as backend, _progress(scenario.name, args, "run") as progress:
            result = run_sensitivity(
                scenario, method=args.method, kpis=args.kpi, samples=args.samples,
                params=args.params, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out_dir, levels=args.levels, resume=args.resume,
                backend=backend, progress=progress, command=["childsim", *args.argv],
            )
    except (ExperimentError, SensitivityError) as exc:
        return _error(exc)
    except _BACKEND_ERRORS as exc:
        return _backend_failed(args, exc)
    except KeyboardInterrupt:
        sys.stderr.write(f"\ninterrupted: finished sample points are kept in {out_dir}; run "
                         "the same command with --resume to continue\n")
        return EXIT_INTERRUPTED
    n_points = len(result.samples)
    print(f"\nScenario {scenario.name}: {args.method} sensitivity of {len(result.params)} "
          f"parameters, {n_points} sample points x {args.reps} replication(s) of "
          f"{_fmt_years(args.years)} measured years after {_fmt_years(args.warmup)} warm-up "
          f"years, seed {args.seed}")
    cols = INDEX_COLUMNS[args.method]
    for kpi in args.kpi:
        part = result.indices[result.indices["kpi"] == kpi].head(args.top)
        print(f"\n{kpi}" + (f" ({_kpi_units()[kpi]})" if kpi in _kpi_units() else ""))
        print(_indices_text(part, cols))
    print(f"\nresults written to {out_dir}{os.sep} (sensitivity.csv, sensitivity.json, "
          "samples.csv, sensitivity-<kpi>.png)")
    return EXIT_OK


def _indices_text(part: Any, cols: Sequence[str]) -> str:
    header = ("parameter", *cols)
    rows = [(str(r["param"]), *(sig3(float(r[c])) if math.isfinite(float(r[c])) else "-"
                                for c in cols)) for _, r in part.iterrows()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                  for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        for row in [header, tuple("-" * w for w in widths), *rows])


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


# Subcommands about the model itself (loops, validate, calibrate, report) register here.
from sim import commands as _commands  # noqa: E402,F401  (registers on import)
