"""``childsim loops``: the loop table and the causal loop diagram."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.options import EXIT_OK, Command, error, file_error, load_scenarios, path_arg


def _loops_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default="baseline", metavar="SCENARIO",
                   help="scenario name or TOML path (default: baseline)")
    p.add_argument("--out", type=path_arg, default=None, metavar="PATH",
                   help="where to write the causal loop diagram, PNG or SVG by its suffix "
                        "(default: results/<scenario>/loops.png)")


def run(args: argparse.Namespace) -> int:
    from sim.model.loops import loop_table
    from sim.outputs.loop_diagram import draw_diagram

    (scenario,) = load_scenarios([args.scenario])
    rows = loop_table(scenario.values)
    width = max(len(r["name"]) for r in rows)
    print(f"Feedback loops of scenario {scenario.name}\n")
    print(f"{'code':4s}  {'loop':{width}s}  {'key':18s}  {'polarity':11s}  {'state':5s}  chain")
    for r in rows:
        print(f"{r['code']:4s}  {r['name']:{width}s}  {r['key']:18s}  {r['polarity']:11s}  "
              f"{r['state']:5s}  {r['chain']}")
    out = args.out or Path("results") / scenario.name / "loops.png"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        drawn = draw_diagram(scenario.values, out)
    except OSError as exc:
        return error(f"cannot write the diagram: {file_error(exc) or exc}")
    except ValueError as exc:  # a suffix matplotlib cannot write
        return error(f"cannot write the diagram to {out}: {exc}")
    print(f"\ncausal loop diagram ({', '.join(drawn) or 'no loop on'}) written to {out}")
    return EXIT_OK


COMMAND = Command(
    "loops", help="print the feedback loop table and draw the causal loop diagram",
            arguments=_loops_arguments, run=run)
