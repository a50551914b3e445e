"""``childsim validate``: a scenario's KPIs against the published national figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import (
    EXIT_OK,
    Command,
    error,
    execution_arguments,
    length_arguments,
    load_scenarios,
    open_backend,
    positive_int,
    progress_bar,
    seed_argument,
)


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--reps", type=positive_int, default=10, metavar="R",
                   help="replications (a count; default: 10)")
    length_arguments(p)
    seed_argument(p)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result directory (default: results/validate-<scenario>/)")
    p.add_argument("--targets", type=Path, default=None, metavar="CSV",
                   help="targets file with the columns of the shipped "
                        "sim/data/calibration/*.csv (default: england-2010-11.csv and "
                        "care-flows-2010-11.csv together)")
    execution_arguments(p, resume_what="replications")


def run(args: argparse.Namespace) -> int:
    from sim.experiments.runs import ExperimentError, run_experiment
    from sim.outputs.validation import format_table, validation_table, write_validation

    (scenario,) = load_scenarios([args.scenario])
    out = args.out or Path("results") / f"validate-{scenario.name}"
    try:
        with open_backend(args) as backend, progress_bar(scenario.name, args) as progress:
            result = run_experiment(scenario, reps=args.reps, seed=args.seed, years=args.years,
                                    warmup=args.warmup, out_dir=out, backend=backend,
                                    resume=args.resume, progress=progress,
                                    command=["childsim", *sys.argv[1:]])
        v = validation_table(result.summary, args.targets)
    except (ExperimentError, FileNotFoundError) as exc:
        return error(exc)
    write_validation(v, out)
    print(f"\nValidation of {scenario.name}: {args.reps} replications of {args.years:g} "
          f"measured years after {args.warmup:g} warm-up years, seed {args.seed}\n")
    print(format_table(v.table))
    verdict = ("PASS: every high- and medium-confidence target is met" if v.passed else
               "FAIL: targets missed: " + ", ".join(v.failures))
    print(f"\n{verdict}\nwritten to {out / 'validation.csv'} and {out / 'validation.png'}")
    return EXIT_OK if v.passed else 1


COMMAND = Command(
    "validate", help="compare a scenario's KPIs with the published national figures",
            description="Run a scenario and compare its KPIs with the England 2010-11 "
                        "figures. Exit code 0 when every high- and medium-confidence target's "
                        "model mean lies in its band, 1 otherwise.",
            arguments=_validate_arguments, run=run)
