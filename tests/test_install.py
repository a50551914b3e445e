"""Installed anywhere, it works: the wheel carries the scenarios and the build information.

The test builds the wheel (as ``pip wheel`` does for ``pip install .``), installs it into a
fresh virtual environment and, from an empty temporary directory, lists the scenarios,
runs the baseline from the command line and from Python, and reads the source commit
back from the run's manifest. The fresh environment gets its dependencies from this
interpreter's environment through a ``.pth`` file (so nothing is downloaded but the
build requirements); its own site-packages, holding the wheel, comes first.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--reps", "1", "--years", "0.25", "--warmup", "0", "--workers", "1", "--quiet"]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
         ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def _head() -> str | None:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("install")
    wheels = base / "wheels"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CHILDSIM_SCENARIOS")}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w",
          str(wheels)], cwd=base, env=env)
    (wheel,) = wheels.glob("childsim-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base, env=env)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    purelib = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    deps = [p for p in [*site.getsitepackages(), sysconfig.get_path("purelib"),
                        sysconfig.get_path("platlib")] if Path(p).is_dir()]
    # The wheel goes in first, while the fresh environment sees nothing else: were the
    # outer environment (which may hold this package, installed from the same checkout)
    # already on its path, pip would call the requirement satisfied and install nothing.
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--ignore-installed", str(wheel)], cwd=base, env=env)
    (purelib / "childsim-test-deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    work = base / "empty"
    work.mkdir()
    tmp = base / "tmp"
    tmp.mkdir()
    env["TMPDIR"] = str(tmp)
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    return {"python": str(python), "childsim": str(bindir / "childsim"), "cwd": work,
            "env": env, "venv": venv, "tmp": tmp}


def test_the_installed_package_is_the_wheel(installed: dict) -> None:
    out = _run([installed["python"], "-c", "import sim; print(sim.__file__)"],
               cwd=installed["cwd"], env=installed["env"]).stdout.strip()
    assert Path(out).resolve().is_relative_to(Path(installed["venv"]).resolve())


def test_scenarios_are_found_by_name(installed: dict) -> None:
    out = _run([installed["childsim"], "scenarios"], cwd=installed["cwd"],
               env=installed["env"]).stdout
    for name in ("baseline", "munro_package", "flexible_assessment", "pressure_shock",
                 "recruitment_freeze"):
        assert f"{name} " in out
    assert "no scenarios found" not in out and "invalid" not in out
    assert "sim/data/scenarios/baseline.toml" in out.replace(os.sep, "/")


def test_run_baseline_from_the_command_line(installed: dict) -> None:
    _run([installed["childsim"], "run", "baseline", *TINY], cwd=installed["cwd"],
         env=installed["env"])
    manifest = json.loads((installed["cwd"] / "results" / "baseline" / "manifest.json")
                          .read_text())
    head = _head()
    if head is not None:  # built from a checkout: the commit was written into the wheel
        assert manifest["git"]["commit"] == head and manifest["git"]["source"] == "build"
    for dep in ("numpy", "scipy", "simpy", "pandas", "pyarrow", "SALib", "matplotlib"):
        assert manifest["software"][dep], dep


def test_run_baseline_from_python(installed: dict) -> None:
    code = ("import sim\n"
            "res = sim.run('baseline', reps=1, years=0.25, warmup=0, workers=1)\n"
            "print(res.summary.loc['referrals_per_year', 'mean'])\n"
            "res.close()\n")
    out = _run([installed["python"], "-c", code], cwd=installed["cwd"],
               env=installed["env"]).stdout
    assert float(out.strip().splitlines()[-1]) > 0
    assert not list(Path(installed["tmp"]).glob("childsim-*"))  # the temporary results went
