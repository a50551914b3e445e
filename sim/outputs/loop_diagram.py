"""The causal loop diagram, drawn from the loop declarations the model runs
(:data:`sim.model.loops.LOOPS`), so it cannot drift from them.

Layout: the variables are placed by a force-directed graph layout (Kamada-Kawai, from
networkx, deterministic), then spread apart just enough that no two boxes overlap (their
sizes are measured with the renderer; the drawing's units are inches). Each link is a
curved arrow from box edge to box edge (the curve is cut where it leaves one box and
enters the other, so arrowheads touch the boxes); links of several loops between the
same two variables are drawn side by side with growing curvature. The sign of a link sits
on the middle of its own arrow. Loops are told apart by line style and grey level, named in
a legend below the drawing. Everything is drawn on a :class:`matplotlib.figure.Figure`
without pyplot, so no backend is chosen or changed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path as MplPath

from sim.model.loops import LOOPS, enabled

STYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
GREYS: tuple[str, ...] = ("#000000", "#0072B2", "#D55E00", "#009E73", "#6a3d9a", "#CC79A7")
#: Font sizes (points) of variable names and link signs.
NAME_SIZE, SIGN_SIZE = 10.0, 11.0
#: Space kept between two boxes (inches).
GAP = 0.25


@dataclass(frozen=True)
class Drawn:
    """Where a link was drawn: its loop code, its ends, the sign's position and the arrow."""

    loop: str
    source: str
    target: str
    sign_xy: tuple[float, float]
    arrow: FancyArrowPatch


