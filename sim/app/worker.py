"""One comparison of the app, in a process of its own.

The server starts :func:`job_main` in a new process (``spawn``), so a run never holds the
server's event loop or its interpreter lock, and stopping it is ending a process: SIGTERM
is turned into ``KeyboardInterrupt``, which stops the replications' worker processes and
releases the result directory's lock, as Ctrl-C does on the command line.

The comparison runs in rounds: first a few replications (as many as there are workers, at
least 2), whose results are shown at once, marked as preliminary; then the rest, resumed in
the same directory (finished replications are kept). After each round the figures and the
report's sections are drawn here, not in the server, and written to ``views/``. Messages to
the server go through ``queue`` as tuples: ``("progress", scenario, done, total)``,
``("views", reps)``, ``("done",)``, ``("failed", message)``, ``("cancelled",)``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import signal
import traceback
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

COMPARISON = "comparison"
VIEWS = "views"
ERROR_LOG = "error.log"


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def rounds(reps: int, workers: int) -> list[int]:
    """Replications after each round: a first look of ``max(2, workers)``, then all."""
    first = min(reps, max(2, workers))
    return [first] if first >= reps else [first, reps]


def comparison_options(reform_start: str | None) -> dict[str, Any]:
    """Extra arguments of run_comparison for ``reform_start``, when this version takes it
    (branching from a settled baseline); none otherwise (the reform starts with the run)."""
    from sim.experiments.comparison import run_comparison

    params = inspect.signature(run_comparison).parameters
    if reform_start and "reform_start" in params:
        return {"reform_start": reform_start}
    return {}


def supports_reform_start() -> bool:
    from sim.experiments.comparison import run_comparison

    return "reform_start" in inspect.signature(run_comparison).parameters


def job_main(spec: dict[str, Any], root: str, queue: Any, parent: int) -> None:
    """Run the comparison of ``spec`` into ``root`` (see the module's docstring)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    from sim.experiments.backends import die_with_parent

    die_with_parent(parent)
    out = Path(root)
    try:
        _run(spec, out, queue)
    except KeyboardInterrupt:
        queue.put(("cancelled",))
    except Exception as exc:  # every failure becomes a message; the details go to a log
        queue.put(("failed", failure_message(exc)))
        with contextlib.suppress(OSError):
            (out / ERROR_LOG).write_text(traceback.format_exc(), encoding="utf-8")


def failure_message(exc: BaseException) -> str:
    """A failure in words: the message of the errors childsim raises on bad input, else
    the kind of error and its message (never a traceback)."""
    from sim.experiments.runs import ExperimentError
    from sim.scenario import ScenarioError

    if isinstance(exc, ExperimentError | ScenarioError):
        return f"The run could not start: {exc}"
    if isinstance(exc, MemoryError):
        return "The run ran out of memory: try fewer replications or years."
    if isinstance(exc, OSError):
        return f"The run could not write its results: {exc}"
    text = str(exc).strip() or type(exc).__name__
    return f"The run failed ({type(exc).__name__}): {text}"


def _run(spec: dict[str, Any], out: Path, queue: Any) -> None:
    from sim.experiments.backends import make_backend
    from sim.experiments.comparison import run_comparison

    base, alt = spec["base"], spec["scenario"]
    reps = int(spec["reps"])

    def progress(name: str) -> Any:
        def report(done: int, total: int) -> None:
            queue.put(("progress", name, int(done), int(total)))
        return report

    backend = make_backend(spec.get("backend") or "local", workers=spec.get("workers"),
                           scheduler=spec.get("scheduler"))
    workers = int(getattr(backend, "workers", None) or os.cpu_count() or 1)
    extra = comparison_options(spec.get("reform_start"))
    if spec.get("simulate") is not None:
        extra["simulate"] = spec["simulate"]
    try:
        for n in rounds(reps, workers):
            queue.put(("round", n, reps))
            run_comparison(base, [alt], reps=n, seed=int(spec["seed"]),
                           years=float(spec["years"]), warmup=float(spec["warmup"]),
                           out_dir=out / COMPARISON, resume=True, backend=backend,
                           progress=progress, command=["childsim app"], **extra)
            from sim.app.views import write_views

            queue.put(("stage", "drawing the figures"))
            write_views(out / COMPARISON, out / VIEWS, reps_done=n, reps_total=reps)
            queue.put(("views", n))
    finally:
        backend.close()
    from sim.outputs.report import build_report

    queue.put(("stage", "writing the report"))
    build_report([out / COMPARISON])
    queue.put(("done",))
