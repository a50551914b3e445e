"""``childsim report DIR...``: one self-contained HTML report of result directories.

Each ``DIR`` is a result directory of one scenario (``manifest.json``, ``summary.json``,
the records), a comparison directory (``comparison.csv`` and one result directory per
scenario) or a sensitivity directory (``sensitivity.csv``). The report, ``report.html``
in the first ``DIR`` unless ``--out`` says otherwise, holds:

* what was run (scenarios, replications, seeds, years, warm-up, version, git commit);
* the headline comparison (per KPI: the base mean, each scenario's mean and its paired
  difference from the base with the 95% CI, significant ones marked), from
  ``comparison.csv`` or computed from the replications when several scenarios are given;
* the KPI summary with the calibration target bands where they exist;
* the figures (:mod:`sim.outputs.figures`): stocks over time, the journey as a flow,
  distributions, the comparison forest plot, sensitivity indices, the causal loop
  diagram and the validation chart;
* the validation table (``validation.csv``, or computed from ``summary.json`` and the
  calibration targets);
* the assumptions of each scenario: its description and, for each parameter that differs
  from the baseline, the value, its unit and the comment lines written above it in the
  scenario file (the reason and evidence).

This module computes the content: each section is a small dataclass of already formatted
strings (tables as rows of cells, figures as ``data:`` URIs). The Jinja2 templates in
``sim/outputs/templates`` lay it out: ``report.html.j2`` is the page, one
``section_<id>.html.j2`` per section, ``macros.html.j2`` the tables, ``report.css`` the
stylesheet. Autoescaping is on, so every text (scenario names, descriptions, comments of
the scenario files, paths) is HTML-escaped by the templates; nothing here writes markup.

The file makes no network request: figures are embedded as base64 PNG, the stylesheet is
inline, there are no scripts or web fonts, and every link points inside the page. Sections
whose inputs are absent are left out.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import pandas as pd

from sim.outputs import figures
from sim.outputs.checks import RunWarning, joined_messages, result_warnings
from sim.outputs.comparison import complete
from sim.outputs.labels import (
    KPI_LABELS,
    Label,
    fmt,
    fmt_diff,
    fmt_interval,
    fmt_pct_change,
    kpi_label,
    scenario_title,
)
from sim.outputs.numbers import value_kind

log = logging.getLogger(__name__)

__all__ = [
    "ReportError",
    "build_report",
    "format_value",
    "section_fragments",
    "toml_comments",
]

REPORT_FILE = "report.html"
#: Scenario columns per table before a wide table is split into several.
MAX_COLUMNS = 4


class ReportError(ValueError):
    """The report cannot be built from the directories given."""


# -- reading the inputs ------------------------------------------------------------------------


@dataclass
class Inputs:
    """What the directories given hold."""

    runs: list[figures.ResultDir] = field(default_factory=list)
    comparisons: list[tuple[Path, pd.DataFrame, dict[str, Any]]] = field(default_factory=list)
    sensitivities: list[tuple[Path, pd.DataFrame, dict[str, Any]]] = field(default_factory=list)
    validation: dict[str, pd.DataFrame] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _comparison_runs(d: Path, meta: Mapping[str, Any], table: pd.DataFrame | None) -> list[Path]:
    """The result directories of a comparison directory, base first."""
    listed = [d / str(s.get("dir") or s.get("name")) for s in meta.get("scenarios") or []
              if isinstance(s, Mapping)]
    if not listed and table is not None:
        listed = [d / str(s) for s in dict.fromkeys(table["scenario"])]
    if not listed:
        listed = sorted(p.parent for p in d.glob("*/manifest.json"))
    return [p for p in listed if (p / "manifest.json").is_file()]


def _read_csv(path: Path, needed: Sequence[str]) -> pd.DataFrame:
    """A CSV file the report reads, with the columns it needs; ReportError if not."""
    try:
        table = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
        raise ReportError(f"{path}: cannot be read as a CSV table: {reason}") from None
    return _check_columns(table, needed, str(path))


def _check_columns(table: pd.DataFrame, needed: Sequence[str], where: str) -> pd.DataFrame:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ReportError(f"{where}: missing column(s) {', '.join(missing)}; expected the "
                          f"columns {', '.join(needed)}")
    return table


#: Numbers of a comparison table (NaN allowed: the base has no differences).
_COMPARISON_NUMBERS = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high")


def _check_comparison(table: pd.DataFrame, where: str) -> pd.DataFrame:
    from sim.outputs.comparison import COLUMNS

    _check_columns(table, COLUMNS, where)
    if table.empty:
        raise ReportError(f"{where}: the comparison has no rows")
    for col in ("kpi", "scenario"):
        if table[col].isna().any():
            raise ReportError(f"{where}: column {col} has empty cells")
    for col in _COMPARISON_NUMBERS:
        try:
            pd.to_numeric(table[col], errors="raise")
        except (ValueError, TypeError):
            raise ReportError(f"{where}: column {col} holds values that are not numbers") \
                from None
    for col in ("is_base", "significant"):
        ok = table[col].astype(str).str.lower().isin(("true", "false", "1", "0", "1.0", "0.0"))
        if not ok.all():
            raise ReportError(f"{where}: column {col} holds values that are not true or false")
    return table


def _check_summary(path: Path) -> None:
    """A ``summary.json``: an object of KPIs, each with numbers (or null) for mean, ci_low,
    ci_high and n."""
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected an object of KPIs")
    for kpi, entry in data.items():
        if not isinstance(entry, dict):
            raise ReportError(f"{path}: {kpi}: expected an object with mean, ci_low, ci_high "
                              "and n")
        for key in ("mean", "ci_low", "ci_high", "n"):
            value = entry.get(key)
            if key not in entry or not (value is None or (isinstance(value, int | float)
                                                          and not isinstance(value, bool))):
                raise ReportError(f"{path}: {kpi}: {key}: expected a number, got "
                                  f"{value!r}")


def _read_manifest(path: Path) -> dict[str, Any]:
    """A ``manifest.json`` (empty when absent); ReportError when it is not a JSON object."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot be read as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object")
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, dict):
        raise ReportError(f"{path}: scenario: expected an object")
    return data


def read_inputs(dirs: Sequence[str | os.PathLike[str]]) -> Inputs:
    """Classify the directories given and read what they hold.

    Everything is checked as it is read: a malformed ``manifest.json``, ``summary.json``,
    ``comparison.csv``, ``comparison.json``, ``sensitivity.csv`` or ``validation.csv``
    raises :class:`ReportError` naming the file and what is wrong.
    """
    inputs = Inputs()
    seen: set[Path] = set()

    def add_run(p: Path) -> None:
        if p.resolve() in seen:
            return
        seen.add(p.resolve())
        _read_manifest(p / "manifest.json")
        _check_summary(p / "summary.json")
        try:
            inputs.runs.append(figures.open_result(p))
        except (OSError, ValueError) as exc:
            raise ReportError(f"{p}: {exc}") from None

    for raw in dirs:
        d = Path(raw)
        if not d.is_dir():
            raise ReportError(f"{d}: no such directory")
        manifest = _read_manifest(d / "manifest.json")
        if (d / "sensitivity.csv").is_file() or manifest.get("kind") == "sensitivity":
            csv = d / "sensitivity.csv"
            if csv.is_file():
                indices = _read_csv(csv, ("kpi", "param"))
            else:
                rows = _read_json(d / "sensitivity.json").get("indices") or []
                indices = pd.DataFrame(rows if isinstance(rows, list) else [])
                if len(indices):
                    _check_columns(indices, ("kpi", "param"), str(d / "sensitivity.json"))
            inputs.sensitivities.append((d, indices, manifest))
        elif ((d / "comparison.csv").is_file() or (d / "comparison.json").is_file()
              or manifest.get("kind") == "comparison"):
            meta = _read_json(d / "comparison.json")
            if (d / "comparison.csv").is_file():
                table = _check_comparison(_read_csv(d / "comparison.csv", ()),
                                          str(d / "comparison.csv"))
            elif isinstance(meta.get("rows"), list) and meta["rows"]:
                table = _check_comparison(pd.DataFrame(meta["rows"]),
                                          str(d / "comparison.json"))
            else:
                table = None
            if table is not None and len(table):
                inputs.comparisons.append((d, table, meta))
            for p in _comparison_runs(d, meta, table):
                add_run(p)
        elif manifest:
            add_run(d)
        else:
            raise ReportError(f"{d} is not a result, comparison or sensitivity directory "
                              "(no manifest.json, comparison.csv or sensitivity.csv)")
        if (d / "validation.csv").is_file() and not (d / "manifest.json").is_file():
            inputs.validation.setdefault("", _read_csv(d / "validation.csv", _VALIDATION))
    names = [r.name for r in inputs.runs]
    for i, r in enumerate(inputs.runs):  # several runs of one scenario: tell them apart
        if names.count(r.name) > 1:
            inputs.runs[i] = figures.open_result(r, f"{r.name} ({r.path.name})")
    for r in inputs.runs:
        if (r.path / "validation.csv").is_file():
            inputs.validation[r.name] = _read_csv(r.path / "validation.csv", _VALIDATION)
    return inputs


#: Columns of ``validation.csv`` the report reads.
_VALIDATION = ("kpi", "mean", "low", "high")


# -- formatting --------------------------------------------------------------------------------


def _finite(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def format_value(x: Any, unit: str = "") -> str:
    """A number for a table, by the kind its unit text names: shares as percentages,
    counts and rates to 3 significant figures with thousands separators; "-" when
    undefined."""
    kind = value_kind(unit)
    return fmt(x, Label("", unit, "share" if kind == "share" else "count"))


def _ci(lo: Any, hi: Any, unit: str) -> str:
    a, b = _finite(lo), _finite(hi)
    if not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    return f"{format_value(a, unit)} to {format_value(b, unit)}"


def _plain(x: Any) -> str:
    v = _finite(x)
    if not math.isfinite(v):
        return "-"
    return f"{v:.0f}" if v.is_integer() else f"{v:.6g}"


def _chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)] or [items]


def _kpi_order(names: Iterable[str]) -> list[str]:
    order = {n: i for i, n in enumerate(KPI_LABELS)}
    return sorted(dict.fromkeys(names), key=lambda n: (order.get(n, len(order)), n))


# -- content for the templates -----------------------------------------------------------------


@dataclass(frozen=True)
class KpiName:
    """A table cell naming a measure in words, with its unit under the name and its code
    name (for researchers) as a tooltip."""

    kind: ClassVar[str] = "kpi"
    name: str
    unit: str
    code: str = ""


@dataclass(frozen=True)
class Estimate:
    """A table cell holding a mean, and under it (where given) the difference from the base
    and a 95% CI. ``band`` is "in" or "out" when the mean is checked against a target band;
    ``sig`` shades the cell and marks the difference (its CI excludes zero); ``na`` says
    the measure does not apply (``mean`` then says so in words)."""

    kind: ClassVar[str] = "estimate"
    mean: str
    ci: str | None = None
    diff: str | None = None
    sig: bool = False
    band: str = ""
    na: bool = False


Cell = str | KpiName | Estimate


@dataclass
class Table:
    """A table: its column headings, rows of cells, CSS class and caption."""

    header: list[str]
    rows: list[list[Cell]]
    cls: str = ""
    caption: str = ""


@dataclass
class Section:
    """A part of the report; ``section_<ident>.html.j2`` lays it out under ``label``."""

    ident: ClassVar[str] = ""
    label: ClassVar[str] = ""


# -- the summary: what was run, the largest clear changes, warnings ---------------------------

#: Largest clear changes named per scenario in the opening sentences.
HEADLINE_CHANGES = 3


@dataclass
class SummarySection(Section):
    """The opening: a few plain sentences (``paragraphs``) and the warnings about the runs,
    each with the scenarios it concerns."""

    ident: ClassVar[str] = "summary"
    label: ClassVar[str] = "Summary"
    paragraphs: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _years_text(x: float) -> str:
    return f"{_plain(x)} year" + ("" if x == 1 else "s")


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _what_was_run(inputs: Inputs, base: str | None, others: Sequence[str]) -> str:
    first = inputs.runs[0]
    reps = first.reps
    length = (f"simulated {reps} time{'s' if reps != 1 else ''} (replications) for "
              f"{_years_text(first.years)} after a {_plain(first.warmup_years)}-year warm-up")
    if base is not None and others:
        names = _and([scenario_title(o) for o in others])
        seeds = {r.manifest.get("seed") for r in inputs.runs}
        crn = (", with the same random numbers in every scenario, so that the differences "
               "come from the policies and not from chance" if len(seeds) == 1 else "")
        return (f"This report compares {names} with {scenario_title(base)}, each {length}"
                f"{crn}. Intervals are 95% confidence intervals over the replications.")
    names = _and([scenario_title(r.name) for r in inputs.runs])
    return (f"This report shows {names}, {length}. Intervals are 95% confidence intervals "
            "over the replications.")


def _direction(r: Mapping[str, Any]) -> str:
    return "up" if _finite(r["diff"]) > 0 else "down"


def _change_phrase(r: Mapping[str, Any], base_row: Mapping[str, Any] | None) -> str:
    """``children in need (open cases) up 19% (from 1,950 to 2,340 children; 95% interval
    of the change +12% to +26%)``."""
    lab = kpi_label(str(r["kpi"]))
    name = lab.label[:1].lower() + lab.label[1:] if not lab.label[:2].isupper() else lab.label
    before = fmt(base_row["mean"], lab) if base_row is not None else "-"
    after = fmt(r["mean"], lab)
    unit = "" if lab.kind == "share" else f" {lab.unit}"
    if lab.kind == "share":
        size = fmt_diff(abs(_finite(r["diff"])), lab).lstrip("+").replace(
            "pp", "percentage points")
        ci = fmt_interval(r["diff_ci_low"], r["diff_ci_high"], lab, diff=True)
    else:
        size = fmt_pct_change(abs(_finite(r["pct"]))).lstrip("+")
        ci = (f"{fmt_pct_change(r['pct_ci_low'])} to {fmt_pct_change(r['pct_ci_high'])}")
    return (f"{name} {_direction(r)} {size} (from {before} to {after}{unit}; 95% interval "
            f"of the change {ci})")


def _scenario_paragraph(table: pd.DataFrame, base: str, scenario: str,
                        description: str) -> str:
    rows = table[table["scenario"] == scenario]
    base_rows = {str(r["kpi"]): r for _, r in table[table["scenario"] == base].iterrows()}
    applicable = rows[rows["applicable"]]
    headline = applicable[applicable["kpi"].map(lambda k: kpi_label(str(k)).headline)]
    clear = headline[headline["significant"] & headline["pct"].notna()]
    clear = clear.reindex(clear["pct"].abs().sort_values(ascending=False).index)
    title = scenario_title(scenario)
    opening = f"{title[:1].upper()}{title[1:]}" + (f" ({description.rstrip('.')})"
                                                   if description else "")
    n_clear = int(applicable["significant"].sum())
    if clear.empty:
        text = (f"{opening}: no measure changed clearly from {scenario_title(base)} (every "
                "95% interval of a change includes zero); more replications or longer runs "
                "may show smaller effects.")
    else:
        phrases = [_change_phrase(r, base_rows.get(str(r["kpi"])))
                   for _, r in clear.head(HEADLINE_CHANGES).iterrows()]
        text = (f"{opening}: the largest clear changes from {scenario_title(base)} are "
                f"{_and(phrases)}. In all, {n_clear} of {len(applicable)} measures changed "
                "clearly.")
    gone = rows[~rows["applicable"]]
    if len(gone):
        names = _and([kpi_label(str(k)).label.lower() for k in gone["kpi"]])
        policies = sorted({kpi_label(str(k)).policy_specific for k in gone["kpi"]})
        text += (f" {names[:1].upper()}{names[1:]} are {NOT_APPLICABLE}: they exist only "
                 f"under {_and(policies)}.")
    return text


def _validation_sentence(inputs: Inputs) -> str | None:
    base = next((r for r in inputs.runs if _is_baseline(r)), None)
    if base is None or not base.summary():
        return None
    table = figures.validation_table(base.summary())
    if table.empty or "required" not in table.columns:
        return None
    required = table[table["required"].map(lambda v: _truth(v) is True)]
    verdict = "met" if "met" in required.columns else "in_band"
    met = int(required[verdict].map(lambda v: _truth(v) is True).sum())
    return (f"The baseline reproduces {met} of the {len(required)} England 2010-11 figures it "
            "is calibrated to (high and medium confidence; see Validation). The figures judge "
            "only the baseline: reforms are meant to move away from them.")


def _summary_section(inputs: Inputs, tables: list[tuple[pd.DataFrame, str]]
                     ) -> SummarySection | None:
    if not inputs.runs:
        return None
    section = SummarySection()
    descriptions = {r.name: str((r.manifest.get("scenario") or {}).get("description") or "")
                    for r in inputs.runs}
    if tables:
        table = complete(tables[0][0])
        base = _base_of(table)
        others = [s for s in dict.fromkeys(table["scenario"]) if s != base]
        section.paragraphs.append(_what_was_run(inputs, base, others))
        for scenario in others:
            section.paragraphs.append(_scenario_paragraph(
                table, base, scenario, descriptions.get(scenario, "")))
    else:
        section.paragraphs.append(_what_was_run(inputs, None, []))
    sentence = _validation_sentence(inputs)
    if sentence:
        section.paragraphs.append(sentence)
    grouped: dict[str, list[str]] = {}
    for r in inputs.runs:
        for message in joined_messages(_warnings_of(r)):
            grouped.setdefault(message, []).append(r.name)
    n = len(inputs.runs)
    for message, names in grouped.items():
        who = "All runs" if n > 1 and len(names) == n else _and(names)
        section.warnings.append((who, message))
    return section


def _warnings_of(r: figures.ResultDir) -> list[RunWarning]:
    try:
        return result_warnings(r)
    except Exception as exc:  # a warning check must not lose the report
        log.warning("checks of %s failed: %s", r.path, exc)
        return []


# -- what was run ------------------------------------------------------------------------------


def _short(commit: Any) -> str:
    return str(commit)[:12] if commit else "-"


def _run_fields(r: figures.ResultDir) -> list[str]:
    m = r.manifest
    sw = m.get("software") or {}
    git = m.get("git") or {}
    commit = _short(git.get("commit"))
    if git.get("dirty"):
        commit += " (uncommitted changes)"
    command = m.get("command")
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    scenario = m.get("scenario") or {}
    finished = len(list((r.path / "replications").glob("rep-*.json")))
    asked = int(m.get("reps") or finished)
    reps = str(finished) + ("" if finished == asked else f" of {asked}")
    return [str(scenario.get("description") or ""), r.path.name, reps, str(m.get("seed", "-")),
            _plain(m.get("years")), _plain(m.get("warmup_years")),
            str(sw.get("childsim") or "-"), commit, str(m.get("started") or "-"),
            str(m.get("finished") or "not finished"), str(command or "-"),
            str(scenario.get("digest") or "-")[:16], reform_start_text(m), _log_text(m)]


def reform_start_text(m: dict[str, Any]) -> str:
    """When a run's changes from the baseline began, in words, from its manifest."""
    start = m.get("reform_start")
    if start is None:
        return "from the start of the run (not recorded: an earlier version)"
    if start == "run":
        return "from the start of the run"
    year = m.get("reform_start_year")
    branch = m.get("branch") or {}
    if year is None:
        text = "at the start of the measured window (this is the baseline: nothing changes)"
    else:
        text = f"at the start of the measured window (year {_plain(year)})"
    if branch:
        text += f", branched from one warm-up of {branch.get('root', 'the root')}"
    return text


def _log_text(m: dict[str, Any]) -> str:
    if m.get("log_warmup", True):
        return "the whole run, warm-up included"
    return "the measured window, with the cases open at its start (marked at_start)"


_RUN_LABELS = ("description", "directory", "replications", "seed", "measured years",
               "warm-up years", "childsim version", "git commit", "started (UTC)",
               "finished (UTC)", "command", "scenario digest", "reform starts",
               "journey log")


@dataclass
class RunSection(Section):
    """What was run: a table of the runs' details, the seed derivations, and a sentence for
    each comparison (dicts of name, base, reps, seed, crn) and each sensitivity analysis
    (dicts of name, method, scenario, params, points, reps, years, warmup)."""

    ident: ClassVar[str] = "run"
    label: ClassVar[str] = "What was run"
    tables: list[Table] = field(default_factory=list)
    derivations: list[str] = field(default_factory=list)
    comparisons: list[dict[str, str]] = field(default_factory=list)
    sensitivities: list[dict[str, str]] = field(default_factory=list)


def _run_section(inputs: Inputs) -> RunSection:
    section = RunSection()
    for part in _chunks(inputs.runs, MAX_COLUMNS) if inputs.runs else []:
        fields = [_run_fields(r) for r in part]
        rows: list[list[Cell]] = [[label, *(f[i] for f in fields)]
                                  for i, label in enumerate(_RUN_LABELS)]
        section.tables.append(Table(["", *(r.name for r in part)], rows, cls="run"))
    section.derivations = sorted({str(r.manifest.get("seed_derivation")) for r in inputs.runs
                                  if r.manifest.get("seed_derivation")})
    for d, _, meta in inputs.comparisons:
        if meta:
            section.comparisons.append({
                "name": d.name, "base": str(meta.get("base", "-")),
                "reps": str(meta.get("reps", "-")), "seed": str(meta.get("seed", "-")),
                "crn": "yes" if meta.get("common_random_numbers") else "not stated",
                "reform": {"window": "reforms begin at the start of the measured window, on "
                                     "the settled base",
                           "run": "reforms apply from the start of the run"}.get(
                    str(meta.get("reform_start")), "reforms apply from the start of the run "
                                                   "(not recorded: an earlier version)")})
    for d, indices, manifest in inputs.sensitivities:
        params = manifest.get("params") or indices.get("param", pd.Series()).unique()
        section.sensitivities.append({
            "name": d.name, "method": str(manifest.get("method", "-")),
            "scenario": str((manifest.get("scenario") or {}).get("name", "-")),
            "params": str(len(params)), "points": str(manifest.get("points", "-")),
            "reps": str(manifest.get("reps", "-")), "years": _plain(manifest.get("years")),
            "warmup": _plain(manifest.get("warmup_years"))})
    return section


# -- headline comparison and KPI summary -------------------------------------------------------


def _computed_comparison(inputs: Inputs) -> tuple[pd.DataFrame, str] | None:
    """A comparison table computed from the replications of several runs."""
    if len(inputs.runs) < 2:
        return None
    from sim.outputs.comparison import compare_frames
    from sim.outputs.results import load_result

    per_rep = {r.name: load_result(r.path).per_rep for r in inputs.runs}
    seeds = {r.manifest.get("seed") for r in inputs.runs}
    note = ("Computed from the replications, paired by replication number"
            + (" (all runs share their seed: common random numbers)." if len(seeds) == 1
               else "; the runs have different seeds, so the pairs do not share random "
                    "numbers and the paired intervals are not those of a CRN comparison."))
    return compare_frames(per_rep, inputs.runs[0].name), note


def _comparisons(inputs: Inputs) -> list[tuple[pd.DataFrame, str]]:
    out = [(t, f"From {d.name}/comparison.csv.") for d, t, _ in inputs.comparisons]
    if out and "applicable" not in out[0][0].columns and len(inputs.runs) >= 2:
        # written by an earlier version, with intervals that may leave a measure's range:
        # computed again from the replications
        computed = _computed_comparison(inputs)
        if computed is not None:
            out[0] = computed
    if not out:
        computed = _computed_comparison(inputs)
        if computed is not None:
            out.append(computed)
    return out


def _is_base(table: pd.DataFrame) -> pd.Series:
    if "is_base" in table.columns:
        return table["is_base"].astype(str).str.lower().isin(("true", "1"))
    return table["scenario"] == table["scenario"].iloc[0]


@dataclass
class TablesSection(Section):
    """A section of tables: the headline comparison or the KPI summary."""

    tables: list[Table] = field(default_factory=list)


@dataclass
class ComparisonSection(TablesSection):
    ident: ClassVar[str] = "comparison"
    label: ClassVar[str] = "Changes from the base, measure by measure"


@dataclass
class KpiSection(TablesSection):
    """``banded``: some column is the baseline's, judged against the target bands."""

    ident: ClassVar[str] = "kpis"
    label: ClassVar[str] = "Every measure"
    banded: bool = False


NOT_APPLICABLE = "not applicable under this policy"


def _base_of(table: pd.DataFrame) -> str:
    base_rows = table[_is_base(table)]
    return str(base_rows["scenario"].iloc[0]) if len(base_rows) else str(
        table["scenario"].iloc[0])


def _change_text(r: Mapping[str, Any], lab: Label) -> str:
    """The change from the base: ``+39.8 (+1.1%)``; shares in percentage points."""
    text = fmt_diff(r["diff"], lab)
    pct = _finite(r.get("pct"))
    if lab.kind != "share" and math.isfinite(pct):
        text += f" ({fmt_pct_change(pct)})"
    return text


def _comparison_section(tables: list[tuple[pd.DataFrame, str]]) -> ComparisonSection | None:
    if not tables:
        return None
    section = ComparisonSection()
    for raw, note in tables:
        table = complete(raw)
        base = _base_of(table)
        scenarios = [s for s in dict.fromkeys(table["scenario"]) if s != base]
        by = {(str(r["kpi"]), str(r["scenario"])): r for _, r in table.iterrows()}
        kpis = _kpi_order(str(k) for k in table["kpi"])
        for part in _chunks(scenarios, MAX_COLUMNS):
            rows: list[list[Cell]] = []
            for kpi in kpis:
                lab = kpi_label(kpi)
                b = by.get((kpi, base))
                cells: list[Cell] = [
                    KpiName(lab.label, lab.unit, kpi),
                    Estimate(fmt(b["mean"] if b is not None else None, lab),
                             ci=fmt_interval(b["ci_low"], b["ci_high"], lab)
                             if b is not None else None)]
                for s in part:
                    r = by.get((kpi, s))
                    if r is None:
                        cells.append("-")
                    elif not bool(r["applicable"]):
                        cells.append(Estimate(NOT_APPLICABLE, na=True))
                    else:
                        cells.append(Estimate(
                            fmt(r["mean"], lab),
                            ci=fmt_interval(r["diff_ci_low"], r["diff_ci_high"], lab,
                                            diff=True),
                            diff=_change_text(r, lab), sig=bool(r["significant"])))
                rows.append(cells)
            section.tables.append(Table(
                ["Measure", f"{base} (base)"] + list(part), rows, cls="comparison",
                caption=note))
    return section


BASELINE = "baseline"


def _is_baseline(r: figures.ResultDir) -> bool:
    """Whether a run is of the baseline scenario, the only one the 2010-11 target bands
    judge (reforms are meant to differ from them)."""
    scenario = r.manifest.get("scenario") or {}
    return str(scenario.get("name") or "") == BASELINE


def _summary_of(r: figures.ResultDir) -> dict[str, dict[str, Any]]:
    """A run's KPI summary, computed from its replications (so that its intervals are
    those of the current method, within each measure's range); its summary.json when the
    replications cannot be read."""
    from sim.outputs.results import load_result

    try:
        per_rep = load_result(r.path).per_rep
    except (OSError, ValueError, KeyError):
        return r.summary()
    if per_rep.empty:
        return r.summary()
    from sim.outputs.statistics import summarise

    return summarise(per_rep).to_dict(orient="index")


