"""The childsim command line, with the model replaced by a small deterministic fake."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from sim import cli
from sim.cli import options as cli_options
from sim.clock import MONTH, YEAR
from sim.records import JOURNEY_SCHEMA, STOCK_COLUMNS

_DICT = pa.dictionary(pa.int8(), pa.string())
ROOT = Path(__file__).resolve().parent.parent
SHORT = ["--reps", "2", "--years", "0.5", "--warmup", "0.1", "--workers", "1"]


def fake_simulate(scenario, *, rep, seed, warmup_years, years, journey_sink):
    """Deterministic stand-in for sim.model.simulation.simulate: referrals and assessments."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(rep,))))
    horizon = (warmup_years + years) * YEAR
    n = 60
    times = np.sort(rng.random(n) * horizon)
    events = rng.choice(["contact", "referral", "initial_assessment_done"], n)
    stages = np.where(events == "contact", "front_door",
                      np.where(events == "referral", "referral", "assessment"))
    details = np.where(events == "initial_assessment_done", "on_time", "")
    for lo in range(0, n, 20):
        sl = slice(lo, lo + 20)
        m = len(times[sl])
        journey_sink(pa.record_batch(
            [
                pa.array(np.full(m, rep), pa.int32()),
                pa.array(times[sl]),
                pa.array(np.arange(lo, lo + m), pa.int64()),
                pa.array(np.ones(m), pa.int32()),
                pa.array(stages[sl]).dictionary_encode().cast(_DICT),
                pa.array(events[sl]).dictionary_encode().cast(_DICT),
                pa.array(np.zeros(m), pa.int32()),
                pa.array(np.full(m, 2), pa.int8()),
                pa.array(np.full(m, 2), pa.int8()),
                pa.array(details[sl]).dictionary_encode().cast(_DICT),
                pa.array(np.full(len(details[sl]), -3000.0)),  # birth (days)
                pa.array(np.zeros(len(details[sl]), dtype=bool)),
            ],
            schema=JOURNEY_SCHEMA,
        ))
    months = max(1, int(horizon / MONTH))
    data = {c: rng.random(months) * 10.0 for c in STOCK_COLUMNS}
    data.update(rep=np.full(months, rep), month=np.arange(1, months + 1),
                time=np.arange(1, months + 1) * MONTH)
    return pd.DataFrame(data, columns=list(STOCK_COLUMNS))


def _interrupting_simulate(scenario, *, rep, **kwargs):
    if rep == 1:
        raise KeyboardInterrupt
    return fake_simulate(scenario, rep=rep, **kwargs)


def _install(monkeypatch: pytest.MonkeyPatch, fake) -> None:
    try:
        import sim.model.simulation as model
    except ImportError:
        model = types.ModuleType("sim.model.simulation")
        monkeypatch.setitem(sys.modules, "sim.model.simulation", model)
        import sim

        monkeypatch.setattr(sim, "model", model, raising=False)
    monkeypatch.setattr(model, "simulate", fake, raising=False)


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, fake_simulate)


