"""``childsim calibrate``: fit the calibrated parameters to the published figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import (
    EXIT_OK,
    Command,
    error,
    length_arguments,
    load_scenarios,
    open_backend,
    path_arg,
    positive_int,
    seed_argument,
)


def _calibrate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario to fit, name or TOML path (default: baseline)")
    p.add_argument("--params", nargs="+", default=None, metavar="KEY",
                   help="dotted keys to fit (default: those marked calibrated in "
                        "sim/parameters.py)")
    p.add_argument("--reps", type=positive_int, default=4, metavar="R",
                   help="replications per candidate, independent for each candidate (a "
                        "count; default: 4; the loss's noise at the baseline is then about 2, "
                        "mostly from serious case reviews, which the emulators average over "
                        "candidates; see sim/experiments/calibration.py)")
    length_arguments(p, years=3.0)
    seed_argument(p)
    p.add_argument("--max-evals", type=positive_int, default=60, metavar="N",
                   help="budget of candidate evaluations (a count; default: 60)")
    p.add_argument("--waves", type=positive_int, default=3, metavar="N",
                   help="waves of history matching the budget is spent in (a count; "
                        "default: 3)")
    p.add_argument("--targets", type=path_arg, default=None, metavar="CSV",
                   help="targets file (default: the shipped England 2010-11 figures)")
    p.add_argument("--out", type=path_arg, default=None, metavar="PATH",
                   help="scenario file to write (default: scenarios/<scenario>_calibrated.toml)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes for a candidate's replications (a count; default: "
                        "all cores); results do not depend on it")
    p.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="where replications run: local processes (default) or Dask")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a Dask scheduler; implies --backend dask")
    p.add_argument("--quiet", action="store_true", help="show no progress")


def run(args: argparse.Namespace) -> int:
    from sim.experiments.calibration import (
        calibrate,
        calibrated_parameters,
        format_identifiability,
        write_calibrated_scenario,
    )
    from sim.outputs.targets import load_targets
    from sim.parameters import SCHEMA

    (scenario,) = load_scenarios([args.scenario])
    params = args.params or calibrated_parameters()
    unknown = [k for k in params if k not in SCHEMA]
    if unknown:
        return error(f"unknown parameter(s): {', '.join(unknown)}")
    try:
        targets = load_targets(args.targets)
    except FileNotFoundError as exc:
        return error(exc)

    def progress(n: int, best: float) -> None:
        if not args.quiet:
            print(f"\revaluation {n}/{args.max_evals}: best loss {best:.4g}", end="",
                  file=sys.stderr, flush=True)

    try:
        with open_backend(args) as backend:
            result = calibrate(scenario, params=params, targets=targets, reps=args.reps,
                               seed=args.seed, warmup=args.warmup, years=args.years,
                               max_evals=args.max_evals, backend=backend, waves=args.waves,
                               progress=progress)
    except ValueError as exc:
        return error(exc)
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
    print("\nIdentifiability: the values of each parameter consistent with the targets "
          "(history matching, implausibility <= 3); identified when they span less than "
          "half its plausible range\n")
    print(format_identifiability(result, prefix="  "))
    missing = [k for k, r in result.identifiability.iterrows() if not r["identified"]]
    if missing:
        print(f"\nnot pinned down by the targets (the fitted value is one of many that fit): "
              f"{', '.join(missing)}")
    print(f"fitted scenario written to {out}")
    return EXIT_OK


COMMAND = Command(
    "calibrate", help="fit the calibrated parameters to the published figures",
            arguments=_calibrate_arguments, run=run)