def _kpi_section(inputs: Inputs) -> KpiSection | None:
    if not inputs.runs:
        return None
    targets = {str(r["kpi"]): r for _, r in figures.read_targets().iterrows()}
    summaries = {r.name: _summary_of(r) for r in inputs.runs}
    kpis = _kpi_order(k for s in summaries.values() for k in s)
    if not kpis:
        return None
    section = KpiSection()
    judged = {r.name for r in inputs.runs if _is_baseline(r)}
    section.banded = bool(judged)
    names = [r.name for r in inputs.runs]
    for part in _chunks(names, MAX_COLUMNS):
        show_band = any(n in judged for n in part)
        rows: list[list[Cell]] = []
        for kpi in kpis:
            lab = kpi_label(kpi)
            t = targets.get(kpi) if show_band else None
            cells: list[Cell] = [KpiName(lab.label, lab.unit, kpi)]
            if show_band:
                cells.append("" if t is None else (
                    f"{fmt_interval(t['low'], t['high'], lab)} ({t.get('confidence', '')})"))
            means = {n: _finite((summaries[n].get(kpi) or {}).get("mean")) for n in names}
            exists = any(math.isfinite(m) and m > 0 for m in means.values())
            for name in part:
                s = summaries[name].get(kpi) or {}
                mean = means[name]
                if lab.policy_specific and exists and not (math.isfinite(mean) and mean > 0):
                    # a measure this scenario's policy abolishes: zero or undefined here,
                    # present in another scenario of the report
                    cells.append(Estimate(NOT_APPLICABLE, na=True))
                    continue
                mark = ""
                if t is not None and name in judged and math.isfinite(mean):
                    mark = "in" if float(t["low"]) <= mean <= float(t["high"]) else "out"
                cells.append(Estimate(fmt(mean, lab),
                                      ci=fmt_interval(s.get("ci_low"), s.get("ci_high"), lab),
                                      band=mark))
            rows.append(cells)
        header = ["Measure"] + (["England 2010-11 band (baseline only)"] if show_band else [])
        section.tables.append(Table(header + list(part), rows, cls="kpis"))
    return section


# -- figures -----------------------------------------------------------------------------------


@dataclass
class Embedded:
    """An embedded figure: its anchor, caption and PNG bytes (or why it is missing)."""

    ident: str
    caption: str
    png: bytes | None = None
    missing: str = ""

    @property
    def src(self) -> str | None:
        """The PNG as a ``data:`` URI, or None when the figure was not drawn."""
        if self.png is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _make(ident: str, caption: str, build: Callable[[], Any], dpi: int = 110) -> Embedded:
    try:
        made = build()
        png = made if isinstance(made, bytes) else figures.figure_png(made, dpi=dpi)
    except Exception as exc:  # one figure failing must not lose the whole report
        log.warning("figure %s could not be drawn: %s", ident, exc)
        return Embedded(ident, caption, None, f"{type(exc).__name__}: {exc}")
    return Embedded(ident, caption, png)


def _figures(inputs: Inputs, tables: list[tuple[pd.DataFrame, str]]) -> list[Embedded]:
    runs = inputs.runs
    out: list[Embedded] = []
    with_stocks = [r for r in runs if r.rep_files("stocks.parquet")]
    with_log = [r for r in runs if r.rep_files("journeys.parquet")]
    if with_stocks:
        out.append(_make("fig-stocks", "Monthly stocks over time: mean over replications with "
                         "the 95% t-interval band; scenarios overlaid; warm-up shaded.",
                         lambda: figures.stocks_figure(with_stocks)))
    for k, part in enumerate(_chunks(with_log, 2) if with_log else []):
        names = ", ".join(r.name for r in part)
        out.append(_make(f"fig-flow-{k + 1}", f"The child's journey ({names}): events per year "
                         "at each step in the measured window and the exits from it.",
                         lambda part=part: figures.flow_figure(list(part))))
    if with_log:
        out.append(_make("fig-distributions", "Time to help matching need (Kaplan-Meier, "
                         "censored at the window's end), assessment durations, and the "
                         "caseload distribution over time.",
                         lambda: figures.distributions_figure(with_log)))
    for k, (table, _) in enumerate(tables):
        if (~_is_base(table)).any():
            out.append(_make(f"fig-forest-{k + 1}", "Paired differences from the base with "
                             "95% CIs, as a percentage of the base mean; filled markers: the "
                             "interval excludes zero.",
                             lambda table=table: figures.forest_figure(table)))
    for k, (d, indices, _) in enumerate(inputs.sensitivities):
        out.append(_make(f"fig-sensitivity-{k + 1}", f"Sensitivity indices ({d.name}).",
                         lambda indices=indices: figures.sensitivity_figure(indices)))
    drawn: dict[tuple[Any, ...], list[str]] = {}
    for r in runs:
        key = tuple(sorted((k, v) for k, v in r.values.items() if k.startswith("loops.")))
        if key:
            drawn.setdefault(key, []).append(r.name)
    for k, (key, names) in enumerate(drawn.items()):
        out.append(_make(f"fig-loops-{k + 1}", "Causal loop diagram of the feedback loops "
                         f"switched on in {', '.join(names)}.",
                         lambda key=key: figures.loop_png(dict(key))))
    sources = _validation_sources(inputs)
    if sources:
        out.append(_make("fig-validation", "The baseline against the England 2010-11 figures "
                         "it is calibrated to: model mean and 95% interval against each "
                         "figure's band, as a percentage of the band's midpoint; hatched bands "
                         "come from low-confidence sources. Reforms are not judged against "
                         "these bands.",
                         lambda: figures.validation_figure(sources)))
    return out


