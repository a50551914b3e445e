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

#: Weight of a target in the calibration loss, by its confidence: a ``low`` row is a
#: plausibility band, not a fitting target.
CONFIDENCE_WEIGHT: dict[str, float] = {"high": 1.0, "medium": 0.5, "low": 0.1}


def load_targets(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The calibration targets, indexed by KPI name.

    Parameters
    ----------
    path : path-like, optional
        A CSV with the columns of ``england-2010-11.csv`` (default: the shipped file).

    Returns
    -------
    pandas.DataFrame
        Columns ``unit``, ``per_la_value``, ``low``, ``high``, ``confidence``, ``source``,
        ``note`` and the rest of the file, indexed by ``kpi``.
    """
    if path is None:
        text = (resources.files("sim") / "data" / "calibration" / "england-2010-11.csv"
                ).read_text(encoding="utf-8")
        df = pd.read_csv(io.StringIO(text))
    else:
        df = pd.read_csv(path)
    return df.set_index("kpi")


def load_inputs() -> pd.DataFrame:
    """The published inputs (sizes and statutory timescales), indexed by ``input``."""
    text = (resources.files("sim") / "data" / "calibration" / "inputs.csv").read_text(
        encoding="utf-8")
    return pd.read_csv(io.StringIO(text)).set_index("input")