def test_run_prints_table(tmp_path: Path, fake_model, capsys: pytest.CaptureFixture) -> None:
    out_dir = tmp_path / "res"
    code = cli.main(["run", *SHORT, "--quiet", "--out", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = captured.out
    header = next(line for line in text.splitlines() if line.startswith("Measure"))
    for column in ("Mean", "95% interval", "England 2010-11 band", "In band"):
        assert column in header
    row = next(line for line in text.splitlines() if line.startswith("Referrals a year "))
    assert " to " in row and ("yes" in row or "NO" in row)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "warning: The warm-up (0.1 years) is shorter than the recommended" in text
    assert str(out_dir) in text
    assert (out_dir / "summary.json").exists()
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["command"][:2] == ["childsim", "run"]
    assert manifest["reps"] == 2 and manifest["years"] == 0.5 and manifest["warmup_years"] == 0.1
    assert len(list((out_dir / "replications").iterdir())) == 2


def test_run_several_scenarios(tmp_path: Path, fake_model, capsys: pytest.CaptureFixture) -> None:
    overlay = tmp_path / "bigger.toml"
    overlay.write_text(
        'name = "bigger"\ndescription = "more children"\nbase = "baseline"\n\n'
        "[population]\nchild_population = 90000\n"
    )
    code = cli.main(["run", "baseline", str(overlay), *SHORT, "--quiet",
                     "--out", str(tmp_path / "many")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "many" / "baseline" / "summary.json").exists()
    assert (tmp_path / "many" / "bigger" / "summary.json").exists()


def test_resume_and_refusal(tmp_path: Path, fake_model, capsys: pytest.CaptureFixture) -> None:
    out_dir = tmp_path / "res"
    assert cli.main(["run", *SHORT, "--quiet", "--out", str(out_dir)]) == 0
    assert cli.main(["run", *SHORT, "--quiet", "--resume", "--out", str(out_dir)]) == 0
    capsys.readouterr()
    code = cli.main(["run", *SHORT, "--seed", "9", "--quiet", "--resume", "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:") and "different scenario" in err
    assert "Traceback" not in err


def test_bad_scenario_path(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = cli.main(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:")
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_invalid_scenario_value(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nbase = "baseline"\n[population]\nchild_population = -5\n')
    code = cli.main(["run", str(bad), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error:") and "population.child_population" in err
    assert "Traceback" not in err


def test_bad_option_values(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["run", "--reps", "0"]) == 2
    assert cli.main(["run", "--years", "-1"]) == 2
    assert cli.main(["run", "--workers", "many"]) == 2
    capsys.readouterr()


def test_help_mentions_units(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    for word in ("years", "days", "--reps", "--seed", "--workers", "--resume", "--out",
                 "--quiet", "--verbose"):
        assert word in text
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    assert "run" in top and "scenarios" in top


def test_keyboard_interrupt_keeps_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    _install(monkeypatch, _interrupting_simulate)
    out_dir = tmp_path / "res"
    code = cli.main(["run", *SHORT, "--quiet", "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 130
    assert "--resume" in err and "Traceback" not in err
    assert [p.name for p in (out_dir / "replications").iterdir()] == ["rep-0000.json"]


def test_scenarios_lists_baseline(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["scenarios"]) == 0
    assert "baseline" in capsys.readouterr().out


def test_verbose_sets_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    logger = logging.getLogger("sim")
    monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    assert cli.main(["-v", "scenarios"]) == 0
    assert logger.level == logging.INFO


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.2451, "share of referrals", "24.5%"),
        (3981.7, "referrals per year per LA", "3,982"),
        (544.4, "referrals per 10000 children per year", "544"),
        (2.345, "serious case reviews started per year per LA", "2.35"),
        (278.34, "children on a child protection plan at 31 March per LA", "278"),
        (float("nan"), "share", "-"),
    ],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert cli.format_value(value, unit) == text


def test_calibration_targets_load() -> None:
    targets = cli.calibration_targets()
    t = targets["referrals_per_year"]
    assert t.low < t.value < t.high


def test_python_dash_m_is_the_same_program() -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    assert "--warmup" in proc.stdout


def test_progress_line_on_a_terminal(tmp_path: Path, fake_model, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(cli_options, "show_progress", lambda quiet: not quiet)
    monkeypatch.setattr(cli_options, "PROGRESS_DELAY", 0.0)
    assert cli.main(["run", *SHORT, "--out", str(tmp_path / "p")]) == 0
    err = capsys.readouterr().err
    assert "baseline: 100%" in err and "2/2" in err
    assert cli.main(["run", *SHORT, "--quiet", "--out", str(tmp_path / "q")]) == 0
    assert "2/2" not in capsys.readouterr().err
    # with the default delay a run shorter than a second shows no bar
    monkeypatch.setattr(cli_options, "PROGRESS_DELAY", 30.0)
    assert cli.main(["run", *SHORT, "--out", str(tmp_path / "r")]) == 0
    assert "2/2" not in capsys.readouterr().err


def test_run_reps_auto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture) -> None:
    from fakes import referrals_simulate

    _install(monkeypatch, referrals_simulate)
    out_dir = tmp_path / "auto"
    code = cli.main(["run", "--reps", "auto", "--kpi", "referrals_per_year", "--precision",
                     "0.05", "--years", "1", "--warmup", "0", "--workers", "1", "--quiet",
                     "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert "24 replications" in out and "19 recommended for referrals_per_year" in out
    assert json.loads((out_dir / "precision.json").read_text())["n_solution"] == 19
    code = cli.main(["run", "--reps", "auto", "--kpi", "referrals_per_year", "--max-reps",
                     "5", "--years", "1", "--warmup", "0", "--workers", "1", "--quiet",
                     "--precision", "0.001", "--out", str(tmp_path / "cap")])
    assert code == 0 and "not reached within the cap of 5" in capsys.readouterr().out


def test_run_reps_auto_needs_a_known_kpi(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["run", "--reps", "auto"]) == 2
    assert "--kpi" in capsys.readouterr().err
    assert cli.main(["run", "--reps", "auto", "--kpi", "nope"]) == 2
    assert "unknown KPI" in capsys.readouterr().err
    assert cli.main(["run", "--reps", "5", "--kpi", "cin_open"]) == 2
    assert cli.main(["run", "--reps", "many"]) == 2
    assert cli.main(["run", "--reps", "auto", "--kpi", "cin_open", "--precision", "2"]) == 2
    capsys.readouterr()


def test_backend_options(tmp_path: Path, fake_model, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["run", *SHORT, "--backend", "local", "--scheduler", "tcp://x:1",
                     "--out", str(tmp_path / "x")]) == 2
    assert "dask" in capsys.readouterr().err
    assert cli.main(["run", "--backend", "spark"]) == 2
    capsys.readouterr()


def test_new_commands_in_help(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in ("run", "compare", "warmup", "sensitivity", "scenarios", "params"):
        assert name in top
    for name, words in {
        "compare": ("BASE", "--reps", "--out", "common random numbers", "--backend"),
        "warmup": ("--stock", "MSER-5", "years"),
        "sensitivity": ("--method", "--kpi", "--samples", "--params", "plausible"),
        "run": ("--precision", "--max-reps", "--scheduler", "auto"),
    }.items():
        assert cli.main([name, "--help"]) == 0
        text = capsys.readouterr().out
        for word in words:
            assert word in text, (name, word)


def test_params_lists_every_parameter(capsys: pytest.CaptureFixture) -> None:
    from sim.parameters import SCHEMA

    assert cli.main(["params"]) == 0
    out = capsys.readouterr().out
    assert "[front_door]" in out and "staff_fte" in out and "lever" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert cli.main(["params", "front_door", "--long"]) == 0
    out = capsys.readouterr().out
    assert "[workforce]" not in out and "source: " in out
    assert cli.main(["params", "--csv"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert len(rows) == len(SCHEMA) + 1 and rows[0].startswith("key,section,value")
    assert cli.main(["params", "nope"]) == 2
    assert "unknown section" in capsys.readouterr().err


def test_no_scenarios_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    from sim import scenario

    monkeypatch.setattr(scenario, "scenario_dirs", lambda: [])
    assert cli.main(["scenarios"]) == 1
    assert "no scenarios found" in capsys.readouterr().err
