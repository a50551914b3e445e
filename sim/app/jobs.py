"""Runs of the app: one process per comparison, a cache by what was asked, and who is waiting.

A run is identified by its :func:`run_key`: the digests of the resolved base and reform
scenarios (and the reform's name, which names its result directory), the seed, the
replications, the years, the warm-up and when the reform starts. Its files live in
``WORKSPACE/runs/<key>/`` (``comparison/``: the result directory; ``views/``: what the page
shows). Asking again for a finished run is answered from there at once; asking for a run
that is under way joins it.

Each browser session holds only the ids of the runs it asked for and reads only those, so
two tabs never see each other's results. A session that cancels leaves a run it shares with
another session running; the run's process is ended when no session waits for it any more.
At most ``max_running`` runs go at once (others wait their turn), so a shared server is not
swamped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import queue as queue_mod
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.app import views
from sim.app.worker import COMPARISON, VIEWS, job_main

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = (
    "queued", "running", "finished", "failed", "cancelled")


def run_key(base: Any, scenario: Any, *, reps: int, years: float, warmup: float, seed: int,
            reform_start: str | None) -> str:
    """The cache key of a comparison (hex, 20 characters)."""
    text = json.dumps({
        "base": base.digest(), "scenario": scenario.digest(), "name": scenario.name,
        "reps": int(reps), "years": float(years), "warmup": float(warmup), "seed": int(seed),
        "reform_start": reform_start,
    }, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class Job:
    """One comparison and what is known of it."""

    id: str
    key: str
    root: Path
    reps: int
    spec: dict[str, Any] = field(repr=False)
    state: str = QUEUED
    message: str = ""
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)
    round_reps: int = 0
    stage: str = ""
    views_reps: int = 0
    started: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    first_views_at: float | None = None
    sessions: set[str] = field(default_factory=set)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    process: Any = field(default=None, repr=False)

    @property
    def comparison_dir(self) -> Path:
        return self.root / COMPARISON

    @property
    def views_dir(self) -> Path:
        return self.root / VIEWS

    @property
    def report(self) -> Path:
        return self.comparison_dir / "report.html"

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def status(self) -> str:
        """The run's state in words."""
        if self.state == QUEUED:
            return "Waiting for another run on this server to finish."
        if self.state == RUNNING:
            parts = [f"{name.replace('_', ' ')}: {done} of {total} replications"
                     for name, (done, total) in self.progress.items()]
            head = (f"Running the first {self.round_reps} of {self.reps} replications"
                    if 0 < self.round_reps < self.reps else f"Running {self.reps} replications")
            if self.views_reps and self.views_reps < self.reps:
                head += f" (preliminary results of {self.views_reps} shown below)"
            if self.stage:
                done = self.round_reps or self.reps
                return (f"{self.stage[:1].upper()}{self.stage[1:]} ({done} of {self.reps} "
                        "replications done).")
            return head + (": " + "; ".join(parts) if parts else ": starting")
        if self.state == FINISHED:
            return f"Finished: {self.reps} replications of each scenario."
        if self.state == CANCELLED:
            return "Cancelled. Finished replications are kept: running it again resumes."
        return self.message or "The run failed."

    def fraction(self) -> float:
        """Share of the replications done (both scenarios)."""
        if self.state == FINISHED:
            return 1.0
        total = 2 * self.reps
        done = sum(min(d, self.reps) for d, _ in self.progress.values())
        return min(1.0, done / total) if total else 0.0


