"""The feedback loops of the system layer, declared once.

Each loop has a scenario switch under ``[loops]``, a polarity and its causal chain as
signed links between named variables. The system layer (:mod:`sim.model.system`) runs the
equations of a loop only when its switch is on, each guarded by the same declaration;
``childsim loops`` prints this table and draws the causal loop diagram from it, so the
diagram cannot drift from what runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
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
        Short name (R1, R2, R3, B1, I).
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
        "pressure", "+", "contacts and s47", "+", "caseload", "-", "direct work", "-",
        "missed harm", "+", "serious case reviews", "+", "pressure")),
    Loop("early_help", "B1", "early help", "balancing", _chain(
        "unmet need", "+", "early help and consultations", "-", "contacts", "+",
        "caseload", "-", "direct work", "-", "unmet need")),
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


def draw_diagram(values: Mapping[str, Any], path: str | Path) -> list[str]:
    """Draw the causal loop diagram of the loops the scenario runs to ``path`` (PNG/SVG).

    Variables sit on a circle; each link is an arrow labelled with its sign, coloured
    and styled by loop (distinguishable in greyscale). Returns the codes drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    on = enabled(values)
    loops = [lp for lp in LOOPS if on[lp.key]]
    variables: list[str] = []
    for lp in loops:
        for link in lp.links:
            for v in (link.source, link.target):
                if v not in variables:
                    variables.append(v)
    fig, ax = plt.subplots(figsize=(9, 9))
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    n = max(1, len(variables))
    pos = {v: (math.cos(2 * math.pi * i / n + math.pi / 2),
               math.sin(2 * math.pi * i / n + math.pi / 2)) for i, v in enumerate(variables)}
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1))]
    greys = ["#000000", "#444444", "#777777", "#222222", "#999999"]
    for k, lp in enumerate(loops):
        for link in lp.links:
            (x0, y0), (x1, y1) = pos[link.source], pos[link.target]
            arrow = FancyArrowPatch(
                (x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14,
                connectionstyle=f"arc3,rad={0.15 + 0.07 * k}", color=greys[k % 5],
                linestyle=styles[k % 5], linewidth=1.4, shrinkA=28, shrinkB=28)
            ax.add_patch(arrow)
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            ax.text(mx * 0.92, my * 0.92, link.sign, fontsize=12, ha="center", va="center",
                    fontweight="bold", color=greys[k % 5])
    for v, (x, y) in pos.items():
        ax.text(x, y, v, ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "black"})
    handles = [plt.Line2D([0], [0], color=greys[k % 5], linestyle=styles[k % 5],
                          label=f"{lp.code} {lp.name} ({lp.polarity})")
               for k, lp in enumerate(loops)]
    if handles:
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, -0.05),
                  ncol=2, frameon=False, fontsize=9)
    ax.set_title("Causal loop diagram: loops on in this scenario")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [lp.code for lp in loops]
