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
                   help="replications (a count; default: 10); a rare-event KPI may ask for "
                        "more (the replication rule, up to 50)")
    length_arguments(p)
    seed_argument(p)
    p.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                   help="result directory (default: results/validate-<scenario>/)")
    p.add_argument("--targets", type=path_arg, default=None, metavar="CSV",
                   help="targets file with the columns of the shipped "
                        "sim/data/calibration/*.csv (default: england-2010-11.csv and "
                        "care-flows-2010-11.csv together)")
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
    from sim.experiments.replications import describe
    from sim.experiments.runs import ExperimentError, check_experiment, locked
    from sim.experiments.validation import run_validation
    from sim.outputs.targets import TargetsError, check_targets
    from sim.outputs.validation import format_markdown, format_table, write_validation

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
            result, v, decisions = run_validation(
                scenario, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out, backend=backend, resume=args.resume,
                overwrite=args.overwrite, progress=progress,
                command=["childsim", *args.argv], targets=targets)
            write_validation(v, out)
    except ExperimentError as exc:
        return error(exc)
    except BACKEND_ERRORS as exc:
        return backend_failed(args, exc)
    except KeyboardInterrupt:
        return interrupted(out)
    print_notes(result)
    n = len(result.per_rep)
    if args.markdown:
        print(markdown(scenario.name, n, args.years, args.warmup, args.seed,
                       format_markdown(v.table)))
        return EXIT_OK if v.passed else 1
    print(f"\nValidation of {scenario.name}: {n} replications of {args.years:g} "
          f"measured years after {args.warmup:g} warm-up years, seed {args.seed}\n")
    print(format_table(v.table))
    print("\nRules: 'mean in band' for most KPIs; '95% CI overlaps band' for rare events, "
          "with replications chosen by the replication rule so the interval is about as "
          "narrow as the band")
    for kpi, decision in decisions.items():
        print(f"  {kpi}: {describe(decision, kpi)}")
    verdict = ("PASS: every high- and medium-confidence target is met" if v.passed else
               "FAIL: targets missed: " + ", ".join(v.failures))
    print(f"\n{verdict}\nwritten to {out / 'validation.csv'} and {out / 'validation.png'}")
    return EXIT_OK if v.passed else 1


COMMAND = Command(
    "validate", help="compare a scenario's KPIs with the published national figures",
            description="Run a scenario and compare its KPIs with the England 2010-11 "
                        "figures. Each target is judged by a rule fit for its kind (the mean in "
                        "the band; for rare events, the 95% interval overlapping the band, "
                        "with more replications if the replication rule asks). Exit code 0 "
                        "when every high- and medium-confidence target is met, 1 otherwise.",
            arguments=_validate_arguments, run=run)
