"""The README's Python examples run, at reduced size, and show effects that exist; its
validation table is what ``childsim validate --markdown`` prints.

How the examples are made small (the README says so too): ``sim.api``'s functions are
wrapped so that ``reps`` (at most 3), ``years`` (half a year; a year for the warm-up
analysis), ``warmup`` (a quarter of a year) and ``samples`` (2) are capped, with one
worker and no progress bar; ``results/baseline`` is made first by a small ``childsim
run``. The blocks run in order, in one namespace, in an empty temporary directory.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

import pytest

from sim import api, cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CAPS = {"reps": 3, "years": 0.5, "warmup": 0.25, "samples": 2}
SMALL_RUN = ["--reps", "2", "--years", "0.5", "--warmup", "0.25", "--workers", "1", "--quiet"]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _capped(fn, years_cap: float):
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        for name, cap in {**CAPS, "years": years_cap}.items():
            if name in a and isinstance(a[name], int | float) and not isinstance(a[name], bool):
                a[name] = type(a[name])(min(a[name], cap)) if name != "years" else \
                    min(float(a[name]), cap)
        if "workers" in a:
            a["workers"] = 1
        if "progress" in a:
            a["progress"] = False
        return fn(*bound.args, **bound.kwargs)

    return wrapper


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("run", "compare", "sensitivity"):
        monkeypatch.setattr(api, name, _capped(getattr(api, name), CAPS["years"]))
    monkeypatch.setattr(api, "warmup", _capped(api.warmup, 1.0))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHILDSIM_SCENARIOS", raising=False)
    return tmp_path


def test_the_readme_python_examples_run_and_show_effects(small: Path, capsys) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    assert cli.main(["run", "baseline", *SMALL_RUN]) == 0  # what `childsim run` would write
    capsys.readouterr()
    ns: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), ns)  # noqa: S102
    capsys.readouterr()

    # reading results: the log's measured window counts what the KPIs count
    diff = ns["referrals"] - ns["saved"].per_rep["referrals_per_year"]
    assert diff.abs().max() == 0
    # the compare example changes a lever to a value other than the baseline's, and
    # something changes significantly: caseloads fall with more posts
    base, more, table = ns["base"], ns["more"], ns["table"]
    changed = [k for k in base.values if base[k] != more[k]]
    assert changed == ["workforce.posts_fte"]
    significant = table[table.significant]
    assert len(significant) > 0
    caseload = significant[significant.kpi == "caseload_mean"]
    assert len(caseload) == 1 and caseload["diff"].iloc[0] < 0
    # the overlay written from Python runs from the command line
    assert (small / "more-posts.toml").is_file()
    assert cli.main(["run", "more-posts.toml", *SMALL_RUN]) == 0
    # the sensitivity example ranks the posts first for caseloads
    assert ns["indices"]["param"].iloc[0] == "workforce.posts_fte"
    assert ns["levers"]["lever"].all()
    # the run's temporary records went at the end of the with block
    assert ns["res"].temporary and ns["res"].closed and not ns["res"].out_dir.exists()


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_validation",
                                                  ROOT / "scripts" / "readme_validation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_validation_table_script(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tiny_runs import TINY

    from sim.scenario import load_scenario

    tiny = load_scenario("baseline").with_values(TINY, name="tiny")
    scenario = str(tiny.to_toml(tmp_path / "tiny.toml"))
    readme = tmp_path / "README.md"
    readme.write_text(README.read_text(encoding="utf-8"), encoding="utf-8")
    small = [scenario, "--reps", "2", "--years", "0.25", "--warmup", "0.1", "--workers", "1"]
    script = _script()
    assert script.main(["--readme", str(readme), *small]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text != README.read_text(encoding="utf-8")  # the table was regenerated
    # it is exactly what `childsim validate --markdown` prints with the same options
    capsys.readouterr()
    code = cli.main(["validate", "--markdown", "--quiet", "--out", str(tmp_path / "v"),
                     *small])
    assert code in (0, 1)
    printed = capsys.readouterr().out.strip()
    # at least the 2 replications asked for: a rare-event KPI may ask for more
    assert re.match(r"The scenario tiny, from `childsim validate tiny` \((\d+) replications "
                    r"of 0\.25 measured years after 0\.1 warm-up years", printed)
    assert int(re.match(r"\D*(\d+) replications", printed.split("(", 1)[1]).group(1)) >= 2
    begin = text.index("<!-- validation: begin")
    block = text[text.index("\n", begin) + 1:text.index("<!-- validation: end -->")].strip()
    assert block == printed
    rows = [line for line in block.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) > 20
    assert script.main(["--readme", str(readme), "--check", *small]) == 0
    readme.write_text(text.replace(rows[1], rows[1].replace("|", "| x", 1)), encoding="utf-8")
    assert script.main(["--readme", str(readme), "--check", *small]) == 1


def test_the_readme_shows_the_current_table_shape() -> None:
    text = README.read_text(encoding="utf-8")
    begin = text.index("<!-- validation: begin")
    end = text.index("<!-- validation: end -->")
    block = text[begin:end]
    import pandas as pd

    from sim.outputs.targets import load_targets
    from sim.outputs.validation import format_markdown

    header = format_markdown(pd.DataFrame()).splitlines()[0]  # the shape the code prints
    assert header in block

    for kpi in load_targets().index:
        assert f"| {kpi} |" in block
