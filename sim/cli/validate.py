"""``childsim validate``: a scenario's KPIs against the published national figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import (
    BACKEND_ERRORS,
    EXIT_OK,
    Command,
    backend_failed,
    error,
    execution_arguments,
    interrupted,
    length_arguments,
    load_scenarios,
    open_backend,
    path_arg,
    positive_int,
    print_notes,
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
    p.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                   help="result directory (default: results/validate-<scenario>/)")
    p.add_argument("--targets", type=path_arg, default=None, metavar="CSV",
                   help="targets file with the columns of the shipped "
                        "sim/data/calibration/england-2010-11.csv (default: that file)")
    execution_arguments(p, resume_what="replications")
    p.add_argument("--markdown", action="store_true",
                   help="print the table as Markdown, with a sentence saying what was run "
                        "(what scripts/readme_validation.py puts in the README)")


def markdown(scenario: str, reps: int, years: float, warmup: float, seed: int,
             table: str) -> str:
    """The README's validation block: what was run, then the table."""
    what = "The shipped baseline" if scenario == "baseline" else f"The scenario {scenario}"
    command = "childsim validate" + ("" if scenario == "baseline" else f" {scenario}")
    return (f"{what}, from `{command}` ({reps} replications of {years:g} measured years "
            f"after {warmup:g} warm-up years, seed {seed}):\n\n{table}")


def run(args: argparse.Namespace) -> int:
    from sim.experiments.runs import ExperimentError, check_experiment, locked, run_experiment
    from sim.outputs.targets import TargetsError, check_targets
    from sim.outputs.validation import (
        format_markdown,
        format_table,
        validation_table,
        write_validation,
    )

    (scenario,) = load_scenarios([args.scenario])
    out = args.out or Path("results") / f"validate-{scenario.name}"
    try:  # the targets and the directory, before anything runs
        targets = check_targets(args.targets)
        check_experiment(scenario, reps=args.reps, seed=args.seed, years=args.years,
                         warmup=args.warmup, out_dir=out, resume=args.resume,
                         overwrite=args.overwrite)
    except (TargetsError, ExperimentError) as exc:
        return error(exc)
    try:
        with open_backend(args) as backend, progress_bar(scenario.name, args) as progress, \
                locked(out):
            result = run_experiment(scenario, reps=args.reps, seed=args.seed, years=args.years,
                                    warmup=args.warmup, out_dir=out, backend=backend,
                                    resume=args.resume, overwrite=args.overwrite,
                                    progress=progress, command=["childsim", *args.argv])
            v = validation_table(result.summary, targets)
            write_validation(v, out)
    except ExperimentError as exc:
        return error(exc)
    except BACKEND_ERRORS as exc:
        return backend_failed(args, exc)
    except KeyboardInterrupt:
        return interrupted(out)
    print_notes(result)
    if args.markdown:
        print(markdown(scenario.name, len(result.per_rep), args.years, args.warmup, args.seed,
                       format_markdown(v.table)))
        return EXIT_OK if v.passed else 1
    print(f"\nValidation of {scenario.name}: {len(result.per_rep)} replications of "
          f"{args.years:g} measured years after {args.warmup:g} warm-up years, "
          f"seed {args.seed}\n")
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
