"""Benchmark: the reform comparison straight (every scenario its own warm-up, full logs,
as before) and branched (one warm-up per replication, logs of the measured window).

Default: the baseline and the 13 reforms of ``docs/reforms.md`` (14 scenarios) x 10
replications at the default warm-up and 5 measured years, on 2 worker processes. Both
are comparisons with ``reform_start="window"`` (the same question, so the same results:
the script checks that the comparison tables are identical); "straight" is
``branch=False, log_warmup=True``, "branched" the defaults. Reports wall time and bytes
written for each, and their ratios (targets: branched <= 30% of the straight wall time
and <= 25% of its bytes). Also prints the warm-up and per-scenario cost of one
replication of the baseline (for sizing a national run, see docs/design.md).

Run: ``python benchmarks/bench_branching.py [--reps 10 --warmup W --years 5 --workers 2
--scenarios baseline flexible_assessment ...] [--population N]`` (``--population``
scales every scenario to an LA of N children, for a smaller run).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS
from sim.experiments.comparison import run_comparison
from sim.scaling import scale_to_population
from sim.scenario import load_scenario

REFORMS = (
    "flexible_assessment", "community_teams", "early_prevention", "shared_assessment",
    "less_recording", "reflective_supervision", "career_pathway", "professional_judgement",
    "unannounced_inspections", "systems_scr", "family_justice", "fgc_pre_proceedings",
    "munro_package",
)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["baseline", *REFORMS])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP_YEARS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--population", type=int, default=None)
    parser.add_argument("--only", choices=("straight", "branched"), default=None)
    args = parser.parse_args()

    scenarios = [load_scenario(n) for n in args.scenarios]
    if args.population:
        scenarios = [scale_to_population(s, args.population) for s in scenarios]
    base, *others = scenarios
    kw = dict(reps=args.reps, years=args.years, warmup=args.warmup, seed=1,
              workers=args.workers)
    print(f"{len(scenarios)} scenarios x {args.reps} replications, {args.warmup:g} warm-up + "
          f"{args.years:g} measured years, {args.workers} workers"
          + (f", LAs of {args.population} children" if args.population else "")
          + f"; load average before: {os.getloadavg()[0]:.2f}")
    ways = {"straight": dict(branch=False, log_warmup=True), "branched": {}}
    if args.only:
        ways = {args.only: ways[args.only]}
    results: dict[str, tuple[float, int, pd.DataFrame]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-branching-") as tmp:
        for name, options in ways.items():
            out = Path(tmp) / name
            t0 = time.perf_counter()
            comparison = run_comparison(base, others, out_dir=out, **kw, **options)
            wall = time.perf_counter() - t0
            results[name] = (wall, size(out), comparison.table)
            print(f"{name:9s} {wall:8.1f} s  {size(out) / 1e6:8.1f} MB  "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    if len(results) == 2:
        (ts, bs, a), (tb, bb, b) = results["straight"], results["branched"]
        cols = [c for c in a.columns if a[c].dtype.kind == "f"]
        x, y = a[cols].to_numpy(), b[cols].to_numpy()
        both = ~(np.isnan(x) & np.isnan(y))
        worst = float(np.nanmax(np.abs(x - y)[both] / np.maximum(np.abs(x[both]), 1e-300),
                                initial=0.0))
        print(f"branched / straight: wall time {100 * tb / ts:.1f}%, bytes {100 * bb / bs:.1f}%;"
              f" comparison tables identical: {a.equals(b)}, largest relative difference "
              f"{worst:.1e} (a log of the window sums some KPIs over fewer zero terms)")


if __name__ == "__main__":
    main()
