"""``childsim scenarios``: the scenarios found by name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.options import EXIT_OK, Command


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run(args: argparse.Namespace) -> int:
    from sim.scenario import ENV_VAR, list_scenarios, scenario_dirs

    rows = list_scenarios()
    if not rows:
        searched = ", ".join(str(d) for d in scenario_dirs()) or "no scenario directory exists"
        print(f"no scenarios found (searched: {searched}); the package ships its scenarios, "
              f"so this installation is incomplete: reinstall it, or set {ENV_VAR} to a "
              "directory of scenario files", file=sys.stderr)
        return 1
    width = max(len(name) for name, _, _ in rows)
    for name, description, path in rows:
        print(f"{name.ljust(width)}  {description}")
        print(f"{'':{width}}  ({_display(Path(path))})")
    return EXIT_OK


COMMAND = Command(
    "scenarios", help="list the scenarios that `childsim run` can find by name", run=run)
