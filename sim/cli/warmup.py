"""``childsim warmup``: a warm-up length by MSER-5 on one monthly stock."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from sim.cli.options import (
    BACKEND_ERRORS,
    EXIT_OK,
    Command,
    backend_failed,
    error,
    execution_arguments,
    fmt_years,
    interrupted,
    length_arguments,
    load_scenarios,
    open_backend,
    path_arg,
    positive_int,
    progress_bar,
    seed_argument,
)
from sim.cli.tables import series_text


def _warmup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--stock", required=True, metavar="NAME",
                   help="monthly stock to examine (a column of stocks.parquet, e.g. cin_open, "
                        "stage_cp_plan, caseload_mean)")
    length_arguments(p, years=30.0, warmup=False)
    p.add_argument("--reps", type=positive_int, default=5, metavar="R",
                   help="replications whose monthly stock is averaged (a count; default: 5)")
    seed_argument(p)
    p.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                   help="result directory, for the records, warmup.json, warmup.csv and the "
                        "chart warmup-<stock>.png (default: results/warmup-<scenario>/)")
    execution_arguments(p, resume_what="replications")


_WARMUP_EPILOG = """\
Runs the scenario with no warm-up, averages the monthly stock over the replications and
applies MSER-5 (White 1997): the series is averaged in batches of 5 months, and the
suggested warm-up is the number of leading batches whose deletion minimises the squared
standard error of the mean of what remains (searched over the first half of the run).
"""


def run(args: argparse.Namespace) -> int:
    from sim.experiments.runs import ExperimentError
    from sim.experiments.warmup import stock_names, suggest_warmup

    (scenario,) = load_scenarios([args.scenario])
    if args.stock not in stock_names():
        return error(f"no stock {args.stock!r}; stocks: {', '.join(stock_names())}")
    out_dir = args.out if args.out is not None else Path("results") / f"warmup-{scenario.name}"
    try:
        with open_backend(args) as backend, progress_bar(scenario.name, args) as progress:
            result = suggest_warmup(
                scenario, stock=args.stock, reps=args.reps, years=args.years, seed=args.seed,
                out_dir=out_dir, backend=backend, resume=args.resume,
                overwrite=args.overwrite, progress=progress,
                command=["childsim", *args.argv],
            )
    except ExperimentError as exc:
        return error(exc)
    except BACKEND_ERRORS as exc:
        return backend_failed(args, exc)
    except KeyboardInterrupt:
        return interrupted(out_dir)
    print(f"\nScenario {scenario.name}: {args.stock}, mean of {result.reps} replications of "
          f"{fmt_years(args.years)} years from an empty start, seed {args.seed}\n")
    print(series_text(result))
    print(f"\nsuggested warm-up: {result.months} months = {result.years:.2f} years "
          f"(use --warmup {math.ceil(result.years * 4) / 4:g})")
    if not result.reliable:
        print("warning: the MSER minimum lies in the second half of the run; the stock may "
              "not have settled: try more --years")
    print(f"chart written to {result.chart}")
    print(f"results written to {out_dir}{os.sep}")
    return EXIT_OK


COMMAND = Command(
    "warmup",
    help="suggest a warm-up length by MSER-5 on a monthly stock",
    description="Suggest a warm-up length for a scenario by MSER-5 on one monthly stock,\n"
                "print it in months and years, and chart the series with the cut.\n\n"
                + _WARMUP_EPILOG,
    arguments=_warmup_arguments,
    run=run,
)
