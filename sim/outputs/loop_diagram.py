"""The causal loop diagram, drawn from the loop declarations the model runs
(:data:`sim.model.loops.LOOPS`), so it cannot drift from them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.model.loops import LOOPS, enabled


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
