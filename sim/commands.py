"""Subcommands about the model itself: ``loops``, ``validate``, ``calibrate``, ``report``.

Registered on the command line's subcommand registry when :mod:`sim.cli` imports this
module; each is a small function that parses nothing itself and prints the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli import (
    EXIT_OK,
    _backend,
    _error,
    _execution_arguments,
    _length_arguments,
    _load_scenarios,
    _positive_int,
    _progress,
    _seed_argument,
    subcommand,
)

# -- childsim loops --------------------------------------------------------------------------


def _loops_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="where to write the causal loop diagram, PNG or SVG by its suffix "
                        "(default: results/<scenario>/loops.png)")


@subcommand("loops", help="print the feedback loop table and draw the causal loop diagram",
            arguments=_loops_arguments)
def _cmd_loops(args: argparse.Namespace) -> int:
    from sim.loops import draw_diagram, loop_table

    (scenario,) = _load_scenarios([args.scenario])
    rows = loop_table(scenario.values)
    width = max(len(r["name"]) for r in rows)
    print(f"Feedback loops of scenario {scenario.name}\n")
    print(f"{'code':4s}  {'loop':{width}s}  {'key':18s}  {'polarity':11s}  {'state':5s}  chain")
    for r in rows:
        print(f"{r['code']:4s}  {r['name']:{width}s}  {r['key']:18s}  {r['polarity']:11s}  "
              f"{r['state']:5s}  {r['chain']}")
    out = args.out or Path("results") / scenario.name / "loops.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    drawn = draw_diagram(scenario.values, out)
    print(f"\ncausal loop diagram ({', '.join(drawn) or 'no loop on'}) written to {out}")
    return EXIT_OK


# -- childsim validate -----------------------------------------------------------------------


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--reps", type=_positive_int, default=10, metavar="R",
                   help="replications (a count; default: 10)")
    _length_arguments(p)
    _seed_argument(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result directory (default: results/validate-<scenario>/)")
    p.add_argument("--targets", type=Path, default=None, metavar="CSV",
                   help="targets file with the columns of the shipped "
                        "sim/data/calibration/england-2010-11.csv (default: that file)")
    _execution_arguments(p, resume_what="replications")


@subcommand("validate", help="compare a scenario's KPIs with the published national figures",
            description="Run a scenario and compare its KPIs with the England 2010-11 "
                        "figures. Exit code 0 when every high- and medium-confidence target's "
                        "model mean lies in its band, 1 otherwise.",
            arguments=_validate_arguments)
def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.experiment import ExperimentError, run_experiment
    from sim.validation import format_table, validation_table, write_validation

    (scenario,) = _load_scenarios([args.scenario])
    out = args.out or Path("results") / f"validate-{scenario.name}"
    try:
        with _backend(args) as backend, _progress(scenario.name, args) as progress:
            result = run_experiment(scenario, reps=args.reps, seed=args.seed, years=args.years,
                                    warmup=args.warmup, out_dir=out, backend=backend,
                                    resume=args.resume, progress=progress,
                                    command=["childsim", *sys.argv[1:]])
        v = validation_table(result.summary, args.targets)
    except (ExperimentError, FileNotFoundError) as exc:
        return _error(exc)
    write_validation(v, out)
    print(f"\nValidation of {scenario.name}: {args.reps} replications of {args.years:g} "
          f"measured years after {args.warmup:g} warm-up years, seed {args.seed}\n")
    print(format_table(v.table))
    verdict = ("PASS: every high- and medium-confidence target is met" if v.passed else
               "FAIL: targets missed: " + ", ".join(v.failures))
    print(f"\n{verdict}\nwritten to {out / 'validation.csv'} and {out / 'validation.png'}")
    return EXIT_OK if v.passed else 1


# -- childsim calibrate ----------------------------------------------------------------------


def _calibrate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario to fit, name or TOML path (default: baseline)")
    p.add_argument("--params", nargs="+", default=None, metavar="KEY",
                   help="dotted keys to fit (default: those marked calibrated in "
                        "sim/parameters.py)")
    p.add_argument("--reps", type=_positive_int, default=4, metavar="R",
                   help="replications per candidate, the same for every candidate (common "
                        "random numbers; a count; default: 4)")
    _length_arguments(p, years=3.0)
    _seed_argument(p)
    p.add_argument("--max-evals", type=_positive_int, default=60, metavar="N",
                   help="budget of candidate evaluations (a count; default: 60)")
    p.add_argument("--method", choices=("least-squares", "nelder-mead"),
                   default="least-squares",
                   help="search method of scipy.optimize (default: least-squares)")
    p.add_argument("--targets", type=Path, default=None, metavar="CSV",
                   help="targets file (default: the shipped England 2010-11 figures)")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="scenario file to write (default: scenarios/<scenario>_calibrated.toml)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes for a candidate's replications (a count; default: "
                        "all cores); results do not depend on it")
    p.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="where replications run: local processes (default) or Dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a Dask scheduler; implies --backend dask")
    p.add_argument("--quiet", action="store_true", help="show no progress")


@subcommand("calibrate", help="fit the calibrated parameters to the published figures",
            arguments=_calibrate_arguments)
def _cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibration import calibrate, calibrated_parameters, write_calibrated_scenario
    from sim.parameters import SCHEMA
    from sim.targets import load_targets

    (scenario,) = _load_scenarios([args.scenario])
    params = args.params or calibrated_parameters()
    unknown = [k for k in params if k not in SCHEMA]
    if unknown:
        return _error(f"unknown parameter(s): {', '.join(unknown)}")
    try:
        targets = load_targets(args.targets)
    except FileNotFoundError as exc:
        return _error(exc)

    def progress(n: int, best: float) -> None:
        if not args.quiet:
            print(f"\revaluation {n}/{args.max_evals}: best loss {best:.4g}", end="",
                  file=sys.stderr, flush=True)

    try:
        with _backend(args) as backend:
            result = calibrate(scenario, params=params, targets=targets, reps=args.reps,
                               seed=args.seed, warmup=args.warmup, years=args.years,
                               max_evals=args.max_evals, backend=backend, method=args.method,
                               progress=progress)
    except ValueError as exc:
        return _error(exc)
    if not args.quiet:
        print(file=sys.stderr)
    out = args.out or Path("scenarios") / f"{scenario.name}_calibrated.toml"
    base = scenario.files[-1] if scenario.files else scenario.name
    try:
        base_ref = str(Path(base).resolve().relative_to(out.resolve().parent))
    except ValueError:
        base_ref = str(Path(base).resolve())
    write_calibrated_scenario(
        result, scenario, out, name=f"{scenario.name}_calibrated", base=base_ref,
        seed=args.seed, reps=args.reps, warmup=args.warmup, years=args.years,
        targets_used=list(targets.index), command="childsim " + " ".join(sys.argv[1:]))
    print(f"loss {result.start_loss:.4g} -> {result.loss:.4g} in {len(result.history)} "
          f"evaluations")
    for key, value in result.values.items():
        print(f"  {key:40s} {scenario[key]!r:>12} -> {value:.6g}")
    print(f"fitted scenario written to {out}")
    return EXIT_OK


# -- childsim report -------------------------------------------------------------------------


def _report_arguments(p: argparse.ArgumentParser) -> None:
    from sim.report import add_report_arguments

    add_report_arguments(p)


@subcommand("report", help="write a self-contained HTML report of result directories",
            arguments=_report_arguments)
def _cmd_report(args: argparse.Namespace) -> int:
    from sim.report import report_command

    return report_command(args)
