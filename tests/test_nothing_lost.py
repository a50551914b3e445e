"""Nothing lost: the command line driven with generated scenario files, names, arguments
and directory states (hypothesis), the model replaced by a fast fake.

Every example asserts that no exception escapes ``sim.cli.main``, that the exit code is 0
or 2, that no file the program does not own (by an earlier manifest of its own) is
removed or changed, that nothing is written outside the working tree's results, and
that a refused command (exit 2) changed nothing at all.

``CASES`` counts the examples each property ran; ``test_zz_case_counts`` prints them
(``pytest -s tests/test_nothing_lost.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import CALLS_ENV, referrals_simulate
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim import cli
from sim.parameters import SCHEMA

SHORT = ["--years", "1", "--warmup", "0", "--workers", "1", "--quiet"]
#: Examples per property: modest, so the fast suite stays fast.
EXAMPLES = 60
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
CASES: Counter[str] = Counter()

#: The files a run directory may hold that the program wrote, written here independently
#: of the code under test: only these may change, and only where an earlier manifest of
#: the program's own was.
OURS = re.compile(
    r"(manifest\.json|summary\.json|precision\.json|validation\.(csv|png)|warmup\.(json|csv)"
    r"|warmup-[^/]*\.png|loops\.png|report\.html"
    r"|journeys\.parquet/rep-[^/]*\.parquet|stocks\.parquet/rep-[^/]*\.parquet"
    r"|replications/rep-[^/]*\.json)")
SCRATCH = re.compile(r"(.*/)?\.[^/]*\.tmp|\.childsim\.lock")


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.model.simulation as model

    monkeypatch.setattr(model, "simulate", referrals_simulate)


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A fresh directory ``ROOT`` with ``ROOT/work`` as the working directory (results go
    to ``ROOT/work/results``) and a user's files in ``ROOT/outside``."""
    root = Path(tempfile.mkdtemp(prefix="childsim-lost-"))
    (root / "work").mkdir()
    (root / "outside").mkdir()
    (root / "outside" / "keep.txt").write_text("the user's\n")
    here = os.getcwd()
    os.chdir(root / "work")
    try:
        yield root
    finally:
        os.chdir(here)
        shutil.rmtree(root, ignore_errors=True)


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root`` (symbolic links as their target) with a hash of its bytes."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``cli.main(argv)``: its exit code and standard error. No exception may escape."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    text = err.getvalue()
    with contextlib.suppress(Exception):  # outside a hypothesis test
        event(f"{argv[0]} exit {code}")
    assert "Traceback" not in text, text
    return code, text


def owned_before(root: Path, before: dict[str, str]) -> set[str]:
    """Files the program may change: program-named files in directories that held a
    manifest the program wrote (it records the seed derivation)."""
    mine: set[str] = set()
    for rel in before:
        if not rel.endswith("manifest.json"):
            continue
        try:
            data = json.loads((root / rel).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "seed_derivation" not in data:
            continue
        prefix = rel[: -len("manifest.json")]
        mine |= {r for r in before if r.startswith(prefix)
                 and OURS.fullmatch(r[len(prefix):])}
    return mine


def check_nothing_lost(root: Path, before: dict[str, str], code: int) -> None:
    after = snapshot(root)
    if code == 2:  # refused: nothing touched
        assert after == before
        return
    mine = owned_before(root, before)
    for rel, digest in before.items():
        if rel in mine or SCRATCH.fullmatch(rel.rsplit("/", 1)[-1]) or SCRATCH.fullmatch(rel):
            continue
        assert after.get(rel) == digest, f"{rel} was removed or changed"
    for rel in set(after) - set(before):  # written only below the working tree's results
        assert rel.startswith("work/"), f"{rel} written outside the working directory"


# -- scenario files ------------------------------------------------------------------------------

names = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}", fullmatch=True),
    st.sampled_from(["", ".", "..", "../../escaped", "../outside", "/abs/x", "a/b", "a\nb",
                     "x" * 300, ".hidden", "con", "a b", "naïve", "results", "-", "a" * 64,
                     "a" * 65]),
    st.text(max_size=12),
)
KEYS = sorted(k for k, p in SCHEMA.items() if p.kind in (int, float))
RULE_KEYS = ["time.travel_share", "time.other_share",
             "front_door.productive_share", "front_door.nfa_threshold",
             "front_door.referral_threshold", "front_door.early_help_threshold",
             "front_door.urgent_threshold", "supervision.managers", "weights.assessment",
             "weights.s47", "weights.cin_plan", "weights.cp_plan", "weights.proceedings",
             "weights.looked_after"]
