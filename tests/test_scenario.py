"""Tests of scenario loading, overlay resolution and validation (sim.scenario)."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.parameters import SCHEMA, SECTIONS
from sim.scenario import (
    Scenario,
    ScenarioError,
    find_scenario,
    list_scenarios,
    load_scenario,
    scenario_dirs,
    validate_value,
)

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "scenarios" / "baseline.toml"
DATA = Path(__file__).resolve().parent / "data"

_CACHE: dict[str, Scenario] = {}


def baseline() -> Scenario:
    """The real baseline, loaded once per test session."""
    if "baseline" not in _CACHE:
        _CACHE["baseline"] = load_scenario(BASELINE)
    return _CACHE["baseline"]


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHILDSIM_SCENARIOS", raising=False)


@pytest.fixture
def scen_dir(tmp_path: Path) -> Path:
    """A scenarios directory holding a copy of the baseline."""
    d = tmp_path / "scenarios"
    d.mkdir()
    shutil.copy(BASELINE, d / "baseline.toml")
    return d


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(text, encoding="utf-8")
    return path


def overlay(directory: Path, filename: str, body: str, base: str = "baseline") -> Path:
    return write(directory, filename, f'name = "{Path(filename).stem}"\nbase = "{base}"\n{body}')


# --- the baseline ----------------------------------------------------------------------------


def test_baseline_sets_every_key_with_the_right_type() -> None:
    s = baseline()
    assert s.name == "baseline"
    assert s.description
    assert list(s.values) == list(SCHEMA)
    for key, param in SCHEMA.items():
        value = s[key]
        assert type(value) is param.kind, key
        if param.kind in (int, float):
            assert param.low is None or value >= param.low, key
            assert param.high is None or value <= param.high, key
        if param.choices is not None:
            assert value in param.choices
    assert s.files == (BASELINE,)
    assert set(s.provenance.values()) == {BASELINE}


def test_baseline_by_name_and_by_path_agree() -> None:
    by_name = load_scenario("baseline")
    assert by_name.files == (BASELINE,)
    assert load_scenario("baseline.toml") == by_name
    assert by_name == baseline()
    assert hash(by_name) == hash(baseline())


def test_values_are_read_only() -> None:
    s = baseline()
    with pytest.raises(TypeError):
        s.values["assessment.policy"] = "flexible"  # type: ignore[index]
    with pytest.raises(TypeError):
        s.provenance["assessment.policy"] = Path("x")  # type: ignore[index]


def test_section_and_getitem() -> None:
    s = baseline()
    assessment = s.section("assessment")
    assert assessment["policy"] == s["assessment.policy"]
    assert set(assessment) == {k.split(".", 1)[1] for k in SCHEMA if k.startswith("assessment.")}
    with pytest.raises(KeyError, match="valid sections"):
        s.section("asessment")
    with pytest.raises(KeyError, match="assessment.policy"):
        s["assessment.polcy"]


def test_to_nested_is_json_and_round_trips() -> None:
    s = baseline()
    nested = s.to_nested()
    assert nested["name"] == "baseline"
    assert set(nested) == {"name", "description", *SECTIONS}
    again = json.loads(json.dumps(nested))
    sections = {k: v for k, v in again.items() if k in SECTIONS}
    assert s.with_values(sections).digest() == s.digest()


# --- overlays --------------------------------------------------------------------------------


def test_overlay_overrides_one_key(scen_dir: Path) -> None:
    path = overlay(scen_dir, "flex.toml", '[assessment]\npolicy = "flexible"\n')
    s = load_scenario(path)
    base = load_scenario(scen_dir / "baseline.toml")
    assert s.name == "flex"
    assert s.description == base.description  # inherited
    assert s["assessment.policy"] == "flexible"
    assert s.provenance["assessment.policy"] == path.resolve()
    assert s.files == ((scen_dir / "baseline.toml").resolve(), path.resolve())
    for key in SCHEMA:
        if key != "assessment.policy":
            assert s[key] == base[key]
            assert s.provenance[key] == (scen_dir / "baseline.toml").resolve()


def test_chain_of_two_overlays(scen_dir: Path) -> None:
    a = overlay(scen_dir, "a.toml",
                'description = "A"\n[workforce]\nposts_fte = 120\nleaving_rate = 0.2\n')
    b = overlay(scen_dir, "b.toml", "[workforce]\nleaving_rate = 0.05\n", base="a")
    s = load_scenario(b)
    assert s.name == "b"
    assert s.description == "A"
    assert s.files == ((scen_dir / "baseline.toml").resolve(), a.resolve(), b.resolve())
    assert s["workforce.posts_fte"] == 120.0
    assert isinstance(s["workforce.posts_fte"], float)  # int coerced for a float parameter
    assert s.provenance["workforce.posts_fte"] == a.resolve()
    assert s["workforce.leaving_rate"] == 0.05
    assert s.provenance["workforce.leaving_rate"] == b.resolve()


def test_default_name_is_the_file_stem(scen_dir: Path) -> None:
    path = write(scen_dir, "nameless.toml", 'base = "baseline"\n')
    assert load_scenario(path).name == "nameless"


def test_base_as_relative_path(tmp_path: Path, scen_dir: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    path = overlay(other, "x.toml", "[court]\ntime_limit_weeks = 26\n",
                   base="../scenarios/baseline.toml")
    s = load_scenario(path)
    assert s.files[0] == (scen_dir / "baseline.toml").resolve()
    assert s["court.time_limit_weeks"] == 26.0


def test_base_as_relative_path_to_the_repository_baseline() -> None:
    s = load_scenario(DATA / "relative_base.toml")
    assert s.name == "relative-base"
    assert s.files[0] == BASELINE
    assert s["assessment.policy"] == "flexible"


def test_base_by_name_from_the_search_path(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = overlay(tmp_path, "x.toml", "")
    assert load_scenario(path).files[0] == BASELINE


def test_base_cycle_is_detected(scen_dir: Path) -> None:
    overlay(scen_dir, "a.toml", "", base="b")
    overlay(scen_dir, "b.toml", "", base="a.toml")
    with pytest.raises(ScenarioError, match="cycle") as info:
        load_scenario(scen_dir / "a.toml")
    assert info.value.key == "base"
    assert "a.toml -> b.toml -> a.toml" in str(info.value)


def test_self_base_is_a_cycle(scen_dir: Path) -> None:
    overlay(scen_dir, "me.toml", "", base="me")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(scen_dir / "me.toml")


def test_incomplete_chain_names_missing_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "partial.toml", 'name = "partial"\n[assessment]\npolicy = "flexible"\n')
    with pytest.raises(ScenarioError, match="incomplete") as info:
        load_scenario(path)
    msg = str(info.value)
    assert "partial.toml" in msg
    assert "assessment.initial_timescale_wd" in msg
    assert "population.child_population" in msg
    assert "assessment.policy" not in msg.split("parameter(s):", 1)[1]


# --- bad input: one error naming file, key path and what is allowed ------------------------------

ALLOWED_WD = SCHEMA["assessment.initial_timescale_wd"].allowed_text()

BAD_CASES = {
    "unknown_key": ("[assessment]\ninitial_timescale_days = 10\n",
                    "assessment.initial_timescale_days",
                    ["unknown key", "did you mean assessment.initial_timescale_wd"]),
    "key_in_wrong_section": ("[protection]\ninitial_timescale_wd = 10\n",
                             "protection.initial_timescale_wd",
                             ["unknown key", "assessment.initial_timescale_wd"]),
    "unknown_section": ("[asessment]\npolicy = 'flexible'\n", "asessment",
                        ["unknown section", "[assessment]",
                         "valid sections: " + ", ".join(SECTIONS)]),
    "str_for_float": ('[workforce]\nposts_fte = "many"\n', "workforce.posts_fte",
                      ["expected a number", SCHEMA["workforce.posts_fte"].allowed_text()]),
    "bool_for_int": ("[population]\nchild_population = true\n", "population.child_population",
                     ["expected an integer", "true",
                      SCHEMA["population.child_population"].allowed_text()]),
    "bool_for_float": ("[workforce]\nleaving_rate = false\n", "workforce.leaving_rate",
                       ["expected a number", SCHEMA["workforce.leaving_rate"].allowed_text()]),
    "float_for_int": ("[population]\nchild_population = 73000.0\n", "population.child_population",
                      ["expected an integer",
                       SCHEMA["population.child_population"].allowed_text()]),
    "out_of_range_low": ("[assessment]\ninitial_timescale_wd = -3\n",
                         "assessment.initial_timescale_wd",
                         ["-3 is out of range; allowed " + ALLOWED_WD]),
    "out_of_range_high": ("[assessment]\ninitial_timescale_wd = 121\n",
                          "assessment.initial_timescale_wd",
                          ["121 is out of range", ALLOWED_WD]),
    "nan": ("[assessment]\ninitial_timescale_wd = nan\n", "assessment.initial_timescale_wd",
            ["not a finite number", ALLOWED_WD]),
    "inf": ("[assessment]\ninitial_timescale_wd = inf\n", "assessment.initial_timescale_wd",
            ["not a finite number", ALLOWED_WD]),
    "bad_choice": ('[assessment]\npolicy = "flexi"\n', "assessment.policy",
                   ['"flexi" is not an allowed choice',
                    SCHEMA["assessment.policy"].allowed_text()]),
    "int_for_bool": ("[assessment]\ncontinue_shared = 1\n", "assessment.continue_shared",
                     ["expected true or false", "true or false"]),
    "number_for_str": ("[assessment]\npolicy = 3\n", "assessment.policy",
                       ["expected a string", SCHEMA["assessment.policy"].allowed_text()]),
    "section_not_table": ("population = 3\n", "population", ["expected a table [population]"]),
    "unknown_top_level": ('descripton = "x"\n', "descripton",
                          ["unknown top-level key", "did you mean description"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_value_is_one_clear_error(scen_dir: Path, case: str) -> None:
    body, key, fragments = BAD_CASES[case]
    path = overlay(scen_dir, f"bad_{case}.toml", body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    msg = str(err)
    assert err.file is not None and err.file.name == path.name
    assert err.key == key
    assert msg.startswith(f"{err.file}: {key}: ")
    assert f"bad_{case}.toml" in msg
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_bad_value_in_a_base_names_the_base_file(scen_dir: Path) -> None:
    overlay(scen_dir, "mid.toml", "[weights]\ns47 = 99\n")
    top = overlay(scen_dir, "top.toml", "", base="mid")
    with pytest.raises(ScenarioError) as info:
        load_scenario(top)
    assert info.value.file is not None and info.value.file.name == "mid.toml"
    assert info.value.key == "weights.s47"
    assert SCHEMA["weights.s47"].allowed_text() in str(info.value)


def test_name_must_be_a_string(scen_dir: Path) -> None:
    path = write(scen_dir, "n.toml", 'name = 3\nbase = "baseline"\n')
    with pytest.raises(ScenarioError, match="expected a string") as info:
        load_scenario(path)
    assert info.value.key == "name"


def test_toml_syntax_error(scen_dir: Path) -> None:
    path = write(scen_dir, "syntax.toml",
                 'name = "s"\nbase = "baseline"\n[court]\norder_share = \n')
    with pytest.raises(ScenarioError, match="invalid TOML") as info:
        load_scenario(path)
    msg = str(info.value)
    assert "syntax.toml" in msg
    assert "line 4" in msg and "column" in msg
    assert info.value.key is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario") as info:
        load_scenario(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


def test_missing_scenario_name_lists_known() -> None:
    with pytest.raises(ScenarioError) as info:
        find_scenario("baselin")
    msg = str(info.value)
    assert msg.startswith("baselin: no such scenario")
    assert "known: " in msg and "baseline" in msg
    assert info.value.key is None


def test_missing_base(scen_dir: Path) -> None:
    path = overlay(scen_dir, "orphan.toml", "", base="no_such_base")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert info.value.key == "base"
    assert "orphan.toml" in msg and "no_such_base" in msg and "not found" in msg


def test_error_string_format_and_pickle() -> None:
    err = ScenarioError(Path("scenarios/x.toml"), "assessment.initial_timescale_wd", "bad")
    assert str(err) == "scenarios/x.toml: assessment.initial_timescale_wd: bad"
    assert str(ScenarioError(None, None, "bad")) == "bad"
    assert str(ScenarioError("x.toml", None, "bad")) == "x.toml: bad"
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.file, again.key, again.message, str(again)) == (
        err.file, err.key, err.message, str(err))


# --- validate_value ------------------------------------------------------------------------------


def test_validate_value_coerces_and_refuses() -> None:
    assert validate_value("workforce.posts_fte", 150, None) == 150.0
    assert type(validate_value("workforce.posts_fte", 150, None)) is float
    assert validate_value("population.child_population", 1000, None) == 1000
    assert validate_value("assessment.continue_shared", True, None) is True
    with pytest.raises(ScenarioError, match="expected an integer"):
        validate_value("population.child_population", 1000.0, None)
    with pytest.raises(ScenarioError, match="unknown key"):
        validate_value("population.child_populaton", 1000, None)
    err = pytest.raises(ScenarioError, validate_value, "workforce.leaving_rate", 9.0, "f.toml")
    assert str(err.value).startswith("f.toml: workforce.leaving_rate: 9.0 is out of range")


# --- digest and with_values ----------------------------------------------------------------------


def test_digest_is_stable_and_content_sensitive(scen_dir: Path) -> None:
    s = baseline()
    d = s.digest()
    assert len(d) == 64 and int(d, 16) >= 0
    assert load_scenario(BASELINE).digest() == d
    assert load_scenario(scen_dir / "baseline.toml").digest() == d  # files do not matter
    assert s.with_values({}, name="other").digest() == d  # names do not matter
    # An int given for a float parameter is the same value.
    assert s.with_values({"workforce.posts_fte": int(s["workforce.posts_fte"])}).digest() == d
    changed = s.with_values({"workforce.posts_fte": s["workforce.posts_fte"] + 1})
    assert changed.digest() != d
    back = changed.with_values({"workforce.posts_fte": s["workforce.posts_fte"]})
    assert back.digest() == d


def test_with_values(scen_dir: Path) -> None:
    s = baseline()
    t = s.with_values({"assessment.policy": "flexible", "court": {"time_limit_weeks": 26}},
                      name="munro", source="cli")
    assert t.name == "munro"
    assert t.description == s.description
    assert t["assessment.policy"] == "flexible"
    assert t["court.time_limit_weeks"] == 26.0
    assert t.provenance["assessment.policy"] == Path("cli")
    assert t.provenance["workforce.posts_fte"] == BASELINE
    assert t.files == s.files
    assert list(t.values) == list(SCHEMA)
    assert s["assessment.policy"] == "timescales"  # the original is unchanged


@pytest.mark.parametrize(("overrides", "key", "fragment"), [
    ({"assessment.policy": "flexi"}, "assessment.policy", "not an allowed choice"),
    ({"assessment.polcy": "flexible"}, "assessment.polcy", "did you mean assessment.policy"),
    ({"workforce.leaving_rate": True}, "workforce.leaving_rate", "expected a number"),
    ({"weights.s47": -1}, "weights.s47", "out of range"),
    ({"nosuch.key": 1}, "nosuch.key", "valid sections"),
])
def test_with_values_refuses_bad_values(overrides: dict[str, object], key: str,
                                        fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        baseline().with_values(overrides, source="sweep.csv row 3")
    msg = str(info.value)
    assert msg.startswith(f"sweep.csv row 3: {key}: ")
    assert fragment in msg
    if key in SCHEMA:
        assert SCHEMA[key].allowed_text() in msg


# --- search path ---------------------------------------------------------------------------------


def test_scenario_dirs_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv("CHILDSIM_SCENARIOS", f"{first}{os.pathsep}{second}")
    monkeypatch.chdir(tmp_path)
    dirs = scenario_dirs()
    assert dirs[:2] == [first.resolve(), second.resolve()]
    assert REPO / "scenarios" in dirs
    assert len(dirs) == len(set(dirs))
    monkeypatch.chdir(REPO)  # ./scenarios is the repository's: listed once
    assert scenario_dirs().count(REPO / "scenarios") == 1


def test_list_scenarios(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "mine"
    d.mkdir()
    write(d, "zeta.toml", 'name = "zeta"\ndescription = "Z"\nbase = "baseline"\n')
    write(d, "alpha.toml", 'name = "alpha"\nbase = "baseline"\n[court]\nfgc_share = 2\n')
    write(d, "broken.toml", "name = \n")
    write(d, "notes.txt", "not a scenario")
    monkeypatch.setenv("CHILDSIM_SCENARIOS", str(d))
    monkeypatch.chdir(tmp_path)
    rows = list_scenarios()
    names = [r[0] for r in rows]
    assert names == sorted(names)
    assert {"alpha", "baseline", "broken", "zeta"} <= set(names)
    table = {name: (desc, path) for name, desc, path in rows}
    assert table["zeta"] == ("Z", (d / "zeta.toml").resolve())
    assert table["baseline"][1] == BASELINE
    assert table["broken"][0].startswith("(invalid: invalid TOML")
    assert table["alpha"][0].startswith("(invalid: court.fgc_share: 2 is out of range")
    assert find_scenario("zeta") == (d / "zeta.toml").resolve()
    assert load_scenario("zeta").description == "Z"


# --- properties ----------------------------------------------------------------------------------

FLOAT_KEYS = sorted(k for k, p in SCHEMA.items() if p.kind is float)
INT_KEYS = sorted(k for k, p in SCHEMA.items() if p.kind is int)


@st.composite
def inside(draw: st.DrawFn) -> tuple[str, float]:
    key = draw(st.sampled_from(FLOAT_KEYS))
    p = SCHEMA[key]
    value = draw(st.floats(min_value=p.low, max_value=p.high,
                           allow_nan=False, allow_infinity=False))
    return key, value


@st.composite
def outside(draw: st.DrawFn) -> tuple[str, float]:
    key = draw(st.sampled_from([k for k in FLOAT_KEYS
                                if SCHEMA[k].low is not None or SCHEMA[k].high is not None]))
    p = SCHEMA[key]
    options = [st.just(math.nan), st.just(math.inf), st.just(-math.inf)]
    if p.low is not None:
        options.append(st.floats(max_value=p.low, exclude_max=True, allow_nan=False,
                                 allow_infinity=False))
    if p.high is not None:
        options.append(st.floats(min_value=p.high, exclude_min=True, allow_nan=False,
                                 allow_infinity=False))
    return key, draw(st.one_of(options))


@settings(max_examples=200, deadline=None)
@given(inside())
def test_float_values_inside_the_allowed_range_are_accepted(case: tuple[str, float]) -> None:
    key, value = case
    s = baseline().with_values({key: value}, rules=False)  # one field: no rule between fields
    assert s[key] == value
    assert type(s[key]) is float


@settings(max_examples=200, deadline=None)
@given(outside())
def test_float_values_outside_the_allowed_range_are_refused(case: tuple[str, float]) -> None:
    key, value = case
    with pytest.raises(ScenarioError) as info:
        baseline().with_values({key: value})
    assert info.value.key == key
    assert key in str(info.value)
    assert SCHEMA[key].allowed_text() in str(info.value)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(INT_KEYS).flatmap(
    lambda k: st.tuples(st.just(k), st.integers(int(SCHEMA[k].low) - 5, int(SCHEMA[k].high) + 5))))
def test_int_values_follow_the_allowed_range(case: tuple[str, int]) -> None:
    key, value = case
    p = SCHEMA[key]
    assert p.low is not None and p.high is not None
    if p.low <= value <= p.high:
        assert baseline().with_values({key: value})[key] == value
    else:
        with pytest.raises(ScenarioError, match=key):
            baseline().with_values({key: value})


def test_to_toml_writes_a_runnable_overlay(tmp_path: Path) -> None:
    base = load_scenario("baseline")
    mine = base.with_values({"front_door.staff_fte": 18.0, "assessment.policy": "flexible",
                             "workforce.posts_fte": 160}, name="mine")
    path = mine.to_toml(tmp_path / "mine.toml")
    text = path.read_text()
    assert 'base = "baseline"' in text and "staff_fte = 18.0" in text
    assert "14.0 in baseline" in text and "recording_share" not in text  # only the changes
    again = load_scenario(path)
    assert again.digest() == mine.digest() and again.name == "mine"
    with pytest.raises(ScenarioError, match="exists"):
        mine.to_toml(path)
    # an overlay on a reform, and a scenario with a start year
    reform = load_scenario("munro_package").with_values({"court.fgc_share": 0.9}, name="m2")
    assert load_scenario(reform.to_toml(tmp_path / "m2.toml")).digest() == reform.digest()
    late = load_scenario("flexible_assessment_from_year_7")
    again = load_scenario(late.to_toml(tmp_path / "late.toml"))
    assert again.start_year == late.start_year == 7 and again.digest() == late.digest()
    # a file named like its base is written with the base's path, not its name
    same = base.with_values({"front_door.staff_fte": 15.0})
    assert load_scenario(same.to_toml(tmp_path / "baseline.toml")).digest() == same.digest()
