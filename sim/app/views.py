"""What the app shows of a comparison, drawn once per round and kept as files.

:func:`write_views` runs in the run's own process (:mod:`sim.app.worker`): it draws the
figures and renders the report's summary and comparison sections into ``views/``, so the
server only reads files. Everything shown uses the report's labels, units and interval
rules (:mod:`sim.outputs.labels`, :func:`sim.outputs.report.section_fragments`).

Files in ``views/``: ``summary.html``, ``comparison.html`` (fragments), ``ripple.png``,
``stocks.png``, ``workload.png``, ``loops.png``, ``forest.png`` (each may be missing when it
could not be drawn: ``problems.json`` says why), ``headline.json`` (a few numbers), and
``views.json`` (replications done and wanted) written last.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FIGURES: tuple[tuple[str, str], ...] = (
    ("ripple", "Where the changes happen along the child's journey: each step's measures, "
               "clear changes marked with their size."),
    ("stocks", "Monthly stocks over time: mean over replications with the 95% interval band, "
               "the reform against the baseline; warm-up shaded."),
    ("workload", "Caseloads and how a social worker's week is split, mean over the measured "
                 "years."),
    ("loops", "The feedback loops: those with a clearly changed variable drawn strongly, the "
              "change written in the variable's box."),
    ("forest", "Every measure's paired change from the baseline with its 95% interval, as a "
               "percentage of the baseline mean; filled markers: the interval excludes zero."),
)
MARKER = "views.json"


def _write(path: Path, data: bytes | str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def write_views(comparison_dir: Path, views_dir: Path, *, reps_done: int,
                reps_total: int) -> None:
    """Draw the views of the comparison in ``comparison_dir`` into ``views_dir``."""
    from sim.outputs import figures, ripple
    from sim.outputs.comparison import read_comparison
    from sim.outputs.loop_diagram import diagram_figure
    from sim.outputs.report import section_fragments

    views_dir.mkdir(parents=True, exist_ok=True)
    table = read_comparison(comparison_dir)
    meta = json.loads((comparison_dir / "comparison.json").read_text(encoding="utf-8"))
    names = [s["name"] for s in meta.get("scenarios", [])]
    base, scenario = names[0], names[1]
    runs = {n: figures.open_result(comparison_dir / n) for n in names}
    for ident, html in section_fragments([comparison_dir]).items():
        _write(views_dir / f"{ident}.html", html.replace("This report compares",
                                                         "This run compares"))
    problems: dict[str, str] = {}

    def draw(ident: str, build: Any, dpi: int = 90) -> None:
        try:
            fig = build()
            _write(views_dir / f"{ident}.png", figures.figure_png(fig, dpi=dpi))
        except Exception as exc:  # one figure failing must not lose the others
            log.warning("figure %s could not be drawn: %s", ident, exc)
            problems[ident] = f"{type(exc).__name__}: {exc}"
            (views_dir / f"{ident}.png").unlink(missing_ok=True)

    draw("ripple", lambda: ripple.ripple_figure(table, scenario))
    draw("stocks", lambda: figures.stocks_figure(list(runs.values())))
    draw("workload", lambda: ripple.workload_figure(runs))

    def loops() -> Any:
        moved, marks = ripple.loop_marks(table, scenario)
        fig, _, _ = diagram_figure(
            runs[scenario].values, highlight=moved, marks=marks,
            title="Causal loop diagram of the reform: loops that moved drawn strongly\n"
                  "(a variable's box gives its clear change; +: the next rises with this "
                  "one; -: it falls)")
        return fig

    draw("loops", loops, dpi=95)
    draw("forest", lambda: figures.forest_figure(table))
    ch = ripple.changes(table, scenario)
    clear = sorted((c for c in ch.values() if c.clear), key=lambda c: c.kpi)
    headline = {
        "base": base, "scenario": scenario,
        "clear": len(clear), "measures": sum(c.applicable for c in ch.values()),
        "changes": [{"kpi": c.kpi, "label": c.label, "base": c.base, "value": c.value,
                     "change": c.change} for c in clear],
    }
    _write(views_dir / "headline.json", json.dumps(headline, indent=1))
    _write(views_dir / "problems.json", json.dumps(problems, indent=1))
    _write(views_dir / MARKER, json.dumps({"reps_done": reps_done, "reps_total": reps_total,
                                           "base": base, "scenario": scenario}))


def read_marker(views_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((views_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def zip_directory(directory: Path, target: Path) -> Path:
    """``directory`` as a zip file at ``target`` (lock and temporary files left out;
    Parquet files, compressed already, stored as they are)."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w") as z:
        for path in sorted(directory.rglob("*")):
            rel = path.relative_to(directory)
            if not path.is_file() or any(p.startswith(".") for p in rel.parts):
                continue
            method = zipfile.ZIP_STORED if path.suffix in (".parquet", ".png") \
                else zipfile.ZIP_DEFLATED
            z.write(path, Path(directory.name) / rel, compress_type=method)
    os.replace(tmp, target)
    return target


def copy_file(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst
