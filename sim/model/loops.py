"""The feedback loops of the system layer, declared once.

Each loop has a scenario switch under ``[loops]``, a polarity and its causal chain as
signed links between named variables. The system layer (:mod:`sim.model.system`) runs the
equations of a loop only when its switch is on, each guarded by the same declaration;
``childsim loops`` prints this table and :mod:`sim.outputs.loop_diagram` draws the
causal loop diagram from it, so the diagram cannot drift from what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Link:
    """A causal link: a rise in ``source`` moves ``target`` in the direction of ``sign``."""

    source: str
    target: str
    sign: str  # "+" same direction, "-" opposite direction


@dataclass(frozen=True)
class Loop:
    """A named feedback loop.

    Attributes
    ----------
    key : str
        Switch under ``[loops]`` in a scenario.
    code : str
        Short name (R1, R2, R3, B1, B2, I).
    name : str
        Readable name.
    polarity : str
        ``reinforcing`` or ``balancing`` (or ``driver`` for the inspection regime, which
        acts on the loops rather than closing one of its own).
    links : tuple of Link
        The chain, in order.
    """

    key: str
    code: str
    name: str
    polarity: str
    links: tuple[Link, ...]

    def chain(self) -> str:
        """The chain as text, e.g. ``caseload -(+)-> stress -(+)-> leavers``."""
        parts = [self.links[0].source]
        for link in self.links:
            parts.append(f"-({link.sign})-> {link.target}")
        return " ".join(parts)


def _chain(*items: str) -> tuple[Link, ...]:
    """Links from an alternating list: var, sign, var, sign, var ..."""
    return tuple(Link(items[i], items[i + 2], items[i + 1]) for i in range(0, len(items) - 2, 2))


#: Every loop of the system layer.
LOOPS: tuple[Loop, ...] = (
    Loop("workforce_spiral", "R1", "workforce spiral", "reinforcing", _chain(
        "caseload", "+", "stress", "-", "morale", "-", "leavers", "+", "vacancies",
        "+", "caseload")),
    Loop("procedure_creep", "R2", "procedure creep", "reinforcing", _chain(
        "serious case reviews", "+", "pressure", "+", "prescription", "-", "direct work",
        "-", "missed harm", "+", "serious case reviews")),
    Loop("defensive_practice", "R3", "defensive practice", "reinforcing", _chain(
        "pressure", "+", "contacts, s47, plans and court", "+", "caseload", "-", "direct work", "-",
        "missed harm", "+", "serious case reviews", "+", "pressure")),
    Loop("early_help", "B1", "early help", "balancing", _chain(
        "unmet need", "+", "early help and consultations", "-", "contacts", "+",
        "caseload", "-", "direct work", "-", "unmet need")),
    Loop("gatekeeping", "B2", "gatekeeping", "balancing", _chain(
        "caseload", "+", "rationing", "-", "caseload")),
    Loop("inspection_regime", "I", "inspection regime", "driver", _chain(
        "announced inspection", "+", "compliance work", "-", "direct work")),
)

LOOP_KEYS: tuple[str, ...] = tuple(loop.key for loop in LOOPS)


def enabled(values: Mapping[str, Any]) -> dict[str, bool]:
    """Which loops a scenario runs, by key (from its ``loops.*`` values)."""
    return {key: bool(values[f"loops.{key}"]) for key in LOOP_KEYS}


def loop_table(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per loop: code, name, polarity, chain and whether the scenario runs it."""
    on = enabled(values)
    return [
        {"code": lp.code, "key": lp.key, "name": lp.name, "polarity": lp.polarity,
         "chain": lp.chain(), "state": "on" if on[lp.key] else "off"}
        for lp in LOOPS
    ]
