"""Workers stop with their run: a ``childsim run`` killed with SIGKILL (no chance to clean
up) leaves no worker process behind, and its directory's lock is free again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

#: A ``childsim run`` whose replications sleep (the model replaced by tests/fakes.py's
#: slow_simulate), with two pool workers.
CLI_SCRIPT = textwrap.dedent("""
    import sys
    import sim.model.simulation as model
    from fakes import slow_simulate
    from sim import cli

    model.simulate = slow_simulate
    sys.exit(cli.main(sys.argv[1:]))
""")

#: The same through a local Dask cluster (its workers import the fake from tests/).
DASK_SCRIPT = textwrap.dedent("""
    import sys
    from fakes import slow_simulate
    from sim.experiments.backends import DaskBackend
    from sim.experiments.runs import run_experiment
    from sim.scenario import load_scenario

    with DaskBackend(workers=2) as backend:
        run_experiment(load_scenario("baseline"), reps=4, years=1, warmup=0,
                       out_dir=sys.argv[1], backend=backend, simulate=slow_simulate)
""")


def _start(script: str, args: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]),
           "CHILDSIM_TEST_SLEEP": "120"}
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_workers(proc: subprocess.Popen[bytes], n: int, timeout: float) -> list[int]:
    """Pids of the descendants of ``proc`` once there are ``n`` of them running Python."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            kids = [k for k in parent.children(recursive=True) if k.is_running()]
        except psutil.NoSuchProcess:
            kids = []
        if len(kids) >= n:
            time.sleep(1.0)  # let the workers start their replications
            return [k.pid for k in parent.children(recursive=True)]
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} worker processes after {timeout} s")


def _gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive (not zombies) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.1)
    return alive


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigkill_of_childsim_run_stops_its_pool_workers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start(CLI_SCRIPT, ["run", "--reps", "4", "--years", "1", "--warmup", "0",
                               "--workers", "2", "--quiet", "--out", str(out)], tmp_path)
    try:
        workers = _wait_for_workers(proc, 2, timeout=60)
        assert (out / ".childsim.lock").exists()  # held by the run
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = _gone(workers, timeout=5)
        assert not left, f"workers {left} outlived their run"
    finally:
        if proc.poll() is None:
            proc.kill()
    # nothing was finished, and the lock is free: a resume may start at once
    assert not list((out / "replications").glob("rep-*.json"))
    from sim.outputs.files import DirectoryLock

    with DirectoryLock(out):
        pass


def test_sigterm_stops_the_run_and_its_workers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start(CLI_SCRIPT, ["run", "--reps", "4", "--years", "1", "--warmup", "0",
                               "--workers", "2", "--quiet", "--out", str(out)], tmp_path)
    try:
        workers = _wait_for_workers(proc, 2, timeout=60)
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=20)
        assert code == 130
        assert not _gone(workers, timeout=5)
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (out / ".childsim.lock").exists()


@pytest.mark.slow
def test_sigkill_stops_a_local_dask_cluster(tmp_path: Path) -> None:
    proc = _start(DASK_SCRIPT, [str(tmp_path / "out")], tmp_path)
    try:
        workers = _wait_for_workers(proc, 2, timeout=120)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = _gone(workers, timeout=10)
        assert not left, f"Dask processes {left} outlived their run"
    finally:
        if proc.poll() is None:
            proc.kill()