values = st.one_of(st.floats(min_value=-10, max_value=10, allow_nan=False),
                   st.integers(-3, 3), st.sampled_from([0.0, 1.0, 0.5, 2.7, 1e300]),
                   st.booleans(), st.text(max_size=5))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


@st.composite
def scenario_files(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"name = {json.dumps(draw(names))}")
    base = draw(st.sampled_from(["baseline", "baseline", "nope", "/etc/passwd",
                                 "../outside/keep.txt", "", None]))
    if base is not None:
        lines.append(f"base = {json.dumps(base)}")
    if draw(st.booleans()):
        lines.append(f"start_year = {_toml(draw(st.one_of(st.floats(0, 5), values)))}")
    body: dict[str, dict[str, object]] = {}
    for key in draw(st.lists(st.sampled_from(RULE_KEYS + KEYS), max_size=4)):
        section, leaf = key.split(".", 1)
        body.setdefault(section, {})[leaf] = draw(values)
    for section, table in body.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    text = "\n".join(lines) + "\n"
    return ("\ufeff" if draw(st.booleans()) else "") + text


@SETTINGS
@given(text=scenario_files(), file_name=st.sampled_from(["s.toml", "my scenario.toml",
                                                           ".toml", "x.y.toml"]))
def test_scenario_files(text: str, file_name: str) -> None:
    CASES["scenario files"] += 1
    with sandbox() as root:
        path = root / "work" / file_name
        path.write_text(text, encoding="utf-8")
        before = snapshot(root)
        code, err = run_cli(["run", str(path), "--reps", "1", *SHORT])
        assert code in (0, 2), err
        check_nothing_lost(root, before, code)
        if code == 0:  # the results went to results/<a safe name>/
            made = {Path(r).parts[2] for r in snapshot(root) if r.startswith("work/results/")}
            assert len(made) == 1
            assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", made.pop())
        else:
            assert err.startswith("error: ") or "usage:" in err


# -- arguments -----------------------------------------------------------------------------------

arg_values = st.one_of(st.integers(-3, 4).map(str), st.sampled_from(
    ["", "x", "1.5", "-0", "auto", "nan", "inf", "1e3", " 2", "0x10", "\x00", "--resume"]),
    st.text(max_size=4))


@SETTINGS
@given(opts=st.lists(st.tuples(st.sampled_from(["--seed", "--reps", "--years", "--warmup",
                                                "--workers", "--out", "--kpi"]), arg_values),
                     max_size=3),
       flags=st.lists(st.sampled_from(["--resume", "--overwrite", "--quiet"]), max_size=2,
                      unique=True))
def test_arguments(opts: list[tuple[str, str]], flags: list[str]) -> None:
    CASES["arguments"] += 1
    with sandbox() as root:
        argv = ["run", "--reps", "1", *SHORT]
        for opt, value in opts:
            argv += [opt, value]
        argv += flags
        before = snapshot(root)
        code, err = run_cli(argv)
        assert code in (0, 2), err
        check_nothing_lost(root, before, code)
        seeds = [v for o, v in opts if o == "--seed"]
        if seeds and not re.fullmatch(r"\s*\+?\d+\s*", seeds[-1]):
            assert code == 2  # a seed that is not a whole number of 0 or more


# -- directory states ----------------------------------------------------------------------------

user_names = st.sampled_from([
    "notes.txt", "summary.json", "manifest.json", "replications/rep-0000.json",
    "stocks.parquet/rep-0001.parquet", "journeys.parquet/x.parquet", "data/a.csv",
    "report.html", ".hidden", "replications/mine.txt"])


@st.composite
def directory_states(draw: st.DrawFn) -> list[tuple[str, object]]:
    """Steps that build a directory: earlier runs of the program (of one seed or another,
    some replications), damage (a replication record removed, stray temporary files),
    and a user's own files."""
    steps: list[tuple[str, object]] = []
    if draw(st.booleans()):
        steps.append(("run", (draw(st.integers(1, 3)), draw(st.sampled_from([1, 2])))))
        if draw(st.booleans()):
            steps.append(("unfinish", draw(st.integers(0, 2))))
        if draw(st.booleans()):
            steps.append(("stray", None))
    for name in draw(st.lists(user_names, max_size=3, unique=True)):
        steps.append(("user", name))
    return steps


