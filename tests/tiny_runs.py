"""Two tiny real runs shared by the figure and report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = {"population.child_population": 20000, "workforce.posts_fte": 42.0,
        "front_door.staff_fte": 4.0, "supervision.managers": 6.0}
SCENARIOS = ("baseline", "early_prevention")


def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny real runs (2 replications of half a year after a quarter-year warm-up),
    made once per test session and shared by the figure and report tests."""
    from sim.experiments.runs import run_experiment
    from sim.scenario import load_scenario

    root = tmp_path_factory.getbasetemp() / "childsim-tiny-runs"
    dirs = {name: root / name for name in SCENARIOS}
    if not (root / "done").exists():
        for name, d in dirs.items():
            run_experiment(load_scenario(name).with_values(TINY), reps=2, years=0.5,
                           warmup=0.25, out_dir=d, workers=1)
        (root / "done").touch()
    return dirs
