"""Optional dependencies of tests: skipped on a developer's machine, a failure in CI.

A test that needs an optional package or program asks for it here. Locally, when it is
missing the test is skipped with the reason; with ``CI`` set to ``true`` (as
``.ci/run`` is run) it fails instead, so continuous integration cannot pass by skipping.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest


def in_ci() -> bool:
    """Whether the tests run in continuous integration (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip (locally) or fail (in CI) for want of ``reason``."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI=true)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str) -> ModuleType:
    """Import ``name``, or skip (locally) or fail (in CI) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"optional dependency {name!r} is not installed: {exc}")
        raise  # not reached


def require_file(path: Path, what: str) -> Path:
    """``path`` if it exists, else skip (locally) or fail (in CI)."""
    if not path.exists():
        missing(f"{what} ({path}) is not installed")
    return path