class JobManager:
    """Starts, caches and stops the app's runs (see the module's docstring).

    ``workers``, ``backend`` and ``scheduler`` are passed to the runs' backend as on the
    command line; ``simulate`` replaces the model (tests only).
    """

    def __init__(self, workspace: str | os.PathLike[str], *, max_running: int = 1,
                 workers: int | None = None, backend: str | None = None,
                 scheduler: str | None = None,
                 simulate: Callable[..., Any] | None = None) -> None:
        self.workspace = Path(workspace)
        (self.workspace / "runs").mkdir(parents=True, exist_ok=True)
        self.workers, self.backend, self.scheduler = workers, backend, scheduler
        self.simulate = simulate
        self._jobs: dict[str, Job] = {}
        self._by_key: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max(1, int(max_running)))
        self._context = multiprocessing.get_context("spawn")
        self._closed = False

    # -- asking ------------------------------------------------------------------------------

    def submit(self, base: Any, scenario: Any, *, reps: int, years: float, warmup: float,
               seed: int, reform_start: str | None, session: str) -> Job:
        """The job of this comparison for ``session``: finished from the cache, joined when
        under way, else started (or queued)."""
        key = run_key(base, scenario, reps=reps, years=years, warmup=warmup, seed=seed,
                      reform_start=reform_start)
        with self._lock:
            if self._closed:
                raise RuntimeError("the server is stopping")
            job = self._by_key.get(key)
            if job is not None and job.active:
                job.sessions.add(session)
                return job
            root = self.workspace / "runs" / key
            spec = {"base": base, "scenario": scenario, "reps": reps, "years": years,
                    "warmup": warmup, "seed": seed, "reform_start": reform_start,
                    "workers": self.workers, "backend": self.backend,
                    "scheduler": self.scheduler, "simulate": self.simulate}
            job = Job(uuid.uuid4().hex, key, root, int(reps), spec, sessions={session})
            marker = views.read_marker(job.views_dir)
            if marker and marker.get("reps_done") == int(reps) and job.report.is_file():
                job.state, job.views_reps, job.finished_at = FINISHED, int(reps), job.started
                job.first_views_at = job.started
            self._jobs[job.id] = job
            self._by_key[key] = job
        if job.state != FINISHED:
            root.mkdir(parents=True, exist_ok=True)
            threading.Thread(target=self._run, args=(job,), daemon=True,
                             name=f"childsim-app-{key[:8]}").start()
        return job

    def get(self, job_id: str, session: str) -> Job | None:
        """The job, if ``session`` asked for it (a session never sees another's runs)."""
        job = self._jobs.get(job_id)
        return job if job is not None and session in job.sessions else None

    def cancel(self, job_id: str, session: str) -> None:
        """``session`` no longer waits for the job; it stops when no session does."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or session not in job.sessions:
                return
            job.sessions.discard(session)
            if job.active and not job.sessions:
                job.cancel.set()
                self._stop(job)

    def forget(self, session: str) -> None:
        """A session closed: cancel what only it waited for."""
        for job in list(self._jobs.values()):
            if session in job.sessions:
                self.cancel(job.id, session)

    def close(self) -> None:
        """Stop every run (the server is stopping)."""
        with self._lock:
            self._closed = True
            jobs = [j for j in self._jobs.values() if j.active]
        for job in jobs:
            job.cancel.set()
            self._stop(job)
        for job in jobs:
            if job.process is not None:
                job.process.join(timeout=15)

    # -- running -----------------------------------------------------------------------------

    @staticmethod
    def _stop(job: Job) -> None:
        proc = job.process
        if proc is not None and proc.is_alive():
            proc.terminate()  # SIGTERM: the run stops its workers and releases its lock

    def _run(self, job: Job) -> None:
        with self._slots:
            if job.cancel.is_set():
                self._end(job, CANCELLED)
                return
            q = self._context.Queue()
            proc = self._context.Process(
                target=job_main, args=(job.spec, str(job.root), q, os.getpid()),
                name=f"childsim-app-run-{job.key[:8]}")
            job.state = RUNNING
            try:
                proc.start()
            except Exception as exc:
                log.exception("could not start a run")
                job.message = f"The run could not start: {exc}"
                self._end(job, FAILED)
                return
            job.process = proc
            if job.cancel.is_set():
                self._stop(job)
            outcome = None
            while outcome is None:
                try:
                    msg = q.get(timeout=0.3)
                except queue_mod.Empty:
                    if not proc.is_alive():
                        msg = self._drain(q)
                        if msg is None:
                            outcome = CANCELLED if job.cancel.is_set() else FAILED
                            if outcome == FAILED:
                                job.message = ("The run stopped unexpectedly (exit code "
                                               f"{proc.exitcode}); the server keeps running.")
                            break
                    else:
                        continue
                outcome = self._handle(job, msg)
            proc.join(timeout=30)
            self._end(job, outcome)

    @staticmethod
    def _drain(q: Any) -> Any:
        try:
            return q.get(timeout=0.5)
        except queue_mod.Empty:
            return None

    def _handle(self, job: Job, msg: tuple[Any, ...]) -> str | None:
        kind = msg[0]
        if kind == "progress":
            _, name, done, total = msg
            job.progress[str(name)] = (int(done), int(total))
        elif kind == "stage":
            job.stage = str(msg[1])
        elif kind == "round":
            job.stage = ""
            job.round_reps = int(msg[1])
        elif kind == "views":
            job.stage = ""
            job.views_reps = int(msg[1])
            if job.first_views_at is None:
                job.first_views_at = time.monotonic()
        elif kind == "done":
            return FINISHED
        elif kind == "failed":
            job.message = str(msg[1])
            return FAILED
        elif kind == "cancelled":
            return CANCELLED
        return None

    def _end(self, job: Job, state: str) -> None:
        job.state = state
        job.finished_at = time.monotonic()
        job.process = None
        log.info("run %s %s", job.key, state)
