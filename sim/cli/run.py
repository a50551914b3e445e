"""``childsim run``: replications of one or more scenarios, and their KPI table."""

from __future__ import annotations

import argparse
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

from sim.cli.options import (
    BACKEND_ERRORS,
    EXIT_OK,
    Command,
    auto_kpi,
    auto_reps_arguments,
    backend_failed,
    error,
    execution_arguments,
    fmt_years,
    interrupted,
    kpi_units,
    length_arguments,
    load_scenarios,
    open_backend,
    path_arg,
    print_notes,
    progress_bar,
    reform_arguments,
    reps_type,
    seed_argument,
)
from sim.cli.tables import (
    calibration_targets,
    kpi_table,
    print_warnings,
    wide_argument,
)


def _run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", default=["baseline"],
        help="scenario name (a file in scenarios/) or path to a scenario TOML file; "
             "several may be given (default: baseline)",
    )
    length_arguments(p)
    p.add_argument(
        "--reps", type=reps_type, default=10, metavar="R",
        help="number of independent replications (a count; default: 10), or 'auto': add "
             "replications until the 95%% CI of --kpi is within --precision of its mean",
    )
    auto_reps_arguments(p)
    seed_argument(p)
    p.add_argument(
        "--out", type=path_arg, default=None, metavar="DIR",
        help="result directory (default: results/<scenario name>/; with several scenarios, "
             "DIR/<scenario name>/ for each)",
    )
    reform_arguments(p)
    execution_arguments(p, resume_what="replications")
    wide_argument(p)


_RUN_EPILOG = """\
Each replication simulates W warm-up years then Y measured years (a year is 365.25
calendar days; statutory timescales inside the model are in working days). KPIs are
computed from the measured years only and reported as means over replications with
95% confidence intervals (within what each measure can take), beside the England 2010-11
calibration bands for the baseline. Warnings follow when the warm-up is shorter than
recommended, a main stock still trends or unallocated work grows. The table fits 100
columns; --wide prints it in full.

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


def run(args: argparse.Namespace) -> int:
    from sim.experiments.replications import describe, run_to_precision
    from sim.experiments.runs import ExperimentError, check_experiment, run_experiment

    scenarios = load_scenarios(args.scenarios)
    auto_kpi(args)
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return error(f"several scenarios are named {', '.join(dupes)}; run them separately "
                      "with different --out directories")
    out_dirs = _out_dirs(names, args.out)
    try:  # every scenario and directory, before anything is touched
        for scenario, out_dir in zip(scenarios, out_dirs, strict=True):
            check_experiment(scenario, reps=1 if args.reps == "auto" else args.reps,
                             seed=args.seed, years=args.years, warmup=args.warmup,
                             out_dir=out_dir, resume=args.resume, overwrite=args.overwrite,
                             reform_start=args.reform_start, log_warmup=args.log_warmup)
    except ExperimentError as exc:
        return error(exc)
    units = kpi_units()
    targets = calibration_targets()
    command = ["childsim", *args.argv]
    with open_backend(args) as backend:
        for scenario, out_dir in zip(scenarios, out_dirs, strict=True):
            decision = None
            try:
                with progress_bar(scenario.name, args) as progress:
                    common = dict(seed=args.seed, years=args.years, warmup=args.warmup,
                                  out_dir=out_dir, backend=backend, resume=args.resume,
                                  overwrite=args.overwrite, progress=progress,
                                  command=command, reform_start=args.reform_start,
                                  log_warmup=args.log_warmup)
                    if args.reps == "auto":
                        result, decision = run_to_precision(
                            scenario, kpi=args.kpi, precision=args.precision,
                            max_reps=args.max_reps, look_ahead=args.look_ahead, **common)
                    else:
                        result = run_experiment(scenario, reps=args.reps, **common)
            except ExperimentError as exc:
                return error(exc)
            except BACKEND_ERRORS as exc:
                return backend_failed(args, exc)
            except KeyboardInterrupt:
                return interrupted(out_dir)
            print_notes(result)
            reps = len(result.per_rep)
            print("\n" + textwrap.fill(f"Scenario {scenario.name}: {scenario.description}",
                                       100))
            print(f"{reps} replications of {fmt_years(args.years)} measured years after "
                  f"{fmt_years(args.warmup)} warm-up years, seed {args.seed}\n")
            if decision is not None:
                print(describe(decision, args.kpi) + "\n")
            judged = scenario.name == "baseline"
            print(kpi_table(result.summary, units, targets if judged else None,
                            wide=args.wide))
            if judged:
                print("\nEngland 2010-11 band: the per-LA figure the baseline is calibrated to "
                      "(source confidence);\nin band: whether the mean lies in it. Reforms are "
                      "not judged against these bands.")
            print()
            print_warnings(result)
            print(f"results written to {out_dir}{os.sep}")
    return EXIT_OK


COMMAND = Command(
    "run",
    help="run replications of one or more scenarios and print their KPIs",
    description="Run replications of one or more scenarios, write the records and print\n"
                "KPI means with 95% confidence intervals.\n\n" + _RUN_EPILOG,
    arguments=_run_arguments,
    run=run,
)
