"""Benchmark: how soon the workbench shows first results of the baseline against one reform.

Submits one comparison (default: baseline against flexible_assessment, 10 replications of 5
measured years after the default warm-up, seed 1) to the app's run manager, exactly as the
page does, into a fresh temporary workspace, and reports:

* first results: seconds from pressing Run until the first views (summary, figures, the
  table of every measure) are on disk for the page to show: preliminary, from the first
  round of replications;
* all results: seconds until every replication, the views and the report are done.

The goal is first results within 20 s on 2 cores, which needs branching from a settled
baseline (the warm-up run once, each scenario branched from it: ``--reform-start
window``, the default).

Run: ``python benchmarks/bench_app.py [--reps 10 --years 5 --warmup 5 --workers 2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from sim.app import choices as ch
from sim.app.jobs import FINISHED, JobManager
from sim.app.worker import supports_reform_start
from sim.clock import DEFAULT_WARMUP_YEARS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reform", default="flexible_assessment")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP_YEARS)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--reform-start", choices=ch.REFORM_STARTS, default="window")
    args = parser.parse_args()
    start = args.reform_start if supports_reform_start() else None
    with tempfile.TemporaryDirectory(prefix="childsim-bench-app-") as tmp:
        choice = ch.Choice(reform=args.reform, reps=args.reps, years=args.years,
                           warmup=args.warmup).checked()
        scenario, _ = ch.chosen_scenario(choice, f"{tmp}/scenarios")
        manager = JobManager(tmp, workers=args.workers)
        try:
            t0 = time.monotonic()
            job = manager.submit(ch.baseline_scenario(), scenario, reps=args.reps,
                                 years=args.years, warmup=args.warmup, seed=1,
                                 reform_start=start, session="bench")
            while job.active:
                time.sleep(0.1)
            total = time.monotonic() - t0
        finally:
            manager.close()
        if job.state != FINISHED:
            raise SystemExit(f"the run did not finish: {job.status()}")
        first = (job.first_views_at or job.finished_at or t0) - t0
        print(f"baseline vs {args.reform}: {args.reps} replications of {args.years:g} years "
              f"after {args.warmup:g} warm-up years, reform start: "
              f"{start or 'run (branching not available)'}")
        print(f"first results (preliminary, first round): {first:.1f} s (goal: 20 s)")
        print(f"all results and the report: {total:.1f} s")


if __name__ == "__main__":
    main()
