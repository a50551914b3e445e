"""Small deterministic stand-ins for ``sim.model.simulation.simulate``, for the experiment tests.

They write journey batches of :data:`sim.records.JOURNEY_SCHEMA` and monthly stocks of
:data:`sim.records.STOCK_COLUMNS`, so that the real KPI code runs on their records, and
their KPI values are known in advance:

* :func:`referrals_simulate`: replication ``rep`` has ``REFERRALS(rep)`` referrals, spread
  evenly over the measured window, so ``referrals_per_year`` is that count per year.
* :func:`staff_simulate`: ``referrals_per_year`` is ``10 * front_door.staff_fte`` (rounded),
  whatever the other parameters.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.clock import MONTH, YEAR
from sim.records import JOURNEY_SCHEMA, STOCK_COLUMNS

CALLS_ENV = "CHILDSIM_TEST_CALLS"
_DICT = pa.dictionary(pa.int8(), pa.string())


def referrals_of(rep: int) -> int:
    """110, 90, 110, 90, ...: mean 100, so the relative precision is easy to work out."""
    return 110 if rep % 2 == 0 else 90


def _note_call(rep: int) -> None:
    calls = os.environ.get(CALLS_ENV)
    if calls:
        Path(calls, f"rep-{rep:04d}-{uuid.uuid4().hex}").touch()


def emit_referrals(journey_sink, rep: int, n: int, warmup_years: float, years: float) -> None:
    """``n`` referral events evenly inside the measured window, in two batches."""
    start, end = warmup_years * YEAR, (warmup_years + years) * YEAR
    times = start + (np.arange(n) + 0.5) * (end - start) / max(n, 1)
    for part in (slice(0, n // 2), slice(n // 2, n)):
        t = times[part]
        m = len(t)
        journey_sink(pa.record_batch(
            [
                pa.array(np.full(m, rep), pa.int32()),
                pa.array(t, pa.float64()),
                pa.array(np.arange(m) + (0 if part.start == 0 else n), pa.int64()),
                pa.array(np.ones(m), pa.int32()),
                pa.array(["referral"] * m).dictionary_encode().cast(_DICT),
                pa.array(["referral"] * m).dictionary_encode().cast(_DICT),
                pa.array(np.zeros(m), pa.int32()),
                pa.array(np.full(m, 2), pa.int8()),
                pa.array(np.full(m, 2), pa.int8()),
                pa.array([""] * m).dictionary_encode().cast(_DICT),
                pa.array(np.full(m, -3000.0)),  # birth (days)
                pa.array(np.zeros(m, dtype=bool)),
            ],
            schema=JOURNEY_SCHEMA,
        ))


def stocks_frame(rep: int, seed: int, warmup_years: float, years: float,
                 level: float = 100.0, transient_months: int = 0) -> pd.DataFrame:
    """Monthly stocks: ``level`` plus small noise, after an optional decaying transient."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(rep,))))
    months = max(1, int(round((warmup_years + years) * YEAR / MONTH)))
    data = {c: rng.random(months) for c in STOCK_COLUMNS}
    series = level + rng.normal(0.0, 1.0, months)
    if transient_months:
        # a decaying transient, then a steady state whose 5-month means are all equal, so
        # MSER-5 cuts exactly at the end of the transient (a multiple of 5 months)
        k = np.arange(months)
        steady = level + np.array([1.0, 2.0, 1.0, 2.0, 1.0])[k % 5] + rep
        series = np.where(k < transient_months, steady + 60.0 * (1 - k / transient_months) + 20,
                          steady)
    data["cin_open"] = series
    data.update(rep=np.full(months, rep), month=np.arange(1, months + 1),
                time=np.arange(1, months + 1) * MONTH)
    return pd.DataFrame(data, columns=list(STOCK_COLUMNS))


def referrals_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """``referrals_per_year`` of replication ``rep`` is ``referrals_of(rep) / years``."""
    _note_call(rep)
    emit_referrals(journey_sink, rep, referrals_of(rep), warmup_years, years)
    return stocks_frame(rep, seed, warmup_years, years)


def staff_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """``referrals_per_year`` is ``round(10 * front_door.staff_fte)`` (with ``years=1``)."""
    _note_call(rep)
    n = int(round(10 * float(scenario["front_door.staff_fte"])))
    emit_referrals(journey_sink, rep, n, warmup_years, years)
    return stocks_frame(rep, seed, warmup_years, years)


def transient_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """``cin_open`` decays for its first 20 months, then stays level (MSER-5 cut: 20)."""
    _note_call(rep)
    emit_referrals(journey_sink, rep, 10, warmup_years, years)
    return stocks_frame(rep, seed, warmup_years, years, transient_months=20)


def slow_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """Like :func:`referrals_simulate`, after sleeping ``CHILDSIM_TEST_SLEEP`` seconds
    (default 60): a replication still running when its run is killed."""
    import time

    _note_call(rep)
    time.sleep(float(os.environ.get("CHILDSIM_TEST_SLEEP", "60")))
    emit_referrals(journey_sink, rep, referrals_of(rep), warmup_years, years)
    return stocks_frame(rep, seed, warmup_years, years)


def failing_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """A model that breaks: the app must say so in words and keep serving."""
    raise RuntimeError("the model broke on purpose")
