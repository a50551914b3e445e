"""``childsim sensitivity``: SALib Morris or Sobol indices over plausible ranges."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.cli.options import (
    BACKEND_ERRORS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Command,
    backend_failed,
    check_kpis,
    error,
    execution_arguments,
    fmt_years,
    kpi_units,
    length_arguments,
    load_scenarios,
    open_backend,
    path_arg,
    positive_int,
    progress_bar,
    seed_argument,
)
from sim.cli.tables import indices_text


def _sensitivity_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--method", choices=("morris", "sobol"), default="morris",
                   help="morris: elementary effects screening (mu*, sigma); sobol: variance-based "
                        "first-order and total indices (S1, ST) (default: morris)")
    p.add_argument("--kpi", nargs="+", required=True, metavar="NAME",
                   help="KPIs to analyse (names from sim/outputs/kpis.py)")
    p.add_argument("--samples", type=positive_int, default=10, metavar="N",
                   help="morris: trajectories, N x (parameters + 1) runs; sobol: base samples "
                        "(best a power of 2), N x (parameters + 2) runs (default: 10)")
    p.add_argument("--params", nargs="+", default=None, metavar="KEY",
                   help="parameters to vary: dotted keys, section names (their levers and "
                        "behaviour parameters), or groups: levers, behaviour, size, initial, "
                        "all (default: the policy levers; see `childsim params`). Size and "
                        "initial-state parameters are varied only when named")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs and the time estimate, and stop")
    p.add_argument("--levels", type=positive_int, default=4, metavar="L",
                   help="morris: levels of the sampling grid (default: 4)")
    p.add_argument("--reps", type=positive_int, default=1, metavar="R",
                   help="replications per sample point, averaged; the same seed and "
                        "replication numbers at every point (a count; default: 1)")
    length_arguments(p)
    seed_argument(p)
    p.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                   help="result directory (default: results/sensitivity-<scenario>-<method>/)")
    execution_arguments(p, resume_what="sample points")
    p.add_argument("--top", type=positive_int, default=10, metavar="N",
                   help="parameters shown per KPI in the printed table (default: 10)")


def run(args: argparse.Namespace) -> int:
    from sim.experiments.runs import ExperimentError
    from sim.experiments.sensitivity import (
        INDEX_COLUMNS,
        SensitivityError,
        plan_sensitivity,
        run_sensitivity,
    )

    (scenario,) = load_scenarios([args.scenario])
    check_kpis(args.kpi)
    out_dir = args.out if args.out is not None else (
        Path("results") / f"sensitivity-{scenario.name}-{args.method}")
    try:
        plan = plan_sensitivity(scenario, method=args.method, samples=args.samples,
                                params=args.params, reps=args.reps, years=args.years,
                                warmup=args.warmup, workers=args.workers)
    except SensitivityError as exc:
        return error(exc)
    print(plan, flush=True)
    if args.dry_run:
        return EXIT_OK
    try:
        with open_backend(args) as backend, progress_bar(scenario.name, args, "run") as progress:
            result = run_sensitivity(
                scenario, method=args.method, kpis=args.kpi, samples=args.samples,
                params=args.params, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out_dir, levels=args.levels, resume=args.resume,
                overwrite=args.overwrite,
                backend=backend, progress=progress, command=["childsim", *args.argv],
            )
    except (ExperimentError, SensitivityError) as exc:
        return error(exc)
    except BACKEND_ERRORS as exc:
        return backend_failed(args, exc)
    except KeyboardInterrupt:
        sys.stderr.write(f"\ninterrupted: finished sample points are kept in {out_dir}; run "
                         "the same command with --resume to continue\n")
        return EXIT_INTERRUPTED
    n_points = len(result.samples)
    print(f"\nScenario {scenario.name}: {args.method} sensitivity of {len(result.params)} "
          f"parameters, {n_points} sample points x {args.reps} replication(s) of "
          f"{fmt_years(args.years)} measured years after {fmt_years(args.warmup)} warm-up "
          f"years, seed {args.seed}")
    cols = INDEX_COLUMNS[args.method]
    for kpi in args.kpi:
        part = result.indices[result.indices["kpi"] == kpi].head(args.top)
        print(f"\n{kpi}" + (f" ({kpi_units()[kpi]})" if kpi in kpi_units() else ""))
        print(indices_text(part, cols))
    print(f"\nresults written to {out_dir}{os.sep} (sensitivity.csv, sensitivity.json, "
          "samples.csv, sensitivity-<kpi>.png)")
    return EXIT_OK


COMMAND = Command(
    "sensitivity",
    help="sensitivity analysis (SALib Morris or Sobol) over the plausible parameter ranges",
    description="Vary parameters over their plausible ranges (sim/parameters.py) with SALib,\n"
                "run each sample point, and estimate sensitivity indices of KPIs with 95%\n"
                "confidence intervals; writes sensitivity.csv, sensitivity.json, samples.csv\n"
                "and a chart per KPI.",
    arguments=_sensitivity_arguments,
    run=run,
)
