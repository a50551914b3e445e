"""Atomic result files, the streamed journey log, the manifest and the summary."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.outputs import files as output
from sim.records import JOURNEY_SCHEMA

_DICT = pa.dictionary(pa.int8(), pa.string())


def journey_batch(rep: int, n: int, seed: int) -> pa.RecordBatch:
    """A small deterministic batch of journey rows."""
    rng = np.random.default_rng(seed)
    stages = rng.choice(["community", "referral", "assessment", "left"], n)
    events = rng.choice(["concern", "contact", "referral", "closed"], n)
    return pa.record_batch(
        [
            pa.array(np.full(n, rep), pa.int32()),
            pa.array(np.sort(rng.random(n) * 100)),
            pa.array(rng.integers(0, 50, n), pa.int64()),
            pa.array(np.ones(n), pa.int32()),
            pa.array(stages).dictionary_encode().cast(_DICT),
            pa.array(events).dictionary_encode().cast(_DICT),
            pa.array(np.full(n, -1), pa.int32()),
            pa.array(np.full(n, -1), pa.int8()),
            pa.array(rng.integers(0, 4, n), pa.int8()),
            pa.array([""] * n).dictionary_encode().cast(_DICT),
            pa.array(np.full(n, -3000.0)),  # birth (days)
            pa.array(np.zeros(n, dtype=bool)),
        ],
        schema=JOURNEY_SCHEMA,
    )


def all_files(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())


# -- atomic writes ----------


def test_atomic_write_text_and_json(tmp_path: Path) -> None:
    output.atomic_write_text(tmp_path / "a" / "x.txt", "hello\n")
    assert (tmp_path / "a" / "x.txt").read_text() == "hello\n"
    obj = {"b": float("nan"), "a": [np.float64(1.5), np.int64(2), float("inf")],
           "when": dt.datetime(2020, 1, 1), "p": Path("x/y")}
    output.atomic_write_json(tmp_path / "x.json", obj)
    text = (tmp_path / "x.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert text.index('"a"') < text.index('"b"')  # sorted keys
    assert "\n  " in text  # indented
    data = json.loads(text)
    assert data == {"a": [1.5, 2, None], "b": None, "p": "x/y", "when": "2020-01-01T00:00:00"}
    assert all_files(tmp_path) == ["a/x.txt", "x.json"]


def test_failing_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), output.atomic_path(tmp_path / "f.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")
    assert all_files(tmp_path) == []


def test_failing_parquet_write_leaves_no_file(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def half_write(table: pa.Table, where: Path) -> None:
        Path(where).write_bytes(b"PAR1 half")
        raise OSError("killed mid-write")

    monkeypatch.setattr(output.pq, "write_table", half_write)
    with pytest.raises(OSError, match="mid-write"):
        output.atomic_write_parquet(tmp_path / "t.parquet", pa.table({"x": [1, 2]}))
    assert all_files(tmp_path) == []
    with pytest.raises(TypeError):
        output.atomic_write_parquet(tmp_path / "t.parquet", "not a table")  # type: ignore[arg-type]
    assert all_files(tmp_path) == []


def test_failing_write_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.txt"
    output.atomic_write_text(target, "old")

    def broken_fsync(fd: int) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="no space"):
        output.atomic_write_text(target, "new content")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert all_files(tmp_path) == ["keep.txt"]


def test_atomic_write_parquet_dataframe(tmp_path: Path) -> None:
    df = pd.DataFrame({"rep": [0, 0], "x": [1.0, 2.0]}, index=[5, 6])
    output.atomic_write_parquet(tmp_path / "s" / "rep-0000.parquet", df)
    back = pd.read_parquet(tmp_path / "s" / "rep-0000.parquet")
    pd.testing.assert_frame_equal(back, df.reset_index(drop=True))


# -- journey writer ----------


def test_journey_writer_streams_row_groups(tmp_path: Path) -> None:
    with output.JourneyWriter(tmp_path, rep=3) as sink:
        for k in range(4):
            sink(journey_batch(3, 10, k))
        # while open, only a hidden temporary file exists
        visible = [p.name for p in (tmp_path / "journeys.parquet").iterdir()
                   if not p.name.startswith(".")]
        assert visible == []
    path = tmp_path / "journeys.parquet" / "rep-0003.parquet"
    assert sink.closed and sink.rows == 40
    assert all_files(tmp_path) == ["journeys.parquet/rep-0003.parquet"]
    assert pq.ParquetFile(path).metadata.num_row_groups == 4
    assert pq.read_schema(path).equals(JOURNEY_SCHEMA)


def test_journey_writer_exception_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model failed"), \
            output.JourneyWriter(tmp_path, rep=1) as sink:
        sink(journey_batch(1, 5, 0))
        raise ValueError("model failed")
    assert all_files(tmp_path) == []


def test_journey_writer_empty_run_gives_empty_file(tmp_path: Path) -> None:
    with output.JourneyWriter(tmp_path, rep=0):
        pass
    table = pq.read_table(tmp_path / "journeys.parquet" / "rep-0000.parquet")
    assert table.num_rows == 0
    assert table.schema.equals(JOURNEY_SCHEMA)


def test_journey_dataset_reads_as_one_table(tmp_path: Path) -> None:
    for rep in range(3):
        with output.JourneyWriter(tmp_path, rep) as sink:
            for k in range(2):
                sink(journey_batch(rep, 7, 10 * rep + k))
    # a hidden leftover from an interrupted run is ignored by readers
    (tmp_path / "journeys.parquet" / ".rep-0009.parquet.abc.tmp").write_bytes(b"junk")
    df = pd.read_parquet(tmp_path / "journeys.parquet")
    assert len(df) == 3 * 14
    assert sorted(df["rep"].unique()) == [0, 1, 2]
    assert list(df.columns) == list(JOURNEY_SCHEMA.names)
    assert set(df["stage"].astype(str)) <= {"community", "referral", "assessment", "left"}
    output.remove_temp_files(tmp_path / "journeys.parquet")
    assert not any(p.name.startswith(".") for p in (tmp_path / "journeys.parquet").iterdir())


def test_layout_names(tmp_path: Path) -> None:
    assert output.journey_path(tmp_path, 3) == tmp_path / "journeys.parquet" / "rep-0003.parquet"
    assert output.stocks_path(tmp_path, 12) == tmp_path / "stocks.parquet" / "rep-0012.parquet"
    assert output.replication_path(tmp_path, 0) == tmp_path / "replications" / "rep-0000.json"
    assert output.rep_of("rep-0042.json") == 42
    assert output.rep_of(".rep-0042.json.x.tmp") is None


# -- manifest and summary ----------


class _FakeScenario:
    name = "fake"
    description = "a fake scenario"
    files = (Path("/somewhere/baseline.toml"), Path("/somewhere/fake.toml"))
    provenance = {"population.child_population": Path("/somewhere/baseline.toml")}

    def to_nested(self) -> dict:
        return {"name": self.name, "population": {"child_population": 1000}}

    def digest(self) -> str:
        return "abc123"


def test_build_manifest() -> None:
    started = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    m = output.build_manifest(
        _FakeScenario(), seed=7, reps=3, years=5.0, warmup=2.0, started=started,
        finished=None, command=["childsim", "run"],
    )
    json.dumps(m, allow_nan=False)  # JSON-ready
    assert m["scenario"]["digest"] == "abc123"
    assert m["scenario"]["resolved"]["population"]["child_population"] == 1000
    assert m["scenario"]["files"] == ["/somewhere/baseline.toml", "/somewhere/fake.toml"]
    assert m["seed"] == 7 and m["reps"] == 3
    assert m["years"] == 5.0 and m["warmup_years"] == 2.0
    assert m["seed_derivation"] == "numpy SeedSequence(seed, spawn_key=(rep, stream))"
    assert m["started"] == "2024-05-01T12:00:00Z" and m["finished"] is None
    assert m["command"] == ["childsim", "run"]
    assert set(m["software"]) >= {"childsim", "python", "numpy", "scipy", "simpy", "pandas",
                                  "pyarrow", "SALib", "matplotlib"}
    assert all(m["software"][k] for k in ("numpy", "scipy", "SALib", "matplotlib"))
    assert set(m["git"]) == {"commit", "dirty", "source"}


def test_git_info_outside_a_checkout(tmp_path: Path) -> None:
    assert output.git_info(tmp_path) == {"commit": None, "dirty": None, "source": None}


def test_git_info_of_this_checkout() -> None:
    import subprocess

    root = Path(output.__file__).resolve().parents[2]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                          text=True, check=False)
    if head.returncode != 0 or not (root / ".git").exists():
        pytest.skip("not running from a git checkout")
    info = output.git_info()
    assert info["commit"] == head.stdout.strip() and info["source"] == "checkout"


def test_build_info_is_read_when_not_a_checkout(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "_build_info.json"
    info.write_text(json.dumps({"commit": "f" * 40, "dirty": False, "built": "2024"}))
    monkeypatch.setattr(output, "BUILD_INFO", info)
    monkeypatch.setattr(output, "_git", lambda args, cwd: None)  # as if installed elsewhere
    assert output.git_info() == {"commit": "f" * 40, "dirty": False, "source": "build"}
    info.unlink()
    assert output.git_info()["commit"] is None


def test_write_summary(tmp_path: Path) -> None:
    summary = pd.DataFrame(
        {"mean": [1.0, math.nan], "ci_low": [0.5, math.nan], "ci_high": [1.5, math.nan],
         "half_width": [0.5, math.nan], "n": [3, 0]},
        index=pd.Index(["a_per_year", "b_share"], name="kpi"),
    )
    meta = {"a_per_year": type("K", (), {"unit": "things per year"})(), "b_share": "1"}
    output.write_summary(tmp_path / "summary.json", summary, meta)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["a_per_year"] == {"mean": 1.0, "half_width": 0.5, "ci_low": 0.5,
                                  "ci_high": 1.5, "n": 3, "unit": "things per year"}
    assert data["b_share"]["mean"] is None and data["b_share"]["unit"] == "1"
