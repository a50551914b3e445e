"""``childsim params [SECTION]``: every parameter, its value, unit, ranges, role and source."""

from __future__ import annotations

import argparse
import sys
import textwrap

from sim.cli.options import EXIT_OK, Command, UsageError


def _params_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("section", nargs="?", default=None, metavar="SECTION",
                   help="only this section (e.g. front_door, workforce); default: all")
    p.add_argument("--scenario", default="baseline", metavar="SCENARIO",
                   help="scenario whose values are shown (default: baseline)")
    p.add_argument("--levers", action="store_true",
                   help="only the policy levers (what sensitivity analysis varies by default)")
    p.add_argument("--long", action="store_true",
                   help="also each parameter's description and source or assumption")
    p.add_argument("--csv", action="store_true",
                   help="the whole table as CSV on standard output (for a spreadsheet)")


def _num(x: object) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def run(args: argparse.Namespace) -> int:
    from sim.parameters import ROLES
    from sim.scenario import ScenarioError, parameter_table

    try:
        table = parameter_table(args.scenario, args.section)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    except ScenarioError as exc:
        raise UsageError(exc) from None
    if args.levers:
        table = table[table["lever"]]
    if args.csv:
        table.to_csv(sys.stdout, index=False)
        return EXIT_OK
    width = 100
    section = None
    for r in table.itertuples(index=False):
        if r.section != section:
            section = r.section
            print(f"\n[{section}]")
            print(f"  {'parameter':<30} {'value':>10}  {'unit':<26} {'plausible':>13}  role")
        name = r.key.split(".", 1)[1]
        plausible = (f"{_num(r.plausible_low)} to {_num(r.plausible_high)}"
                     if r.plausible_low == r.plausible_low else "-")
        unit = "" if r.unit in ("", "1") else r.unit
        shown_unit = unit if len(unit) <= 26 else unit[:25] + "~"
        role = r.role + ("*" if r.calibrated else "")
        value = f'"{r.value}"' if isinstance(r.value, str) else _num(r.value)
        print(f"  {name:<30} {value:>10}  {shown_unit:<26} {plausible:>13}  {role}")
        if args.long:
            for label, text in (("", r.description), ("unit: ", unit if unit != shown_unit
                                                      else ""), ("source: ", r.source)):
                if text:
                    print(textwrap.fill(label + text, width=width, initial_indent=" " * 4,
                                        subsequent_indent=" " * 6))
    print(f"\n{len(table)} parameters of {args.scenario}. plausible: the range sensitivity "
          "analysis and\ncalibration explore; *: fitted by childsim calibrate. Roles:")
    for role, meaning in ROLES.items():
        print(f"  {role:<10} {meaning}")
    print("Each parameter's description and source: --long; as CSV: --csv; "
          "in Python: sim.parameters()")
    return EXIT_OK


COMMAND = Command(
    "params", help="list the parameters: value, unit, plausible range, role, source",
    description="List every scenario parameter (sim/parameters.py) with its value in a\n"
                "scenario (default: baseline), unit, plausible range (what sensitivity\n"
                "analysis and calibration explore) and role (policy lever, size, initial\n"
                "state, behaviour, switch, shock); --long adds descriptions and sources.",
    arguments=_params_arguments, run=run)