def build(out: Path, steps: list[tuple[str, object]]) -> None:
    for kind, arg in steps:
        if kind == "run":
            reps, seed = arg
            code, err = run_cli(["run", "--reps", str(reps), "--seed", str(seed), *SHORT,
                                 "--out", str(out)])
            assert code in (0, 2), err
        elif kind == "unfinish":  # a replication interrupted before its record was written
            (out / "replications" / f"rep-{arg:04d}.json").unlink(missing_ok=True)
        elif kind == "stray":
            for sub in ("journeys.parquet", "replications"):
                if (out / sub).is_dir():
                    (out / sub / ".rep-0000.parquet.abc.tmp").write_bytes(b"half")
        else:
            path = out / str(arg)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text(f"the user's {arg}\n")


@SETTINGS
@given(steps=directory_states(), reps=st.integers(1, 3), seed=st.sampled_from([1, 2]),
       mode=st.sampled_from([[], ["--resume"], ["--overwrite"], ["--resume", "--overwrite"]]))
def test_directory_states(steps: list[tuple[str, object]], reps: int, seed: int,
                          mode: list[str]) -> None:
    CASES["directory states"] += 1
    with sandbox() as root:
        out = root / "work" / "res"
        build(out, steps)
        before = snapshot(root)
        code, err = run_cli(["run", "--reps", str(reps), "--seed", str(seed), *SHORT,
                             "--out", str(out), *mode])
        assert code in (0, 2), err
        check_nothing_lost(root, before, code)
        if code == 0:
            from sim.outputs.results import completed_reps, load_result

            result = load_result(out)
            assert set(range(reps)) <= set(result.per_rep.index)
            assert set(result.per_rep.index) == completed_reps(out)
            stocks = result.stocks()
            assert set(stocks["rep"]) == set(result.per_rep.index)
            assert not (out / ".childsim.lock").exists()
            tmp = [p for p in out.rglob(".*.tmp")]
            assert not tmp, tmp


# -- report and validate inputs ------------------------------------------------------------------

CSV_DAMAGE = st.sampled_from(["drop column", "text in numbers", "empty", "garbage", "header",
                              "bad bool", "keep"])
JSON_DAMAGE = st.sampled_from(["list", "string in mean", "missing n", "garbage", "empty",
                               "keep", "nested"])


def _damage_csv(path: Path, how: str) -> None:
    lines = path.read_text().splitlines()
    if how == "drop column":
        cols = lines[0].split(",")
        keep = [i for i, c in enumerate(cols) if c != "mean"]
        lines = [",".join(line.split(",")[i] for i in keep) for line in lines]
    elif how == "text in numbers":
        cols = lines[0].split(",")
        i = cols.index("mean")
        row = lines[1].split(",")
        row[i] = "lots"
        lines[1] = ",".join(row)
    elif how == "bad bool":
        cols = lines[0].split(",")
        i = cols.index("is_base")
        row = lines[1].split(",")
        row[i] = "maybe"
        lines[1] = ",".join(row)
    elif how == "empty":
        lines = []
    elif how == "garbage":
        path.write_bytes(b"\xff\xfe\x00garbage\"\n,,\n")
        return
    elif how == "header":
        lines = lines[:1]
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def _damage_json(path: Path, how: str) -> None:
    data = json.loads(path.read_text())
    if how == "list":
        data = list(data)
    elif how == "string in mean":
        data[next(iter(data))]["mean"] = "lots"
    elif how == "missing n":
        del data[next(iter(data))]["n"]
    elif how == "nested":
        data[next(iter(data))] = [1, 2]
    elif how == "garbage":
        path.write_bytes(b"{not json")
        return
    elif how == "empty":
        path.write_text("")
        return
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def comparison_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import sim.model.simulation as model

    d = tmp_path_factory.mktemp("cmp") / "cmp"
    saved = model.simulate
    model.simulate = referrals_simulate
    try:
        overlay = d.parent / "more.toml"
        overlay.write_text('name = "more"\nbase = "baseline"\n[front_door]\nstaff_fte = 15.0\n')
        code, err = run_cli(["compare", "baseline", str(overlay), "--reps", "2", *SHORT,
                             "--out", str(d)])
        assert code == 0, err
    finally:
        model.simulate = saved
    return d


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(csv_damage=CSV_DAMAGE, json_damage=JSON_DAMAGE)
def test_report_inputs(comparison_dir: Path, csv_damage: str, json_damage: str) -> None:
    CASES["report inputs"] += 1
    with sandbox() as root:
        d = root / "work" / "cmp"
        shutil.copytree(comparison_dir, d)
        _damage_csv(d / "comparison.csv", csv_damage)
        _damage_json(d / "baseline" / "summary.json", json_damage)
        code, err = run_cli(["report", str(d), "--out", str(root / "work" / "r.html")])
        damaged = csv_damage != "keep" or json_damage != "keep"
        assert code == (2 if damaged else 0), err


