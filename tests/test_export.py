"""``childsim export``: the journey log as a process-mining event log (XES, OCEL 2.0, CSV),
read back by pm4py, which discovers a process model from it."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from tiny_runs import TINY

from sim import cli
from sim.clock import YEAR
from sim.outputs import eventlog

WARMUP, YEARS = 0.1, 0.25


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sim.experiments.runs import run_experiment
    from sim.scenario import load_scenario

    out = tmp_path_factory.mktemp("export") / "run"
    run_experiment(load_scenario("baseline").with_values(TINY), reps=2, years=YEARS,
                   warmup=WARMUP, out_dir=out, workers=1)
    return out


def _journeys(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "journeys.parquet")


def test_event_table_cases_activities_and_dates(run_dir: Path) -> None:
    source = eventlog.open_source(run_dir)
    calendar = eventlog.Calendar(dt.date(2010, 4, 1), source.window.start)
    table = eventlog.event_table(source.replication(0, "measured"), calendar)
    assert list(table.columns[:3]) == [eventlog.CASE, eventlog.ACTIVITY, eventlog.TIMESTAMP]
    assert table[eventlog.CASE].str.fullmatch(r"r0-c\d+-e\d+").all()
    stamps = table[eventlog.TIMESTAMP]
    assert stamps.min() >= pd.Timestamp("2010-04-01", tz="UTC")
    assert stamps.max() < pd.Timestamp("2010-04-01", tz="UTC") + pd.Timedelta(days=YEARS * YEAR)
    # the measured window only: as many rows as the log has there
    j = _journeys(run_dir)
    w = source.window
    assert len(table) == int(((j.rep == 0) & (j.time >= w.start) & (j.time < w.end)).sum())
    # in time order within each case
    assert table.groupby(eventlog.CASE)[eventlog.TIMESTAMP].apply(
        lambda s: s.is_monotonic_increasing).all()


def test_cli_writes_each_format(run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    for fmt, name in (("xes", "eventlog.xes"), ("ocel", "eventlog.ocel.json"),
                      ("csv", "eventlog.csv")):
        assert cli.main(["export", str(run_dir), "--format", fmt]) == 0
        assert (run_dir / name).is_file()
        out = capsys.readouterr().out
        assert "events of 2 replications" in out and "2010-04-01" in out
    assert cli.main(["export", str(run_dir), "--format", "csv"]) == 2  # exists: refused
    assert "--overwrite" in capsys.readouterr().err
    assert cli.main(["export", str(run_dir), "--format", "csv", "--overwrite", "--start",
                     "2020-01-01"]) == 0
    stamps = pd.to_datetime(pd.read_csv(run_dir / "eventlog.csv")[eventlog.TIMESTAMP])
    assert stamps.min() >= pd.Timestamp("2020-01-01", tz="UTC")
    assert cli.main(["export", str(run_dir), "--start", "April"]) == 2
    assert cli.main(["export", str(run_dir / "nothing")]) == 2
    assert cli.main(["export", str(run_dir), "--reps", "7", "--out",
                     str(run_dir.parent / "x.xes")]) == 2
    assert "no finished replication 7" in capsys.readouterr().err
    # the files are childsim's: a later --overwrite run may replace them
    from sim.outputs import files as output

    assert output.matches("eventlog.ocel.json", output.OWNED["run"])


def test_csv_and_window(run_dir: Path, tmp_path: Path) -> None:
    done = eventlog.export(run_dir, format="csv", path=tmp_path / "all.csv.gz", window="all",
                           reps=[1])
    with gzip.open(done.path, "rt") as fh:
        table = pd.read_csv(fh)
    j = _journeys(run_dir)
    assert len(table) == done.events == int((j.rep == 1).sum())
    assert table["rep"].eq(1).all() and table["day"].min() < WARMUP * YEAR
    assert pd.to_datetime(table[eventlog.TIMESTAMP]).min() < pd.Timestamp("2010-04-01",
                                                                           tz="UTC")


def test_pm4py_reads_it_back_and_discovers_a_model(run_dir: Path, tmp_path: Path) -> None:
    pm4py = pytest.importorskip("pm4py")

    xes = eventlog.export(run_dir, format="xes", path=tmp_path / "log.xes", reps=[0])
    log = pm4py.read_xes(str(xes.path))
    assert len(log) == xes.events
    rows = _journeys(run_dir).query("rep == 0")
    source = eventlog.open_source(run_dir, [0])
    measured = rows[(rows.time >= source.window.start) & (rows.time < source.window.end)]
    n_cases = len(measured.groupby(["child", "episode"]))
    assert log["case:concept:name"].nunique() == n_cases > 10
    assert set(log["concept:name"]) == set(measured["event"].astype(str))
    net, initial, final = pm4py.discover_petri_net_inductive(log)
    labels = {t.label for t in net.transitions if t.label}
    assert {"concern", "contact", "referral"} <= labels
    fitness = pm4py.fitness_token_based_replay(log, net, initial, final)
    assert fitness["log_fitness"] > 0.5

    ocel_file = eventlog.export(run_dir, format="ocel", path=tmp_path / "log.json", reps=[0])
    ocel = pm4py.read_ocel2_json(str(ocel_file.path))
    assert len(ocel.events) == ocel_file.events
    assert set(ocel.objects["ocel:type"]) == {"child", "episode", "social worker"}
    json.loads(ocel_file.path.read_text())  # plain JSON too

    csv = eventlog.export(run_dir, format="csv", path=tmp_path / "log.csv", reps=[0])
    frame = pm4py.format_dataframe(pd.read_csv(csv.path), case_id="case:concept:name",
                                   activity_key="concept:name",
                                   timestamp_key="time:timestamp")
    tree = pm4py.discover_process_tree_inductive(frame)
    assert "referral" in str(tree)


def test_event_log_in_python(run_dir: Path) -> None:
    import sim

    res = sim.load(run_dir)
    table = res.event_log()
    assert list(table.columns[:3]) == [eventlog.CASE, eventlog.ACTIVITY, eventlog.TIMESTAMP]
    source = eventlog.open_source(run_dir)
    calendar = eventlog.Calendar(eventlog.DEFAULT_START, source.window.start)
    one = eventlog.event_table(source.replication(1, "measured"), calendar)
    assert table[table["rep"] == 1].reset_index(drop=True).equals(one)