def _bezier(p0: np.ndarray, c: np.ndarray, p2: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p2


def _segment(a: tuple[float, float], b: tuple[float, float], rad: float,
             size_a: tuple[float, float], size_b: tuple[float, float]
             ) -> tuple[Any, Any, Any, tuple[float, float]]:
    """The part of the arc from box ``a`` to box ``b`` that lies outside both boxes.

    The arc is matplotlib's ``arc3`` curve (a quadratic Bezier whose control point lies
    ``rad`` times the distance off the middle of the chord); coordinates are inches, the
    boxes ``size`` (width, height) around their centres. Returns the control points of the
    visible part (the sub-curve, by blossoming) and the point half-way along it.
    """
    p0, p2 = np.asarray(a, float), np.asarray(b, float)
    d = p2 - p0
    c = (p0 + p2) / 2 + rad * np.array([d[1], -d[0]])
    t = np.linspace(0.0, 1.0, 801)
    pts = _bezier(p0, c, p2, t)
    pad = 0.04
    in_a = (np.abs(pts[:, 0] - p0[0]) <= size_a[0] / 2 + pad) & (
        np.abs(pts[:, 1] - p0[1]) <= size_a[1] / 2 + pad)
    in_b = (np.abs(pts[:, 0] - p2[0]) <= size_b[0] / 2 + pad) & (
        np.abs(pts[:, 1] - p2[1]) <= size_b[1] / 2 + pad)
    out = np.flatnonzero(~in_a & ~in_b)
    ta, tb = (t[out[0]], t[out[-1]]) if out.size else (0.0, 1.0)

    def blossom(u: float, v: float) -> np.ndarray:
        return (1 - u) * (1 - v) * p0 + ((1 - u) * v + u * (1 - v)) * c + u * v * p2

    half = _bezier(p0, c, p2, np.array([(ta + tb) / 2]))[0]
    return (blossom(ta, ta), blossom(ta, tb), blossom(tb, tb),
            (float(half[0]), float(half[1])))


def _layout(variables: list[str], edges: list[tuple[str, str]]) -> dict[str, tuple[float, float]]:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(variables)
    g.add_edges_from(edges)
    if len(variables) == 1:
        return {variables[0]: (0.0, 0.0)}
    pos = nx.kamada_kawai_layout(g)
    return {v: (float(pos[v][0]), float(pos[v][1])) for v in variables}


def _spread(pos: dict[str, tuple[float, float]], sizes: dict[str, tuple[float, float]]
            ) -> float:
    """The smallest scale (inches per layout unit) at which no two boxes overlap."""
    scale = 1.0
    for a, b in itertools.combinations(pos, 2):
        dx = abs(pos[a][0] - pos[b][0])
        dy = abs(pos[a][1] - pos[b][1])
        need_x = (sizes[a][0] + sizes[b][0]) / 2 + GAP
        need_y = (sizes[a][1] + sizes[b][1]) / 2 + GAP
        sx = need_x / dx if dx > 1e-9 else math.inf
        sy = need_y / dy if dy > 1e-9 else math.inf
        scale = max(scale, min(sx, sy))
    return scale


def diagram_figure(values: Mapping[str, Any], *, highlight: Collection[str] | None = None,
                   marks: Mapping[str, str] | None = None, title: str | None = None
                   ) -> tuple[Figure, list[str], list[Drawn]]:
    """The causal loop diagram of the loops the scenario runs.

    ``highlight``: codes of loops to draw strongly (the others faint), e.g. the loops that
    moved in a comparison; ``marks``: a second line for some variables' boxes (e.g. the
    change measured there); ``title`` replaces the heading. Returns the figure, the codes
    of the loops drawn and the links as drawn (for checks).
    """
    marks = dict(marks or {})
    on = enabled(values)
    loops = [lp for lp in LOOPS if on[lp.key]]
    variables: list[str] = []
    for lp in loops:
        for link in lp.links:
            for v in (link.source, link.target):
                if v not in variables:
                    variables.append(v)
    fig = Figure(figsize=(8, 6))
    FigureCanvasAgg(fig)  # this figure's own canvas, to measure text; no backend is chosen
    if not variables:
        fig.text(0.5, 0.5, "No feedback loop is switched on in this scenario.", ha="center")
        return fig, [], []
    edges = [(lk.source, lk.target) for lp in loops for lk in lp.links]
    layout = _layout(variables, edges)

    # measure the boxes (inches)
    renderer = fig.canvas.get_renderer()
    box = {"boxstyle": "round,pad=0.35", "fc": "white", "ec": "black", "lw": 1.0}
    sizes: dict[str, tuple[float, float]] = {}
    shown = {v: f"{v}\n{marks[v]}" if marks.get(v) else v for v in variables}
    for v in variables:
        t = fig.text(0.5, 0.5, shown[v], fontsize=NAME_SIZE, bbox=box, ha="center")
        patch = t.get_bbox_patch()
        t.draw(renderer)
        ext = patch.get_window_extent(renderer)
        sizes[v] = (ext.width / fig.dpi, ext.height / fig.dpi)
        t.remove()
    scale = _spread(layout, sizes) * 1.05
    pos = {v: (x * scale, y * scale) for v, (x, y) in layout.items()}
    xs = [pos[v][0] + s * sizes[v][0] / 2 for v in variables for s in (-1, 1)]
    ys = [pos[v][1] + s * sizes[v][1] / 2 for v in variables for s in (-1, 1)]
    margin = 0.6
    width = max(xs) - min(xs) + 2 * margin
    height = max(ys) - min(ys) + 2 * margin
    legend_h, title_h = 0.3 * math.ceil(len(loops) / 2) + 0.3, 0.5
    fig.set_size_inches(width, height + legend_h + title_h)
    total_h = height + legend_h + title_h
    ax = fig.add_axes((0, legend_h / total_h, 1, height / total_h))
    ax.set_xlim(min(xs) - margin, max(xs) + margin)
    ax.set_ylim(min(ys) - margin, max(ys) + margin)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_label("causal loop diagram")

    texts = {}
    for v, (x, y) in pos.items():
        vbox = dict(box, ec="#0072B2", lw=2.0) if marks.get(v) else box
        texts[v] = ax.text(x, y, shown[v], ha="center", va="center", fontsize=NAME_SIZE,
                           bbox=vbox, zorder=3, gid="loop-variable",
                           fontweight="bold" if marks.get(v) else "normal")
    drawn: list[Drawn] = []
    seen: dict[frozenset[str], int] = {}
    for k, lp in enumerate(loops):
        colour, style = GREYS[k % len(GREYS)], STYLES[k % len(STYLES)]
        faint = highlight is not None and lp.code not in highlight
        alpha = 0.25 if faint else 1.0
        for link in lp.links:
            pair = frozenset((link.source, link.target))
            nth = seen.get(pair, 0)
            seen[pair] = nth + 1
            rad = 0.18 + 0.2 * nth  # the reverse direction curves to the other side
            q0, q1, q2, mid = _segment(pos[link.source], pos[link.target], rad,
                                       sizes[link.source], sizes[link.target])
            arrow = FancyArrowPatch(
                path=MplPath([q0, q1, q2], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3]),
                arrowstyle="-|>", mutation_scale=14, color=colour, linestyle=style,
                linewidth=1.4 if highlight is None or faint else 2.4, shrinkA=0, shrinkB=0,
                zorder=2, gid=f"loop-link-{lp.code}", alpha=alpha)
            ax.add_patch(arrow)
            sx, sy = mid
            ax.text(sx, sy, link.sign, fontsize=SIGN_SIZE, ha="center", va="center",
                    fontweight="bold", color=colour, zorder=4, gid="loop-sign", alpha=alpha,
                    bbox={"boxstyle": "circle,pad=0.12", "fc": "white", "ec": colour,
                          "lw": 0.8})
            drawn.append(Drawn(lp.code, link.source, link.target, (sx, sy), arrow))
    handles = [Line2D([0], [0], color=GREYS[k % len(GREYS)], linestyle=STYLES[k % len(STYLES)],
                      lw=1.6 if highlight is None or lp.code not in highlight else 2.6,
                      alpha=0.35 if highlight is not None and lp.code not in highlight else 1,
                      label=f"{lp.code} {lp.name} ({lp.polarity})"
                      + (" - moved" if highlight is not None and lp.code in highlight else ""))
               for k, lp in enumerate(loops)]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=9,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title or "Causal loop diagram: the loops switched on in this scenario\n"
                 "(+: the next rises with this one; -: it falls)", fontsize=10,
                 y=1 - 0.05 / total_h, va="top")
    return fig, [lp.code for lp in loops], drawn


def draw_diagram(values: Mapping[str, Any], path: str | Path) -> list[str]:
    """Draw the causal loop diagram of the loops the scenario runs to ``path`` (PNG/SVG).

    Returns the codes drawn.
    """
    fig, codes, _ = diagram_figure(values)
    fig.savefig(path, dpi=110, facecolor="white")
    return codes