TARGET_DAMAGE = st.sampled_from(["no kpi", "no low", "text", "low above high", "empty",
                                 "garbage", "missing file", "a directory", "duplicate"])


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=TARGET_DAMAGE)
def test_validate_checks_targets_before_running(how: str) -> None:
    CASES["validate targets"] += 1
    with sandbox() as root:
        calls = root / "calls"
        calls.mkdir()
        t = root / "work" / "t.csv"
        header = "kpi,unit,per_la_value,low,high,confidence"
        rows = {"no kpi": "unit,per_la_value,low,high,confidence\nx,1,0,2,high",
                "no low": "kpi,unit,per_la_value,high,confidence\nreferrals_per_year,x,1,2,high",
                "text": f"{header}\nreferrals_per_year,x,one,0,2,high",
                "low above high": f"{header}\nreferrals_per_year,x,1,3,2,high",
                "empty": "", "garbage": "\x00\x01\"\n\"", "duplicate":
                f"{header}\nreferrals_per_year,x,1,0,2,high\nreferrals_per_year,x,1,0,2,high"}
        if how == "a directory":
            t.mkdir()
        elif how != "missing file":
            t.write_text(rows[how])
        before = snapshot(root)
        os.environ[CALLS_ENV] = str(calls)
        try:
            code, err = run_cli(["validate", "--reps", "1", *SHORT, "--targets", str(t)])
        finally:
            del os.environ[CALLS_ENV]
        assert code == 2, err
        assert str(t) in err
        assert not list(calls.iterdir())  # no replication ran
        assert snapshot(root) == before


def test_zz_case_counts(capsys: pytest.CaptureFixture) -> None:
    """How many generated cases each property ran (when run with the module)."""
    with capsys.disabled():
        print("\nnothing-lost cases:", dict(CASES), "total", sum(CASES.values()))  # noqa: T201


# -- the rules, one example each -----------------------------------------------------------------


@pytest.mark.parametrize(("body", "keys"), [
    ('name = "../../escaped"', "name"),
    ('name = ""', "name"),
    ('name = "a\\nb"', "name"),
    (f'name = "{"x" * 300}"', "name"),
    ("[time]\ntravel_share = 0.9\nother_share = 0.9",
     "time.travel_share, time.other_share"),
    ("[front_door]\nproductive_share = 0.0", "front_door.productive_share"),
    ("[front_door]\nnfa_threshold = 1.6\nreferral_threshold = 1.3",
     "front_door.nfa_threshold, front_door.referral_threshold"),
    ("[supervision]\nmanagers = 0.0", "supervision.managers"),
    ("[weights]\nassessment = 0\ns47 = 0\ncin_plan = 0\ncp_plan = 0\nproceedings = 0\n"
     "looked_after = 0", "weights."),
    ("start_year = 3.0", "start_year"),
    ('base = "/etc/passwd"', "base"),
])
def test_each_rule_is_a_clean_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      body: str, keys: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.toml"
    base = "" if "base =" in body else 'base = "baseline"\n'
    path.write_text(f"{base}{body}\n")
    code, err = run_cli(["run", str(path), "--reps", "1", *SHORT])
    assert code == 2
    assert err.startswith("error: bad.toml: ") and keys in err, err
    assert list(tmp_path.iterdir()) == [path]  # nothing written


def test_byte_order_mark_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bom.toml"
    path.write_bytes('\ufeffname = "bom"\nbase = "baseline"\n'.encode())
    code, err = run_cli(["run", str(path), "--reps", "1", *SHORT])
    assert code == 0, err
    assert (tmp_path / "results" / "bom" / "summary.json").is_file()


def test_negative_seed_is_refused_at_parsing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(["run", "--reps", "1", *SHORT, "--seed", "-1"])
    assert code == 2 and "--seed" in err and "0 or more" in err
    assert not list(tmp_path.iterdir())


def test_write_failure_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    code, err = run_cli(["run", "--reps", "1", *SHORT, "--out", str(tmp_path / "file" / "x")])
    assert code == 2, err
    assert f"{tmp_path / 'file' / 'x'}: Not a directory" in err and "backend" not in err
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        code, err = run_cli(["run", "--reps", "1", *SHORT, "--out", str(ro / "x")])
        assert code == 2 and str(ro / "x") in err and "Permission denied" in err


def test_validate_runs_with_good_targets(tmp_path: Path) -> None:
    code, err = run_cli(["validate", "--reps", "2", *SHORT, "--out", str(tmp_path / "v")])
    assert code in (0, 1), err  # the fake misses most targets
    assert (tmp_path / "v" / "validation.csv").is_file()
