"""Every figure, rendered: its texts stay inside the canvas, its legends cover no data, the
causal loop diagram's boxes do not overlap and each sign sits on its own arrow, and the
library never switches the user's matplotlib backend."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from tiny_runs import SCENARIOS, tiny_runs

from sim.outputs import figures as F
from sim.outputs.comparison import compare_frames
from sim.outputs.results import load_result

PACKAGE = Path(__file__).resolve().parents[1] / "sim"
TOLERANCE = 1.0  # pixels


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_runs(tmp_path_factory)


def _morris() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    params = [f"section{i}.a_long_parameter_name_{j}" for i in range(4) for j in range(5)]
    return pd.DataFrame([{"kpi": k, "param": p, "mu_star": abs(rng.normal(1, 1)),
                          "mu_star_conf": 0.2 * rng.random(), "sigma": abs(rng.normal(1, 1)),
                          "mu": 0.0} for k in ("cin_open", "missed_harm_per_year")
                         for p in params])


def _warmup() -> SimpleNamespace:
    months = np.arange(1, 121)
    series = pd.DataFrame({"time": months * 30.44, "mean": 100 - 50 * np.exp(-months / 20),
                           "rep-0000": 100 - 50 * np.exp(-months / 20) + 1})
    mser = SimpleNamespace(batch=5, batch_means=series["mean"].to_numpy()[::5][:24])
    return SimpleNamespace(series=series, mser=mser, stock="cin_open", scenario="baseline",
                           reps=1, months=40, years=40 / 12)


def _figures(runs: dict[str, Path]) -> dict[str, Figure]:
    dirs = [runs[n] for n in SCENARIOS]
    table = compare_frames({n: load_result(runs[n]).per_rep for n in SCENARIOS}, "baseline")
    return {
        "stocks": F.stocks_figure(dirs),
        "flow (one)": F.flow_figure(dirs[:1]),
        "flow (two)": F.flow_figure(dirs),
        "distributions": F.distributions_figure(dirs),
        "forest": F.forest_figure(table),
        "morris": F.sensitivity_figure(_morris()),
        "sobol": F.sensitivity_figure(_morris().assign(ST=lambda d: d["mu_star"],
                                                       ST_conf=0.1).drop(columns="mu_star")),
        "loops": F.loop_figure(runs["baseline"]),
        "validation": F.validation_figure(dirs[:1]),
        "warm-up": F.warmup_figure(_warmup()),
    }


def _renderer(fig: Figure):
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_every_text_lies_inside_the_canvas_and_legends_cover_no_data(runs):
    for name, fig in _figures(runs).items():
        renderer = _renderer(fig)
        canvas = fig.bbox
        # tick labels count through their axes' tight box, which holds only those drawn
        ticks = {id(lab) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                 for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                 for lab in (tick.label1, tick.label2)}
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and id(t) not in ticks]
        assert texts, name
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
        boxes += [(f"axes {ax.get_label()!r}", ax.get_tightbbox(renderer)) for ax in fig.axes]
        for text, box in boxes:
            assert (box.x0 >= canvas.x0 - TOLERANCE and box.x1 <= canvas.x1 + TOLERANCE
                    and box.y0 >= canvas.y0 - TOLERANCE and box.y1 <= canvas.y1 + TOLERANCE), \
                (name, text, box, canvas)
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        for legend in legends:
            lb = legend.get_window_extent(renderer)
            for ax in fig.axes:
                if not ax.axison and ax.get_label() != "causal loop diagram":
                    continue
                data = [a for a in (*ax.lines, *ax.collections, *ax.patches)
                        if a.get_visible() and not str(a.get_label()).startswith("_row")]
                for a in data:
                    ab = a.get_window_extent(renderer)
                    if not np.isfinite(ab.get_points()).all() or (ab.width == 0
                                                                  and ab.height == 0):
                        continue  # an empty artist
                    assert not lb.overlaps(ab), (name, legend, a)


def test_loop_diagram_boxes_do_not_overlap_and_signs_sit_on_their_arrows(runs):
    from sim.outputs.loop_diagram import diagram_figure

    values = F.open_result(runs["baseline"]).values
    fig, codes, drawn = diagram_figure(values)
    assert codes
    renderer = _renderer(fig)
    (ax,) = fig.axes
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in ax.texts
             if t.get_gid() == "loop-variable"]
    assert len(boxes) > 5
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    t = np.linspace(0.0, 1.0, 200)
    for d in drawn:  # the arrow's path (data coordinates), its curves evaluated
        points = np.concatenate([seg(t) if seg.degree else seg.control_points
                                 for seg, _ in d.arrow.get_path().iter_bezier()])
        verts = ax.transData.transform(points)
        sign = ax.transData.transform(d.sign_xy)
        assert np.min(np.hypot(*(verts - sign).T)) < 2.0, (d.loop, d.source, d.target)
        for b in boxes:  # and outside every box
            assert not b.contains(*sign)


def test_the_library_never_chooses_a_matplotlib_backend():
    offenders = [str(p) for p in PACKAGE.rglob("*.py")
                 if re.search(r"matplotlib\.use\(|import matplotlib\.pyplot|pyplot",
                              p.read_text(encoding="utf-8").replace(
                                  "without pyplot", ""))]
    assert offenders == []
