"""Benchmark: journey events per second of the baseline against a bare simpy loop.

Reports, in one process:

* journey events (rows of the journey log) per second for one baseline replication of
  ``warmup + years`` simulated years, with the log converted to Arrow batches as in a
  real run (not written to disk);
* timeouts per second of a bare simpy loop doing the same number of timeouts, spread over
  as many concurrent processes as the model typically has;
* their ratio (target: at least 0.5), and seconds per replication (target: at most 10 s
  for 7 simulated years).

Run: ``python benchmarks/bench_model.py [--years 5 --warmup 2 --repeat 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

from sim.model.simulation import simulate
from sim.scenario import load_scenario


def bare_simpy(n_timeouts: int, processes: int = 2000, seed: int = 1) -> float:
    """Seconds for a bare simpy loop doing ``n_timeouts`` exponential timeouts."""
    rng = np.random.default_rng(seed)
    per = n_timeouts // processes
    delays = rng.exponential(30.0, size=(processes, per)).tolist()

    def proc(env: simpy.Environment, ds: list[float]):
        for d in ds:
            yield env.timeout(d)

    env = simpy.Environment()
    for ds in delays:
        env.process(proc(env, ds))
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def model_run(years: float, warmup: float, seed: int) -> tuple[int, float]:
    """Rows of the journey log and seconds for one baseline replication."""
    scenario = load_scenario("baseline")
    rows = 0

    def sink(batch) -> None:
        nonlocal rows
        rows += batch.num_rows

    t0 = time.perf_counter()
    simulate(scenario, rep=0, seed=seed, warmup_years=warmup, years=years, journey_sink=sink)
    return rows, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=float, default=5.0, help="measured years")
    ap.add_argument("--warmup", type=float, default=2.0, help="warm-up years")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions (best is reported)")
    args = ap.parse_args()
    best_model = best_bare = float("inf")
    rows = 0
    for k in range(args.repeat):
        rows, secs = model_run(args.years, args.warmup, seed=1 + k)
        best_model = min(best_model, secs)
        best_bare = min(best_bare, bare_simpy(rows))
    model_rate = rows / best_model
    bare_rate = rows / best_bare
    total = args.years + args.warmup
    print(f"journey events per replication : {rows:,}")
    print(f"model: seconds per replication  : {best_model:.2f} s for {total:g} simulated years")
    print(f"model: journey events per second: {model_rate:,.0f}")
    print(f"bare simpy: timeouts per second  : {bare_rate:,.0f}")
    print(f"ratio (model / bare simpy)       : {model_rate / bare_rate:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
