"""The calibration targets: published national figures the baseline must reproduce.

They ship with the package as data (``sim/data/calibration/``), unchanged, with their
provenance (see the README there). They are read at run time, never written, and no KPI
is computed from them: they only judge the model's output.
"""

from __future__ import annotations

import io
import os
from importlib import resources

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


def shipped_targets() -> pd.DataFrame:
    """The rows of every shipped target file (:data:`TARGET_FILES`), in file order, with
    a ``file`` column naming the file of each row."""
    frames = []
    for name in TARGET_FILES:
        text = (resources.files("sim") / "data" / "calibration" / name).read_text(
            encoding="utf-8")
        frames.append(pd.read_csv(io.StringIO(text)).assign(file=name))
    df = pd.concat(frames, ignore_index=True)
    if df["kpi"].duplicated().any():
        raise ValueError("a KPI has targets in two files: "
                         + ", ".join(df.loc[df["kpi"].duplicated(), "kpi"]))
    return df


def load_inputs() -> pd.DataFrame:
    """The published inputs (sizes and statutory timescales), indexed by ``input``."""
    text = (resources.files("sim") / "data" / "calibration" / "inputs.csv").read_text(
        encoding="utf-8")
    return pd.read_csv(io.StringIO(text)).set_index("input")
