"""Warnings about a run (sim.outputs.checks): short warm-up, a stock still trending, a
growing backlog."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.clock import DEFAULT_WARMUP_YEARS, MONTH, Window
from sim.outputs.checks import run_warnings, stock_trend


def _stocks(slope_per_month: float, backlog_slope: float = 0.0, reps: int = 4,
            months: int = 48) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frames = []
    for rep in range(reps):
        k = np.arange(1, months + 1)
        frames.append(pd.DataFrame({
            "rep": rep, "month": k, "time": k * MONTH,
            "cin_open": 2000 + slope_per_month * k + rng.normal(0, 15, months),
            "unallocated": np.maximum(0.0, backlog_slope * k + rng.normal(0, 1, months)),
        }))
    return pd.concat(frames, ignore_index=True)


WINDOW = Window(0.0, 48 * MONTH)


def test_a_settled_run_with_the_recommended_warmup_has_no_warning():
    assert run_warnings(_stocks(0.0), WINDOW, DEFAULT_WARMUP_YEARS) == []


def test_short_warmup_is_warned():
    (w,) = run_warnings(_stocks(0.0), WINDOW, 2.0)
    assert w.kind == "warmup" and "shorter than the recommended" in w.message


def test_a_trending_stock_is_warned_with_its_size():
    stocks = _stocks(8.0)  # +384 over four years on ~2,200: about +17%
    trend = stock_trend(stocks, "cin_open", WINDOW)
    assert trend.significant and 0.14 < trend.relative < 0.2
    (w,) = run_warnings(stocks, WINDOW, DEFAULT_WARMUP_YEARS)
    assert w.kind == "trend" and "Children in need" in w.message and "rises" in w.message
    # a drift below the threshold is not worth a warning
    assert run_warnings(_stocks(1.0), WINDOW, DEFAULT_WARMUP_YEARS) == []


def test_growing_unallocated_work_is_warned():
    warnings = run_warnings(_stocks(0.0, backlog_slope=0.5), WINDOW, DEFAULT_WARMUP_YEARS)
    assert [w.kind for w in warnings] == ["backlog"]
    assert "Cases waiting for a social worker keeps growing" in warnings[0].message
