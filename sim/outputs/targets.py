"""The calibration targets: published national figures the baseline must reproduce.

They ship with the package as data (``sim/data/calibration/``), unchanged, with their
provenance (see the README there). They are read at run time, never written, and no KPI
is computed from them: they only judge the model's output.
"""

from __future__ import annotations

import io
import os
from importlib import resources

import numpy as np
import pandas as pd

#: The shipped target files, read together (one row per KPI across them).
TARGET_FILES: tuple[str, ...] = ("england-2010-11.csv", "care-flows-2010-11.csv")

#: Weight of a target in the calibration loss, by its confidence: a ``low`` row is a
#: plausibility band, not a fitting target.
CONFIDENCE_WEIGHT: dict[str, float] = {"high": 1.0, "medium": 0.5, "low": 0.1}


def load_targets(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The calibration targets, indexed by KPI name.

    Parameters
    ----------
    path : path-like, optional
        A CSV with the columns of ``england-2010-11.csv`` (default: the shipped files,
        :data:`TARGET_FILES`, together).

    Returns
    -------
    pandas.DataFrame
        Columns ``unit``, ``per_la_value``, ``low``, ``high``, ``confidence``, ``source``,
        ``note`` and the rest of the file, indexed by ``kpi``.
    """
    df = shipped_targets() if path is None else pd.read_csv(path)
    return df.set_index("kpi")


#: Columns a targets file must have (the rest is kept).
REQUIRED_COLUMNS: tuple[str, ...] = ("kpi", "unit", "per_la_value", "low", "high", "confidence")


class TargetsError(ValueError):
    """A targets file that cannot be used: unreadable, or missing columns or values."""


def check_targets(targets: pd.DataFrame | str | os.PathLike[str] | None = None
                  ) -> pd.DataFrame:
    """Read (if a path) and check the targets; return them indexed by KPI name.

    Checks: the file reads as CSV, has :data:`REQUIRED_COLUMNS` and at least one row, every
    ``kpi`` is a distinct non-empty name, ``per_la_value``, ``low`` and ``high`` are finite
    numbers with ``low <= high``. Raises :class:`TargetsError` naming the file, the row
    and the column.
    """
    where = "targets" if targets is None or isinstance(targets, pd.DataFrame) \
        else os.fspath(targets)
    if isinstance(targets, pd.DataFrame):
        df = targets.reset_index() if targets.index.name == "kpi" else targets.copy()
    else:
        try:
            df = load_targets(targets).reset_index()
        except FileNotFoundError:
            raise TargetsError(f"{where}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise TargetsError(f"{where}: cannot read: {reason}") from None
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, KeyError) as exc:
            if isinstance(exc, KeyError):
                raise TargetsError(f"{where}: no column 'kpi'; a targets file has the "
                                   f"columns {', '.join(REQUIRED_COLUMNS)}") from None
            raise TargetsError(f"{where}: not a CSV table: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise TargetsError(f"{where}: missing column(s) {', '.join(missing)}; a targets file "
                           f"has the columns {', '.join(REQUIRED_COLUMNS)}")
    if df.empty:
        raise TargetsError(f"{where}: no targets (the table has no rows)")
    for i, row in enumerate(df.itertuples(index=False), start=2):
        kpi = row.kpi
        if not isinstance(kpi, str) or not kpi.strip():
            raise TargetsError(f"{where}: line {i}: kpi: expected a KPI name, got {kpi!r}")
        for col in ("per_la_value", "low", "high"):
            value = getattr(row, col)
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = float("nan")
            if not np.isfinite(number):
                raise TargetsError(f"{where}: line {i}: {col}: expected a number, "
                                   f"got {value!r}")
        if float(row.low) > float(row.high):
            raise TargetsError(f"{where}: line {i}: low ({row.low}) is above high "
                               f"({row.high})")
    dupes = sorted(set(df["kpi"][df["kpi"].duplicated()]))
    if dupes:
        raise TargetsError(f"{where}: KPI(s) listed more than once: {', '.join(dupes)}")
    df = df.copy()
    for col in ("per_la_value", "low", "high"):
        df[col] = df[col].astype(float)
    df["confidence"] = df["confidence"].fillna("").astype(str)
    df["unit"] = df["unit"].fillna("").astype(str)
    return df.set_index("kpi")


def shipped_targets() -> pd.DataFrame:
    """The rows of every shipped target file (:data:`TARGET_FILES`), in file order, with
    a ``file`` column naming the file of each row."""
    frames = []
    for name in TARGET_FILES:
        frames.append(_shipped_csv(name).assign(file=name))
    df = pd.concat(frames, ignore_index=True)
    if df["kpi"].duplicated().any():
        raise ValueError("a KPI has targets in two files: "
                         + ", ".join(df.loc[df["kpi"].duplicated(), "kpi"]))
    return df


def load_inputs() -> pd.DataFrame:
    """The published inputs (sizes and statutory timescales), indexed by ``input``."""
    return _shipped_csv("inputs.csv").set_index("input")


def _shipped_csv(name: str) -> pd.DataFrame:
    """A CSV file shipped in ``sim/data/calibration/``."""
    text = (resources.files("sim") / "data" / "calibration" / name).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))
