"""Execution backends: local processes and a Dask LocalCluster give bit-identical results."""

from __future__ import annotations

import operator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from needs import require_module

from sim.experiments import backends
from sim.experiments import runs as experiment
from sim.outputs import files as output
from sim.scenario import load_scenario

SHORT = dict(years=0.5, warmup=0.25)


@pytest.fixture(scope="module")
def small():
    return load_scenario("baseline").with_values({"population.child_population": 20_000},
                                                 name="small")


@pytest.fixture(scope="module")
def dask_backend():
    require_module("distributed")
    with backends.DaskBackend(workers=2) as backend:
        yield backend


def test_make_backend() -> None:
    assert isinstance(backends.make_backend(), backends.LocalBackend)
    assert backends.make_backend("local", workers=3).workers == 3
    dask = backends.make_backend("dask", workers=2)
    assert isinstance(dask, backends.DaskBackend) and dask.shared_filesystem
    assert dask._client is None  # nothing starts until it is used
    dask.close()
    remote = backends.make_backend("dask", scheduler="tcp://127.0.0.1:1")
    assert not remote.shared_filesystem  # a remote cluster: records are sent back
    remote.close()
    with pytest.raises(ValueError, match="unknown backend"):
        backends.make_backend("spark")
    with pytest.raises(ValueError, match="needs the dask backend"):
        backends.make_backend("local", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError):
        backends.DaskBackend(workers=0)
    assert backends.shares_files(object())  # a custom backend writes where it runs


def test_backends_satisfy_the_protocol() -> None:
    for cls in (backends.LocalBackend, backends.DaskBackend):
        assert callable(cls.map)
    # the experiment module re-exports them
    assert experiment.LocalBackend is backends.LocalBackend
    assert experiment.Backend is backends.Backend


def test_dask_map_yields_items_with_results(dask_backend) -> None:
    got = dict(dask_backend.map(partial(operator.mul, 3), [1, 2, 3, 4]))
    assert got == {1: 3, 2: 6, 3: 9, 4: 12}
    assert list(dask_backend.map(abs, [])) == []
    with pytest.raises(ZeroDivisionError):
        dict(dask_backend.map(partial(operator.truediv, 1), [1, 0, 2]))


def _files(out: Path, entry: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / entry).glob("rep-*"))}


def test_bit_identical_across_workers_and_backends(tmp_path: Path, small, dask_backend) -> None:
    """1 worker, 2 local workers, a Dask LocalCluster and a Dask cluster that sends records
    back give the same KPIs and byte-identical journey and stock files."""
    kw = dict(reps=3, seed=7, **SHORT)
    one = experiment.run_experiment(small, out_dir=tmp_path / "w1", workers=1, **kw)
    two = experiment.run_experiment(small, out_dir=tmp_path / "w2", workers=2, **kw)
    dask = experiment.run_experiment(small, out_dir=tmp_path / "dask", backend=dask_backend,
                                     **kw)
    dask_backend.shared_filesystem = False
    try:
        shipped = experiment.run_experiment(small, out_dir=tmp_path / "shipped",
                                            backend=dask_backend, **kw)
    finally:
        dask_backend.shared_filesystem = True
    for other in (two, dask, shipped):
        pd.testing.assert_frame_equal(one.per_rep, other.per_rep, check_exact=True)
        pd.testing.assert_frame_equal(one.summary, other.summary, check_exact=True)
    assert one.per_rep["referrals_per_year"].notna().all()
    for entry in (output.JOURNEYS, output.STOCKS, output.REPLICATIONS):
        reference = _files(tmp_path / "w1", entry)
        assert len(reference) == 3
        for name in ("w2", "dask", "shipped"):
            assert _files(tmp_path / name, entry) == reference, (entry, name)
    assert not any(p.name.startswith(".") for p in (tmp_path / "shipped").rglob("*"))


@pytest.mark.slow
def test_sensitivity_identical_on_dask(tmp_path: Path, small, dask_backend) -> None:
    from sim.experiments import sensitivity as gsa

    kw = dict(method="morris", kpis=["referrals_per_year", "cin_open"], samples=2,
              params=["front_door.staff_fte", "population.concern_rate_tier2"], charts=False,
              **SHORT)
    local = gsa.run_sensitivity(small, out_dir=tmp_path / "local", workers=2, **kw)
    dask = gsa.run_sensitivity(small, out_dir=tmp_path / "dask", backend=dask_backend, **kw)
    pd.testing.assert_frame_equal(local.indices, dask.indices, check_exact=True)
    pd.testing.assert_frame_equal(local.samples, dask.samples, check_exact=True)
