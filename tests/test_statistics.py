"""Tests of across-replication statistics (t intervals, summaries, paired differences)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.outputs.statistics import mean_ci, paired_difference, summarise

# Student t quantiles (two-sided 95%): t_{0.975, 4} and t_{0.975, 2}.
T975_DF4 = 2.7764451051977934
T975_DF2 = 4.302652729749462


def test_mean_ci_hand_computed():
    # values 1..5: mean 3; s^2 = (4+1+0+1+4)/4 = 2.5; half = t_{.975,4} * sqrt(2.5) / sqrt(5)
    mean, half, n = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert n == 5
    assert mean == pytest.approx(3.0)
    assert half == pytest.approx(T975_DF4 * math.sqrt(2.5) / math.sqrt(5))
    assert half == pytest.approx(1.9632, abs=1e-4)


def test_mean_ci_drops_nans_and_other_confidence():
    # values 2, 4, 9 (NaN dropped): mean 5; s^2 = (9+1+16)/2 = 13; 90% uses t_{.95,2}=2.919986
    mean, half, n = mean_ci([2.0, np.nan, 4.0, 9.0], confidence=0.90)
    assert n == 3
    assert mean == pytest.approx(5.0)
    assert half == pytest.approx(2.9199855803537242 * math.sqrt(13.0) / math.sqrt(3.0))


def test_mean_ci_degenerate_sizes():
    mean, half, n = mean_ci([7.0])
    assert (mean, n) == (7.0, 1)
    assert math.isnan(half)
    mean, half, n = mean_ci([np.nan, np.nan])
    assert n == 0 and math.isnan(mean) and math.isnan(half)
    mean, half, n = mean_ci([])
    assert n == 0 and math.isnan(mean) and math.isnan(half)
    with pytest.raises(ValueError):
        mean_ci([1.0, 2.0], confidence=1.5)


def test_mean_ci_constant_sample_has_zero_width():
    mean, half, n = mean_ci([4.0, 4.0, 4.0])
    assert (mean, half, n) == (4.0, 0.0, 3)


def test_coverage_of_95_percent_interval():
    # 2000 samples of 10 normal values: the interval covers the true mean ~95% of the time.
    rng = np.random.default_rng(20110331)
    true_mean = 3.0
    covered = 0
    trials = 2000
    for _ in range(trials):
        sample = rng.normal(true_mean, 2.0, size=10)
        mean, half, _n = mean_ci(sample)
        covered += abs(mean - true_mean) <= half
    assert 0.93 <= covered / trials <= 0.97


def test_summarise_columns_and_values():
    per_rep = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 1.0, np.nan, 4.0, 1.0]},
        index=pd.RangeIndex(5, name="rep"),
    )
    out = summarise(per_rep)
    assert list(out.columns) == ["mean", "ci_low", "ci_high", "half_width", "n"]
    assert list(out.index) == ["a", "b"]
    half_a = T975_DF4 * math.sqrt(2.5) / math.sqrt(5)
    assert out.loc["a", "mean"] == pytest.approx(3.0)
    assert out.loc["a", "half_width"] == pytest.approx(half_a)
    assert out.loc["a", "ci_low"] == pytest.approx(3.0 - half_a)
    assert out.loc["a", "ci_high"] == pytest.approx(3.0 + half_a)
    # b: 1, 1, 4, 1 -> mean 7/4; n 4
    assert out.loc["b", "n"] == 4
    assert out.loc["b", "mean"] == pytest.approx(1.75)


def test_paired_difference_hand_computed():
    # b - a = 1, 2, 3: mean 2; s^2 = 1; half = t_{.975,2} / sqrt(3)
    mean, half, n = paired_difference([10.0, 20.0, 30.0], [11.0, 22.0, 33.0])
    assert n == 3
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(T975_DF2 / math.sqrt(3.0))


def test_paired_difference_drops_incomplete_pairs_and_checks_length():
    mean, _half, n = paired_difference([1.0, np.nan, 3.0], [2.0, 5.0, 5.0])
    assert n == 2 and mean == pytest.approx(1.5)
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_paired_narrower_than_unpaired_for_correlated_pairs():
    rng = np.random.default_rng(7)
    common = rng.normal(100.0, 10.0, size=30)
    a = common + rng.normal(0.0, 1.0, size=30)
    b = common + 2.0 + rng.normal(0.0, 1.0, size=30)
    _mean, paired_half, _n = paired_difference(a, b)
    _ma, half_a, _ = mean_ci(a)
    _mb, half_b, _ = mean_ci(b)
    unpaired_half = math.sqrt(half_a**2 + half_b**2)
    assert paired_half < unpaired_half / 3


def test_welch_difference_matches_scipy():
    from scipy import stats as st

    from sim.outputs.statistics import welch_difference

    a = np.array([10.0, 12.0, 9.5, 11.0, 13.0])
    b = np.array([14.0, 15.5, 12.0, 16.0, 13.5, 18.0])
    diff, half, df = welch_difference(a, b)
    ci = st.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert diff - half == pytest.approx(ci.low) and diff + half == pytest.approx(ci.high)
    assert 4 < df < 9
    assert welch_difference([1.0, 1.0], [2.0, 2.0])[:2] == (1.0, 0.0)
    assert math.isnan(welch_difference([1.0], [2.0, 3.0])[1])
    assert math.isnan(welch_difference([], [2.0])[0])


def test_relative_half_width():
    from sim.outputs.statistics import relative_half_width

    assert relative_half_width(-200.0, 10.0) == 0.05
    assert relative_half_width(0.0, 0.0) == 0.0
    assert relative_half_width(0.0, 1.0) == math.inf
    assert math.isnan(relative_half_width(math.nan, 1.0))


# -- intervals within a measure's bounds -------------------------------------------------------


def test_bounded_interval_of_a_rare_event_never_goes_below_zero_and_covers():
    """Serious case reviews and the like: a fraction of an event per replication. The log-scale
    interval never goes below zero and still covers the true mean about 95% of the time
    (the symmetric t interval goes below zero in a large share of these samples)."""
    from sim.outputs.statistics import bounded_mean_ci

    rng = np.random.default_rng(16)
    true_rate, years, reps, trials = 0.5, 2.0, 10, 2000
    covered = below_zero_t = 0
    for _ in range(trials):
        x = rng.poisson(true_rate * years, reps) / years
        mean, lo, hi, n = bounded_mean_ci(x, lower=0.0)
        assert n == reps and lo >= 0.0 and lo <= mean <= hi
        covered += lo <= true_rate <= hi
        m, half, _ = mean_ci(x)
        below_zero_t += m - half < 0
    assert 0.93 <= covered / trials <= 0.98
    assert below_zero_t / trials > 0.05  # the problem the bounded interval solves


def test_bounded_interval_of_a_share_stays_in_zero_one_and_covers():
    from sim.outputs.statistics import bounded_mean_ci

    rng = np.random.default_rng(7)
    p, trials = 0.03, 2000
    covered = 0
    for _ in range(trials):
        x = rng.binomial(80, p, 5) / 80
        _, lo, hi, _ = bounded_mean_ci(x, lower=0.0, upper=1.0)
        assert 0.0 <= lo <= hi <= 1.0
        covered += lo <= p <= hi
    assert 0.92 <= covered / trials <= 0.985


def test_bounded_interval_edge_cases():
    from sim.outputs.statistics import bounded_mean_ci

    assert bounded_mean_ci([0.0, 0.0, 0.0], lower=0.0) == (0.0, 0.0, 0.0, 3)
    assert bounded_mean_ci([1.0, 1.0], lower=0.0, upper=1.0) == (1.0, 1.0, 1.0, 2)
    mean, lo, hi, n = bounded_mean_ci([5.0])
    assert mean == 5.0 and math.isnan(lo) and math.isnan(hi) and n == 1
    # unbounded: the ordinary t interval
    m, half, _ = mean_ci([1.0, 2.0, 4.0])
    assert bounded_mean_ci([1.0, 2.0, 4.0])[1:3] == pytest.approx((m - half, m + half))
    # far from the bound the log-scale interval is close to the t interval
    x = [100.0, 102.0, 98.0, 101.0, 99.0]
    m, half, _ = mean_ci(x)
    _, lo, hi, _ = bounded_mean_ci(x, lower=0.0)
    assert (lo, hi) == pytest.approx((m - half, m + half), rel=1e-3)


def test_summarise_uses_the_registered_bounds_of_each_kpi():
    per_rep = pd.DataFrame({"serious_case_reviews_per_year": [0.0, 0.0, 1.5],
                            "rereferral_rate_12m": [0.01, 0.0, 0.02],
                            "something_else": [0.0, 0.0, 1.5]})
    s = summarise(per_rep)
    assert s.loc["serious_case_reviews_per_year", "ci_low"] > 0.0
    assert 0.0 < s.loc["rereferral_rate_12m", "ci_low"] < s.loc["rereferral_rate_12m",
                                                                 "ci_high"] < 1.0
    assert s.loc["something_else", "ci_low"] < 0.0  # unknown: unbounded t interval