def _validation_sources(inputs: Inputs) -> dict[str, Any]:
    """The baseline runs' validation.csv, or the run itself (computed from its summary), and
    any other run validated on purpose (it has a validation.csv); a validation.csv given on
    its own when there is no such run."""
    baseline = [r for r in inputs.runs if _is_baseline(r) or r.name in inputs.validation]
    if "" in inputs.validation:
        name = baseline[0].name if baseline else "model"
        return {name: inputs.validation[""]}
    return {r.name: inputs.validation.get(r.name, r) for r in baseline}


@dataclass
class FiguresSection(Section):
    ident: ClassVar[str] = "figures"
    label: ClassVar[str] = "Figures"
    figures: list[Embedded] = field(default_factory=list)


# -- validation table --------------------------------------------------------------------------


@dataclass
class ValidationSection(Section):
    """The validation table of the first run (``name``), read or computed from ``source``;
    ``required`` when the table says which targets must be met, ``missed`` those that
    are not."""

    ident: ClassVar[str] = "validation"
    label: ClassVar[str] = "Validation"
    name: str
    source: str
    table: Table
    required: bool = False
    missed: list[str] = field(default_factory=list)


def _validation_section(inputs: Inputs) -> ValidationSection | None:
    if not inputs.runs and not inputs.validation:
        return None
    base = next((r for r in inputs.runs if _is_baseline(r) or r.name in inputs.validation),
                None)
    if "" in inputs.validation:
        table, source = inputs.validation[""], "validation.csv"
    elif base is not None and base.name in inputs.validation:
        table, source = inputs.validation[base.name], f"{base.path.name}/validation.csv"
    elif base is not None and base.summary():
        table = figures.validation_table(base.summary())
        source = (f"computed from {base.path.name}/summary.json and the England 2010-11 "
                  "calibration targets")
    else:
        return None
    if table.empty:
        return None
    name = base.name if base is not None else ""
    required = "required" in table.columns
    rows: list[list[Cell]] = []
    missed: list[str] = []
    for _, r in table.iterrows():
        lab = kpi_label(str(r["kpi"]))
        inside = _truth(r.get("met", r.get("in_band")))  # met: by the row's own rule
        needed = _truth(r.get("required"))
        if inside is None:
            mark = "-"
        elif inside:
            mark = "yes"
        elif required and needed is False:
            mark = "no (low confidence: not required)"
        else:
            mark = "NO" if required else "no"
            if required:
                missed.append(lab.label)
        rows.append([KpiName(lab.label, lab.unit, str(r["kpi"])),
                     fmt_interval(r["low"], r["high"], lab), str(r.get("confidence", "")),
                     fmt(r["mean"], lab), fmt_interval(r.get("ci_low"), r.get("ci_high"), lab),
                     mark])
    return ValidationSection(name, source, Table(
        ["Measure", "England 2010-11 band", "confidence", "model mean", "95% interval",
         "mean in band"], rows, cls="validation"), required=required, missed=missed)


