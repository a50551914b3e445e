"""Execution backends: where replications run, behind one interface.

A backend has one method, ``map(fn, items)``, yielding ``(item, fn(item))`` as each item
completes, in any order. Seeds belong to replications (``(seed, rep)``), never to the
worker that runs them, so every backend and every worker count gives the same results.

* :class:`LocalBackend`: a pool of local processes (all cores by default); with one
  worker everything runs in this process.
* :class:`DaskBackend`: a Dask distributed cluster, at a scheduler address or, without
  one, a local cluster of worker processes started on first use and closed with
  :meth:`DaskBackend.close` (or a ``with`` block).

Workers stop with their run: a local pool's workers ask Linux to kill them when their
parent dies (``prctl(PR_SET_PDEATHSIG)``) and also watch their parent from a thread (on
any platform), so a run killed in any way (even SIGKILL) leaves no worker behind, writing
into its directory. The worker processes of a local Dask cluster exit when the process
that started them dies (``distributed`` closes them through a pipe), and a scheduler
address is left to its owner.

A backend whose workers cannot see this machine's files (a remote Dask cluster without a
shared filesystem) says so with ``shared_filesystem = False``; the experiment runner then
has each replication write its records on the worker and send the files back, and writes
them here (see :func:`sim.experiments.runs.run_experiment`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Names accepted by :func:`make_backend` (and ``--backend``).
BACKENDS: tuple[str, ...] = ("local", "dask")


class Backend(Protocol):
    """Where replications run. ``map`` yields ``(item, fn(item))`` as each one completes,
    in any order; an exception in ``fn`` propagates out of the iterator."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]: ...


def default_workers() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def shares_files(backend: Any) -> bool:
    """Whether ``backend``'s workers write to this machine's filesystem (default: yes)."""
    return bool(getattr(backend, "shared_filesystem", True))


# -- local processes -------------------------------------------------------------------------------

#: ``prctl`` option: the signal a process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1
#: Seconds between a worker's checks that its parent is alive.
WATCH_INTERVAL = 0.5


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent(parent: int) -> None:
    """Make this (worker) process stop when process ``parent`` dies, however it dies.

    On Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill it the moment its
    parent exits. Everywhere, a daemon thread checks every :data:`WATCH_INTERVAL` seconds
    that the parent is still there (``os.getppid()`` changes when it dies) and ends the
    process if not. A parent already gone when this is called ends it at once. SIGTERM
    gets its default action back (a forked worker inherits the handler with which the
    command line turns SIGTERM into an interrupt, and must not outlive being stopped).
    """
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    ppid = os.getppid()
    if ppid != parent and not _alive(parent):
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            if os.getppid() != ppid or not _alive(parent):
                os._exit(1)

    threading.Thread(target=watch, name="childsim-watch-parent", daemon=True).start()


class LocalBackend:
    """Runs items in a pool of ``workers`` local processes (all cores when None).

    With one worker (or one item) everything runs in this process, with no pool. ``fn``
    and the items must be picklable (a module-level function, or a
    :func:`functools.partial` of one) when a pool is used.

    Examples
    --------
    >>> dict(LocalBackend(1).map(abs, [-1, 2]))
    {-1: 1, 2: 2}
    """

    shared_filesystem = True

    def __init__(self, workers: int | None = None, mp_context: Any = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = default_workers() if workers is None else int(workers)
        self.mp_context = mp_context

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        todo = list(items)
        n = min(self.workers, len(todo))
        if n <= 1:
            for item in todo:
                yield item, fn(item)
            return
        pool = ProcessPoolExecutor(max_workers=n, mp_context=self.mp_context,
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            pending: dict[Future[R], T] = {pool.submit(fn, item): item for item in todo}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    item = pending.pop(fut)
                    yield item, fut.result()
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)

    def close(self) -> None:
        """Nothing to release (a pool lives only for one ``map``)."""

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalBackend(workers={self.workers})"


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and stop running workers at once (on an error or Ctrl-C).

    A replication cut short leaves only hidden temporary files, which readers ignore and
    the next run in the same directory removes.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=10)


