"""``childsim scenarios``: the scenarios found by name."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import EXIT_OK, Command


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    from sim.scenario import list_scenarios

    rows = list_scenarios()
    if not rows:
        print("no scenarios found")
        return EXIT_OK
    width = max(len(name) for name, _, _ in rows)
    for name, description, path in rows:
        print(f"{name.ljust(width)}  {description}")
        print(f"{'':{width}}  ({_display(Path(path))})")
    return EXIT_OK


COMMAND = Command(
    "scenarios", help="list the scenarios that `childsim run` can find by name", run=run)