def _truth(value: Any) -> bool | None:
    """A boolean from a table cell (bool, number or "True"/"False" text); None if unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in ("true", "1", "1.0", "yes"):
        return True
    if text in ("false", "0", "0.0", "no"):
        return False
    return None


# -- scenario assumptions ----------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=")


def _inline_comment(line: str) -> str:
    """The comment after a value on one line (``#`` outside strings), or ""."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\" and quote == '"':
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in ("'", '"'):
            quote = c
        elif c == "#":
            return line[i + 1:].strip()
        i += 1
    return ""


@dataclass
class Comments:
    """Comments of a TOML file: above each key (and after its value), and free notes."""

    keys: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def toml_comments(text: str) -> Comments:
    """The comments of a TOML text for each key (dotted full key).

    A key's comment is the block of comment lines above it; keys that follow one another
    without a blank line or a new comment share the block above the first of them. Any
    comment after the value on the key's own line is added. Comment blocks above a table
    header or standing alone are collected as notes.
    """
    out = Comments()
    table = ""
    block: list[str] = []  # comment lines read since the last key, header or blank line
    above: list[str] = []  # the comment block over the current group of keys
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            if block:
                out.notes.append(" ".join(block))
            block, above = [], []
            continue
        header = _HEADER.match(line)
        if header and not stripped.startswith("[["):
            table = ".".join(p.strip().strip("\"'") for p in header.group(1).split("."))
            if block:
                out.notes.append(" ".join(block))
            block, above = [], []
            continue
        key = _KEY.match(line)
        if key:
            if block:  # a new comment block starts a new group of keys
                above = block
            name = ".".join(p.strip() for p in key.group(1).split("."))
            full = f"{table}.{name}" if table else name
            lines = list(above)
            inline = _inline_comment(line[key.end():])
            if inline:
                lines.append(inline)
            out.keys[full] = lines
        block = []
    if block:
        out.notes.append(" ".join(block))
    return out


def _baseline_values(run: figures.ResultDir) -> tuple[dict[str, Any], str]:
    """The values a scenario is compared with: the baseline scenario's, or else the root
    of its own chain of files."""
    from sim.scenario import ScenarioError, load_scenario

    try:
        return dict(load_scenario("baseline").values), "baseline"
    except ScenarioError:
        pass
    files = (run.manifest.get("scenario") or {}).get("files") or []
    if files and Path(files[0]).is_file():
        try:
            return dict(load_scenario(Path(files[0])).values), Path(files[0]).stem
        except ScenarioError:
            pass
    return {}, ""


def _start_year(files: Sequence[str]) -> float:
    if not files:
        return 0.0
    try:
        data = tomllib.loads(Path(files[-1]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    value = data.get("start_year", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


def _unit_text(param: Any) -> str:
    if param is None:
        return ""
    return "1 (dimensionless)" if param.unit == "1" else str(param.unit)


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


@dataclass
class Assumptions:
    """The assumptions of one scenario: its description, the names of its files (base
    first), when its changes start (years, "" from the start), the table of parameters
    that differ from ``base_name`` (None when none differ) and the free notes of its files
    as (file name, note)."""

    name: str
    slug: str
    description: str
    files: list[str]
    start: str
    base_name: str
    baseline_missing: bool = False
    table: Table | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class AssumptionsSection(Section):
    ident: ClassVar[str] = "assumptions"
    label: ClassVar[str] = "Scenario assumptions"
    scenarios: list[Assumptions] = field(default_factory=list)


def _assumptions_section(inputs: Inputs) -> AssumptionsSection | None:
    if not inputs.runs:
        return None
    from sim.parameters import SCHEMA

    section = AssumptionsSection()
    cache: dict[str, Comments] = {}

    def comments(path: str) -> Comments:
        if path not in cache:
            try:
                cache[path] = toml_comments(Path(path).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                cache[path] = Comments()
        return cache[path]

    done: set[str] = set()
    for run in inputs.runs:
        scenario = run.manifest.get("scenario") or {}
        digest = str(scenario.get("digest") or run.name)
        if digest in done:
            continue
        done.add(digest)
        files = [str(f) for f in scenario.get("files") or []]
        provenance = scenario.get("provenance") or {}
        base_values, base_name = _baseline_values(run)
        start = _start_year(files)
        item = Assumptions(
            name=run.name, slug=_slug(run.name),
            description=str(scenario.get("description") or "(no description)"),
            files=[Path(f).name for f in files], start=_plain(start) if start > 0 else "",
            base_name=base_name)
        section.scenarios.append(item)
        if not base_values:
            item.baseline_missing = True
            continue
        changed = [k for k, v in run.values.items() if k in base_values and base_values[k] != v]
        changed += [k for k in run.values if k not in base_values]
        if changed:
            rows: list[list[Cell]] = []
            for key in [k for k in SCHEMA if k in changed] + [k for k in changed
                                                              if k not in SCHEMA]:
                param = SCHEMA.get(key)
                source = str(provenance.get(key) or "")
                is_file = source.endswith(".toml") and Path(source).is_file()
                reason = comments(source).keys.get(key, []) if is_file else []
                if not is_file:
                    where = f"set directly ({source})" if source else "not recorded"
                else:
                    where = Path(source).name
                rows.append([key, _value_text(base_values.get(key, "-")),
                             _value_text(run.values[key]), _unit_text(param),
                             " ".join(reason) if reason else "(no comment in the file)",
                             where])
            item.table = Table(["parameter", base_name, "value", "unit", "reason and evidence",
                                "set in"], rows, cls="assumptions")
        for f in files:
            if Path(f).stem == base_name and base_name == "baseline":
                continue
            item.notes += [(Path(f).name, n) for n in comments(f).notes]
    return section


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


# -- the page ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The templates of the report (``sim/outputs/templates``), HTML-escaping every value."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(inputs: Inputs) -> str:
    """The report page as HTML text."""
    tables = _comparisons(inputs)
    names = [r.name for r in inputs.runs] or [d.name for d, _, _ in inputs.sensitivities]
    title = "Child's journey simulator: " + (", ".join(names) if names else "report")
    figs = _figures(inputs, tables)
    sections: list[Section | None] = [
        _summary_section(inputs, tables),
        _comparison_section(tables),
        _kpi_section(inputs),
        FiguresSection(figures=figs) if figs else None,
        _validation_section(inputs),
        _run_section(inputs),
        _assumptions_section(inputs),
    ]
    page = _environment().get_template("report.html.j2").render(
        title=title, sections=[s for s in sections if s is not None])
    # Jinja writes an escaped double quote as &#34;; the same character as &quot;, which
    # reads better (a &#34; typed in a text is itself escaped, to &amp;#34;).
    return page.replace("&#34;", "&quot;")


def section_fragments(dirs: Sequence[Path]) -> dict[str, str]:
    """The report's opening sentences and its comparison table as HTML fragments, by section
    ident (``summary``, ``comparison``), laid out by the report's own templates, so that
    another page (the app) shows them in the same words, units and intervals."""
    inputs = read_inputs(dirs)
    tables = _comparisons(inputs)
    out: dict[str, str] = {}
    for section in (_summary_section(inputs, tables), _comparison_section(tables)):
        if section is not None:
            html = _environment().get_template(f"section_{section.ident}.html.j2").render(
                section=section)
            out[section.ident] = html.replace("&#34;", "&quot;")
    return out


def build_report(dirs: Sequence[Path], out: Path | None = None) -> Path:
    """Write the HTML report of ``dirs`` and return its path.

    ``out`` is the file to write (a directory means ``out/report.html``); by default
    ``report.html`` in the first directory. Raises :class:`ReportError` when a directory
    is missing or holds no results.
    """
    if not dirs:
        raise ReportError("give at least one result directory")
    inputs = read_inputs(dirs)
    if not inputs.runs and not inputs.sensitivities:
        raise ReportError("no scenario results found in " + ", ".join(str(d) for d in dirs))
    target = Path(dirs[0]) / REPORT_FILE if out is None else Path(out)
    if target.is_dir():
        target = target / REPORT_FILE
    from sim.outputs.files import atomic_write_text

    atomic_write_text(target, render(inputs))
    with contextlib.suppress(OSError):  # readable like any file the user creates
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(target, 0o666 & ~umask)
    return target