# -- Dask distributed ------------------------------------------------------------------------------


#: Dask settings of a local cluster started by :class:`DaskBackend`. A replication is
#: pure Python holding the GIL for seconds; the worker's statistical profiler and its
#: frequent housekeeping callbacks (event-loop tick, system and memory monitors) take it
#: from the replication many times a second, which on a machine with no spare core
#: slowed replications by 10-25%. These keep the monitoring, less often.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class DaskBackend:
    """Runs items as tasks on a Dask distributed cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). Without one, a local
        cluster is started on first use: ``distributed.LocalCluster(processes=True,
        n_workers=workers, threads_per_worker=1)``, with :data:`LOCAL_CLUSTER_CONFIG`.
    workers : int, optional
        Worker processes of the local cluster (default: all cores). Ignored with a
        scheduler address: the cluster has the workers it has.
    client : distributed.Client, optional
        An existing client to use instead (not closed by :meth:`close`).
    shared_filesystem : bool, optional
        Whether the workers see this machine's result directory at the same path. Default:
        True for a local cluster, False with a scheduler address (records are then sent
        back to this process and written here).

    Each item is one task, submitted with ``pure=False`` (so a replication is never taken
    from a cache) and run by a worker with one thread. The cluster (or the connection) is
    released by :meth:`close` or at the end of a ``with`` block.

    Examples
    --------
    >>> with DaskBackend(workers=2) as backend:                 # doctest: +SKIP
    ...     run_experiment(scenario, reps=20, out_dir="results/x", backend=backend)
    """

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None,
                 client: Any = None, shared_filesystem: bool | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.scheduler = scheduler
        self.workers = default_workers() if workers is None else int(workers)
        self._client = client
        self._own_client = client is None
        self._cluster: Any = None
        if shared_filesystem is None:
            shared_filesystem = scheduler is None
        self.shared_filesystem = bool(shared_filesystem)

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connecting or starting the cluster if needed)."""
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler is None:
                import dask

                log.info("starting a local Dask cluster of %d workers", self.workers)
                with dask.config.set(LOCAL_CLUSTER_CONFIG):
                    self._cluster = LocalCluster(
                        processes=True, n_workers=self.workers, threads_per_worker=1,
                        dashboard_address=":0",
                    )
                self._client = Client(self._cluster)
            else:
                log.info("connecting to the Dask scheduler at %s", self.scheduler)
                self._client = Client(self.scheduler)
        return self._client

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        todo = list(items)
        if not todo:
            return
        from distributed import as_completed

        client = self.client
        futures = client.map(fn, todo, pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                item = todo[index[fut.key]]
                yield item, fut.result()
        except BaseException:
            with contextlib.suppress(Exception):
                client.cancel(futures, force=True)
            raise

    def close(self) -> None:
        """Close the client and the local cluster that this backend started."""
        client, cluster = self._client, self._cluster
        self._cluster = None
        if self._own_client:
            self._client = None
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler or f"local cluster of {self.workers} workers"
        return f"DaskBackend({where})"


def make_backend(name: str | None = None, *, workers: int | None = None,
                 scheduler: str | None = None) -> LocalBackend | DaskBackend:
    """A backend by name: ``"local"`` (default) or ``"dask"``.

    ``scheduler`` is only meaningful for Dask (a scheduler address; None starts a local
    cluster of ``workers`` processes). Close the result when done (it is a context
    manager); for local processes that does nothing.
    """
    name = (name or "local").lower()
    if name == "local":
        if scheduler is not None:
            raise ValueError("a scheduler address needs the dask backend (--backend dask)")
        return LocalBackend(workers)
    if name == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ValueError("the dask backend needs the 'distributed' package") from exc
        return DaskBackend(scheduler, workers=workers)
    raise ValueError(f"unknown backend {name!r}: expected one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "Backend",
    "DaskBackend",
    "LocalBackend",
    "default_workers",
    "die_with_parent",
    "make_backend",
    "shares_files",
]
