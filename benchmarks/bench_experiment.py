"""Benchmark: parallel speed-up of replications, and the overhead of the Dask backend.

Runs the same experiment (default: 20 replications of the baseline, 5 measured years
after 2 warm-up years) four ways, each into a fresh temporary directory, and reports wall
times:

* local backend, 1 worker (in this process);
* local backend, 2 worker processes: speed-up = time(1) / time(2) (target: at least 1.7
  on 2 cores);
* Dask backend, a LocalCluster of 2 worker processes, timed with the cluster already
  started, and the cluster's start-up time separately: overhead = time(Dask) /
  time(local, 2) - 1;
* it also checks that all of them give identical per-replication KPIs.

Run: ``python benchmarks/bench_experiment.py [--reps 20 --years 5 --warmup 2]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.experiments.backends import DaskBackend, LocalBackend
from sim.experiments.runs import run_experiment
from sim.scenario import load_scenario


def timed(scenario, backend, out: Path, **kw) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    res = run_experiment(scenario, out_dir=out, backend=backend, **kw)
    return time.perf_counter() - t0, res.per_rep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    kw = dict(reps=args.reps, years=args.years, warmup=args.warmup, seed=1)
    print(f"{args.reps} replications of {args.scenario}: {args.warmup:g} + {args.years:g} "
          f"years each; load average before: {os.getloadavg()[0]:.2f} (other processes "
          "competing for the cores distort the ratios)")
    with tempfile.TemporaryDirectory(prefix="bench-experiment-") as tmp:
        root = Path(tmp)
        t1, one = timed(scenario, LocalBackend(1), root / "w1", **kw)
        print(f"local, 1 worker:          {t1:7.1f} s  ({t1 / args.reps:.2f} s per replication)")
        t2, two = timed(scenario, LocalBackend(args.workers), root / "w2", **kw)
        print(f"local, {args.workers} workers:         {t2:7.1f} s  speed-up {t1 / t2:.2f}")
        with DaskBackend(workers=args.workers) as dask:
            t0 = time.perf_counter()
            dask.client.wait_for_workers(args.workers)
            start = time.perf_counter() - t0
            td, via_dask = timed(scenario, dask, root / "dask", **kw)
        print(f"dask, {args.workers} workers:          {td:7.1f} s  overhead vs local "
              f"{100 * (td / t2 - 1):+.1f}% (cluster start-up {start:.1f} s more)")
        same = one.equals(two) and one.equals(via_dask)
        print(f"identical KPIs across backends: {same}; load average after: "
              f"{os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
