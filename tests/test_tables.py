"""Terminal tables (sim.cli.tables): measures in words, shares as percentages, abolished
measures not applicable, and every line within 100 columns unless --wide."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.cli.tables import calibration_targets, comparison_table, kpi_table
from sim.outputs.comparison import compare_frames
from sim.outputs.kpis import KPIS
from sim.outputs.labels import KPI_LABELS, kpi_label
from sim.outputs.statistics import summarise

SCENARIOS = ("baseline", "flexible_assessment_from_year_7", "recruitment_freeze")


def _per_rep(seed: int, abolish: bool = False) -> pd.DataFrame:
    """Plausible per-replication values of every shipped KPI (large counts, small shares,
    rare events), 5 replications."""
    rng = np.random.default_rng(seed)
    data = {}
    for name in KPIS:
        lab = kpi_label(name)
        if lab.kind == "share":
            v = rng.uniform(0.05, 0.9) + rng.normal(0, 0.01, 5)
        elif "serious" in name:
            v = rng.poisson(1.0, 5) / 2.0
        else:
            v = rng.uniform(10, 40000) * (1 + rng.normal(0, 0.05, 5))
        if abolish and lab.policy_specific:
            v = np.full(5, np.nan if lab.kind == "share" else 0.0)
        data[name] = v
    return pd.DataFrame(data)


def _comparison() -> pd.DataFrame:
    return compare_frames({"baseline": _per_rep(1), SCENARIOS[1]: _per_rep(2, abolish=True),
                           SCENARIOS[2]: _per_rep(3)}, "baseline")


def test_every_kpi_has_a_label_in_words():
    assert set(KPI_LABELS) == set(KPIS)
    for name, lab in KPI_LABELS.items():
        assert "_" not in lab.label and lab.label[0].isupper(), name
        assert lab.unit and "_" not in lab.unit, name
        if lab.kind == "share":
            assert lab.unit.startswith("%"), name


def test_comparison_table_fits_100_columns_for_the_shipped_kpis():
    text = comparison_table(_comparison(), base="baseline")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert sum("not applicable" in line for line in lines) == 2 * 0 + sum(
        1 for lab in KPI_LABELS.values() if lab.policy_specific)
    assert "-100%" not in text
    assert "%" in text  # shares as percentages
    for name in KPIS:  # every measure named in words, never by its code
        assert name not in text
    wide = comparison_table(_comparison(), base="baseline", wide=True)
    assert max(len(line) for line in wide.splitlines()) > 100
    assert "referrals_per_year" in wide


def test_kpi_table_fits_100_columns_and_bands_only_when_given():
    summary = summarise(_per_rep(4))
    text = kpi_table(summary, targets=calibration_targets())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "England 2010-11 band" in text and ("yes" in text or "NO" in text)
    reform = kpi_table(summary)  # a reform: no band, no in-band mark
    assert "band" not in reform and " NO" not in reform
    assert max(len(line) for line in reform.splitlines()) <= 100
    wide = kpi_table(summary, targets=calibration_targets(), wide=True)
    assert "referrals_per_year" in wide
