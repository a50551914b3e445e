"""The HTML report (sim.outputs.report): sections, embedded figures, self-containment, escaping,
scenario assumptions from the TOML comments, the command, and rendering in Chromium."""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape
from needs import require_file
from tiny_runs import SCENARIOS, tiny_runs

from sim.cli.report import arguments as add_report_arguments
from sim.cli.report import run as report_command
from sim.outputs import figures
from sim.outputs.comparison import compare_frames, write_comparison
from sim.outputs.labels import kpi_label
from sim.outputs.report import build_report, format_value, read_inputs, render, toml_comments
from sim.outputs.results import load_result

CHROMIUM = Path("/usr/bin/chromium")
COMPARISON = "Changes from the base, measure by measure"
FULL_SECTIONS = ["Summary", COMPARISON, "Every measure", "Figures", "Validation", "What was run",
                 "Scenario assumptions"]
#: stocks, flow, distributions, forest, sensitivity, loop diagram, validation
FULL_FIGURES = 7
PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Headings, images, ids and every attribute of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.h2: list[str] = []
        self.h3: list[str] = []
        self.imgs: list[str] = []
        self.ids: set[str] = set()
        self.attrs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self._heading: str | None = None
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
            if k == "id":
                self.ids.add(v)
        if tag == "img":
            self.imgs.append(dict(attrs).get("src", ""))
        if tag in ("h2", "h3"):
            self._heading, self._text = tag, []

    def handle_endtag(self, tag):
        if tag == self._heading:
            getattr(self, tag).append("".join(self._text).strip())
            self._heading = None

    def handle_data(self, data):
        if self._heading:
            self._text.append(data)


@pytest.fixture(scope="module")
def comparison_dir(tmp_path_factory) -> Path:
    """A comparison directory of the tiny runs, as `childsim compare` lays it out."""
    runs = tiny_runs(tmp_path_factory)
    d = tmp_path_factory.mktemp("compare")
    for name in SCENARIOS:
        shutil.copytree(runs[name], d / name)
    table = compare_frames({n: load_result(d / n).per_rep for n in SCENARIOS}, "baseline")
    write_comparison(d, table, {
        "base": "baseline", "reps": 2, "seed": 1, "common_random_numbers": True,
        "scenarios": [{"name": n, "dir": n} for n in SCENARIOS]})
    return d


@pytest.fixture(scope="module")
def sensitivity_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sensitivity")
    rows = [{"kpi": k, "param": p, "mu_star": 0.1 * i + 0.05 * j, "mu_star_conf": 0.01,
             "sigma": 0.05 * i, "mu": 0.0}
            for i, k in enumerate(("cin_open", "missed_harm_per_year"))
            for j, p in enumerate(("front_door.staff_fte", "workforce.posts_fte"))]
    pd.DataFrame(rows).to_csv(d / "sensitivity.csv", index=False)
    (d / "manifest.json").write_text(json.dumps({
        "kind": "sensitivity", "method": "morris", "scenario": {"name": "baseline"},
        "params": {"front_door.staff_fte": [6, 20], "workforce.posts_fte": [100, 200]},
        "points": 6, "reps": 1, "years": 0.5, "warmup_years": 0.25}))
    return d


