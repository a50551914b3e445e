"""Build steps that pyproject.toml cannot declare (the rest of the build is declared there).

* The scenario files: ``scenarios/*.toml`` at the top of the repository is where they are
  written and reviewed; a build copies them into the package as ``sim/data/scenarios/``,
  so an installed package finds ``baseline`` and the reforms by name from any directory.
* The build information: ``sim/_build_info.json`` records the source commit (and whether
  the checkout had uncommitted changes) for the run manifests of an installed package,
  which is not a git checkout. From a source distribution, the file it carries is kept.

Neither is in the repository: a checkout reads ``scenarios/`` and asks git directly.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
BUILD_INFO = "_build_info.json"


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def build_info() -> dict[str, object] | None:
    """The commit of the checkout being built, or what a source distribution carries."""
    top = _git("rev-parse", "--show-toplevel")
    if top is not None and Path(top).resolve() == ROOT:
        status = _git("status", "--porcelain", "--untracked-files=no")
        return {
            "commit": _git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status),
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    carried = ROOT / "sim" / BUILD_INFO
    if carried.is_file():
        return json.loads(carried.read_text(encoding="utf-8"))
    return None


def _write_info(package_dir: Path) -> None:
    info = build_info()
    if info is not None:
        package_dir.mkdir(parents=True, exist_ok=True)
        (package_dir / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n",
                                              encoding="utf-8")


class BuildPy(build_py):
    """``build_py`` that also copies the scenarios and writes the build information."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads scenarios/ and git from the checkout
        package = Path(self.build_lib) / "sim"
        target = package / "data" / "scenarios"
        if SCENARIOS.is_dir():
            shutil.rmtree(target, ignore_errors=True)  # no stale copy of a removed scenario
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted(SCENARIOS.glob("*.toml")):
                shutil.copyfile(path, target / path.name)
        _write_info(package)


class Sdist(sdist):
    """``sdist`` that carries the build information (a source distribution has no git)."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        _write_info(Path(base_dir) / "sim")


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
