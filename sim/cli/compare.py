"""``childsim compare``: scenarios against a base with common random numbers."""

from __future__ import annotations

import argparse
import os
import textwrap
from pathlib import Path

from sim.cli.options import (
    BACKEND_ERRORS,
    EXIT_OK,
    Command,
    ProgressBar,
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
    progress_bar,
    reform_arguments,
    reps_type,
    seed_argument,
)
from sim.cli.tables import comparison_table, print_warnings, wide_argument


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("base", metavar="BASE",
                   help="the scenario the others are compared with (name or TOML path)")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="scenarios to compare with BASE (names or TOML paths)")
    length_arguments(p)
    p.add_argument(
        "--reps", type=reps_type, default=10, metavar="R",
        help="replications of every scenario (a count; default: 10), or 'auto': as many "
             "as BASE needs for --kpi to reach --precision",
    )
    auto_reps_arguments(p, what="BASE's KPI")
    seed_argument(p)
    p.add_argument(
        "--out", type=path_arg, default=None, metavar="DIR",
        help="comparison directory: DIR/<scenario>/ for each scenario's results, and "
             "DIR/comparison.csv and DIR/comparison.json (default: results/compare-<BASE>/)",
    )
    reform_arguments(p)
    execution_arguments(p, resume_what="replications of every scenario")
    wide_argument(p)


_COMPARE_EPILOG = """\
Every scenario runs with the same base seed and replication numbers, so replication k
of each draws the same random numbers (common random numbers). For each KPI the table
gives every scenario's mean with its 95% CI, and each scenario's difference from BASE:
the mean of the paired differences (replication by replication) with its 95% t interval.
A '*' marks a difference whose interval excludes zero; a measure a scenario abolishes
(initial and core assessments under flexible assessment) is "not applicable", not a
change. The table fits 100 columns; --wide prints it in full.
"""


def run(args: argparse.Namespace) -> int:
    from sim.experiments.comparison import COMPARISON_CSV, COMPARISON_JSON, run_comparison
    from sim.experiments.replications import describe
    from sim.experiments.runs import ExperimentError

    base, *others = load_scenarios([args.base, *args.scenarios])
    auto_kpi(args)
    out_dir = args.out if args.out is not None else Path("results") / f"compare-{base.name}"
    command = ["childsim", *args.argv]
    bars: list[ProgressBar] = []

    def progress(name: str) -> ProgressBar:
        bars.append(progress_bar(name, args))
        return bars[-1]

    try:
        with open_backend(args) as backend:
            comparison = run_comparison(
                base, others, reps=args.reps, seed=args.seed, years=args.years,
                warmup=args.warmup, out_dir=out_dir, resume=args.resume,
                overwrite=args.overwrite, backend=backend,
                progress=progress, command=command, kpi=args.kpi, precision=args.precision,
                max_reps=args.max_reps, look_ahead=args.look_ahead,
                reform_start=args.reform_start, log_warmup=args.log_warmup,
            )
    except ExperimentError as exc:
        return error(exc)
    except BACKEND_ERRORS as exc:
        return backend_failed(args, exc)
    except KeyboardInterrupt:
        return interrupted(out_dir)
    finally:
        for bar in bars:
            bar.close()
    names = ", ".join(comparison.scenarios)
    intro = (f"Comparison of {names} with {base.name}, common random numbers: "
             f"{comparison.reps} replications each of {fmt_years(args.years)} measured years "
             f"after {fmt_years(args.warmup)} warm-up years, seed {args.seed}; "
             + ("reforms begin at the start of the measured window, on the settled "
                f"{base.name}" if args.reform_start == "window" else
                "reforms apply from the start of the run"))
    print("\n" + textwrap.fill(intro, 100) + "\n")
    if comparison.decision is not None:
        print(describe(comparison.decision, args.kpi) + f" (of {base.name})\n")
    branched = comparison.meta.get("branched") or []
    for group in branched:
        print(f"Branched from one warm-up per replication: {', '.join(group)}")
    for note in comparison.meta.get("notes") or []:
        print(textwrap.fill(note, 100))
    if branched or comparison.meta.get("notes"):
        print()
    print(comparison_table(comparison.table, kpi_units(), base.name, wide=args.wide))
    table = comparison.table
    others = table[~table["is_base"].astype(bool)]
    n_sig = int(others["significant"].sum())
    applicable = others["applicable"].astype(bool) if "applicable" in others else True
    print(f"\n* the 95% interval of the paired change excludes zero: a clear change ({n_sig} "
          f"of {int(applicable.sum())} changes)\nnot applicable: the scenario abolishes the "
          "measure (it exists only under another policy)")
    for name in [base.name, *comparison.scenarios]:
        result = comparison.results.get(name)
        if result is not None:
            print_warnings(result, name)
    print(f"results written to {out_dir}{os.sep} ({COMPARISON_CSV}, {COMPARISON_JSON}, and "
          "one directory per scenario)")
    return EXIT_OK


COMMAND = Command(
    "compare",
    help="compare scenarios with a base over common random numbers",
    description="Run BASE and each SCENARIO with common random numbers and report, per KPI,\n"
                "each one's mean and 95% CI and its paired difference from BASE.\n\n"
                + _COMPARE_EPILOG,
    arguments=_compare_arguments,
    run=run,
)