@pytest.fixture(scope="module")
def full(comparison_dir, sensitivity_dir) -> tuple[Path, str, Page]:
    path = build_report([comparison_dir, sensitivity_dir])
    text = path.read_text(encoding="utf-8")
    return path, text, Page(text)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> tuple[int, Path, str, Page]:
    """One run, with a hostile name and description and a validation.csv, reported
    through the command with --out."""
    runs = tiny_runs(tmp_path_factory)
    root = tmp_path_factory.mktemp("single")
    run = root / "odd"
    shutil.copytree(runs["baseline"], run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["scenario"]["name"] = "odd<name>"
    manifest["scenario"]["description"] = 'Tricky <script>alert("x")</script> & "quotes"'
    (run / "manifest.json").write_text(json.dumps(manifest))
    table = figures.validation_table(figures.open_result(run).summary()).head(2)
    table.to_csv(run / "validation.csv", index=False)
    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    out = root / "out" / "r.html"
    (root / "out").mkdir()
    code = report_command(parser.parse_args([str(run), "--out", str(out)]))
    text = out.read_text(encoding="utf-8")
    return code, out, text, Page(text)


# -- pure helpers ------------------------------------------------------------------------------


def test_toml_comments_above_keys_inline_and_notes():
    text = """name = "x # not a comment"
base = "baseline"

# A note about the whole file.

[front_door]
# reason: the first line
# of a two-line reason
staff_fte = 10.0
screening_hours = 2.0  # unit note
[workforce]
posts_fte = 1.0

# reason: new group
leaving_rate = 0.1
"""
    c = toml_comments(text)
    assert c.keys["front_door.staff_fte"] == ["reason: the first line", "of a two-line reason"]
    assert c.keys["front_door.screening_hours"] == ["reason: the first line",
                                                    "of a two-line reason", "unit note"]
    assert c.keys["workforce.posts_fte"] == []
    assert c.keys["workforce.leaving_rate"] == ["reason: new group"]
    assert c.keys["name"] == []
    assert c.notes == ["A note about the whole file."]


def test_format_value_by_unit():
    assert format_value(1234.56, "referrals per year per LA") == "1,235"
    assert format_value(0.12345, "share of referrals") == "12.3%"  # shares as percentages
    assert format_value(455.83, "children in need at 31 March per LA") == "456"
    assert format_value(None, "x") == "-"
    assert format_value(float("nan"), "x") == "-"


# -- the full report ---------------------------------------------------------------------------


def test_report_sections_and_embedded_figures(full, comparison_dir):
    path, _, page = full
    assert path == comparison_dir / "report.html"
    assert page.h2 == FULL_SECTIONS
    assert len(page.imgs) == FULL_FIGURES
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == PNG
    for ident in ("fig-stocks", "fig-flow-1", "fig-distributions", "fig-forest-1",
                  "fig-sensitivity-1", "fig-loops-1", "fig-validation"):
        assert ident in page.ids


def test_report_is_self_contained_and_printable(full):
    _, text, page = full
    for tag, attr, value in page.attrs:
        if attr in ("src", "href", "srcset", "action", "poster", "data"):
            assert value.startswith(("data:", "#")), (tag, attr, value[:80])
            if value.startswith("#"):
                assert value[1:] in page.ids  # every link lands inside the page
        assert "http://" not in value and "https://" not in value, (tag, attr)
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert "@import" not in text and "url(" not in text
    assert "@media print" in text and "max-width: 100%" in text


def test_report_run_details(full, comparison_dir):
    _, text, _ = full
    manifest = json.loads((comparison_dir / "baseline" / "manifest.json").read_text())
    assert manifest["scenario"]["digest"][:16] in text
    assert manifest["software"]["childsim"] in text
    if manifest["git"]["commit"]:
        assert manifest["git"]["commit"][:12] in text
    assert "SeedSequence" in text
    assert "morris on baseline" in text  # the sensitivity analysis is described


def test_report_headline_comparison_marks_significant_differences(full, comparison_dir):
    _, text, _ = full
    table = pd.read_csv(comparison_dir / "comparison.csv")
    section = text.split('id="comparison"', 1)[1].split("</section>", 1)[0]
    assert section.count('<div class="sig">') == int(table["significant"].sum())
    for kpi in table["kpi"].unique():  # labels in words, the code name as a tooltip
        assert f'<span class="kpi" title="{kpi}">{escape(kpi_label(kpi).label)}</span>' \
            in section
    assert "<th scope=\"col\">early_prevention</th>" in section
    assert "_per_year</span>" not in section


def test_report_kpi_summary_has_target_bands(full):
    _, text, _ = full
    section = text.split('id="kpis"', 1)[1].split("</section>", 1)[0]
    assert "2,260 to 2,770 (high)" in section  # cin_open
    assert "&#10003;" in section or "&#10007;" in section


def test_report_assumptions_come_from_the_scenario_files(full):
    _, text, page = full
    section = text.split('id="assumptions"', 1)[1].split("</section>", 1)[0]
    assert page.h3 == list(SCENARIOS)
    ep = section.split("early_prevention", 1)[1]
    row = ep.split("universal.health_visitor_fte", 1)[1].split("</tr>", 1)[0]
    assert "80.6" in row and "FTE" in row and "Health Visitor Implementation Plan" in row
    assert "early_prevention.toml" in row
    row = ep.split("early_help.success_tier2", 1)[1].split("</tr>", 1)[0]
    assert "intensive, persistent family interventions" in row  # shared comment block
    assert "set directly (&lt;overrides&gt;)" in section  # the tiny run's own overrides
    assert "Munro interim report endorses" in ep  # a note of the scenario file


# -- one run, through the command --------------------------------------------------------------


def test_single_run_report_through_the_command(single, capsys):
    code, out, text, page = single
    assert code == 0
    assert out.is_file()
    assert page.h2 == [s for s in FULL_SECTIONS if s != COMPARISON]
    assert len(page.imgs) == 5  # stocks, flow, distributions, loops, validation
    assert "<script" not in text
    assert "Tricky &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes" in text
    assert "odd&lt;name&gt;" in text


def test_single_run_report_uses_validation_csv(single):
    _, _, text, _ = single
    section = text.split('id="validation"', 1)[1].split("</section>", 1)[0]
    assert "odd/validation.csv" in section
    assert section.count("<tr>") == 1 + 2  # header and the two rows of the file
    assert "required target(s) missed" in section or "target is met" in section


def test_report_command_rejects_bad_directories(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    assert report_command(parser.parse_args([str(tmp_path / "missing")])) == 2
    assert "error:" in capsys.readouterr().err
    assert report_command(parser.parse_args([str(tmp_path)])) == 2
    assert "not a result, comparison or sensitivity directory" in capsys.readouterr().err


def test_out_directory_gets_report_html(comparison_dir, tmp_path, monkeypatch):
    import sim.outputs.report as report

    monkeypatch.setattr(report, "render", lambda inputs: "<!DOCTYPE html><p>x</p>")
    assert build_report([comparison_dir / "baseline"], tmp_path) == tmp_path / "report.html"


# -- escaping and the templates ---------------------------------------------------------------


def test_scenario_texts_are_escaped_by_the_templates(tmp_path_factory, tmp_path, monkeypatch):
    """Scenario name, description, file names and the comments of a scenario file reach the
    page as text: the templates' autoescaping writes their markup as entities."""
    import sim.outputs.report as report

    monkeypatch.setattr(report, "_figures", lambda inputs, tables: [])  # not needed here
    run = tmp_path / "run"
    shutil.copytree(tiny_runs(tmp_path_factory)["early_prevention"], run)
    toml = tmp_path / "a&b<i>.toml"
    toml.write_text('name = "x"\n\n# <script>alert(1)</script> & a note\n\n[universal]\n'
                    '# <b>evidence</b> & "more"\nhealth_visitor_fte = 80.6\n', encoding="utf-8")
    manifest = json.loads((run / "manifest.json").read_text())
    scenario = manifest["scenario"]
    scenario["name"] = "early<prevention>"
    scenario["description"] = "<script>alert('x')</script> & more"
    scenario["files"] = [scenario["files"][0], str(toml)]
    scenario["provenance"]["universal.health_visitor_fte"] = str(toml)
    (run / "manifest.json").write_text(json.dumps(manifest))

    text = render(read_inputs([run]))
    page = Page(text)
    assert "<script" not in text and "script" not in page.tags
    assert "<b>evidence" not in text and "<i>.toml" not in text
    assert page.h3 == ["early<prevention>"]  # the text, unescaped by the parser
    assert "simulator: early&lt;prevention&gt;</title>" in text
    section = text.split('id="assumptions"', 1)[1].split("</section>", 1)[0]
    assert "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more</p>" in section
    assert "<code>a&amp;b&lt;i&gt;.toml</code>" in section  # the file, in the chain and notes
    row = section.split("universal.health_visitor_fte", 1)[1].split("</tr>", 1)[0]
    assert "&lt;b&gt;evidence&lt;/b&gt; &amp; &quot;more&quot;" in row
    assert "<td>a&amp;b&lt;i&gt;.toml</td>" in row
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; a note" in section
    assert 'id="assumptions-early-prevention"' in text


def test_templates_come_from_the_package(comparison_dir, tmp_path, monkeypatch):
    """The templates are found through the package, not the working directory."""
    import sim.outputs.report as report

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(report, "_figures", lambda inputs, tables: [])
    report._environment.cache_clear()
    templates = Path(report.__file__).parent / "templates"
    env = report._environment()
    assert Path(env.get_template("report.html.j2").filename).parent == templates
    assert env.autoescape is True
    text = render(read_inputs([comparison_dir / "baseline"]))
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    css = (templates / "report.css").read_text(encoding="utf-8")
    assert css.strip() in text  # the stylesheet inlined, unescaped
    assert Page(text).h2 == [s for s in FULL_SECTIONS if s not in (COMPARISON, "Figures")]


# -- rendering in Chromium ---------------------------------------------------------------------


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    base = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--hide-scrollbars",
            f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0"]
    env = {**os.environ, "HOME": str(tmp)}
    return subprocess.run(base + args, capture_output=True, text=True, timeout=90, env=env,
                          cwd=tmp)


def test_report_renders_in_headless_chromium(full, tmp_path):
    require_file(CHROMIUM, "headless Chromium (Debian package chromium)")
    from PIL import Image

    path = full[0].resolve()
    url = path.as_uri()
    dom = _chromium(["--dump-dom", url], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page(dom.stdout)
    assert page.h2 == FULL_SECTIONS
    assert len(page.imgs) == FULL_FIGURES
    assert all(src.startswith("data:image/png;base64,") for src in page.imgs)
    for tag, attr, value in page.attrs:
        if attr in ("src", "href"):
            assert value.startswith(("data:", "#")), (tag, attr, value[:80])
    assert "Failed to load resource" not in dom.stderr
    assert "net::ERR_" not in dom.stderr

    shot = tmp_path / "report.png"
    run = _chromium([f"--screenshot={shot}", "--window-size=1280,6000", url], tmp_path)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert "Failed to load resource" not in run.stderr
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1280, 6000)
    grey = image.convert("L")
    dark = sum(grey.histogram()[:200]) / (image.size[0] * image.size[1])
    assert dark > 0.01  # text, tables and figures, not a blank page
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 100  # figures drawn, not only text
