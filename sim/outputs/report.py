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

The file makes no network request: figures are embedded as base64 PNG, the stylesheet is
inline, there are no scripts or web fonts, and every link points inside the page. All text
is HTML-escaped. Sections whose inputs are absent are left out.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import logging
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.outputs import figures
from sim.outputs.numbers import sig3, value_kind

log = logging.getLogger(__name__)

__all__ = [
    "ReportError",
    "build_report",
    "format_value",
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


def _esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _finite(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def format_value(x: Any, unit: str = "") -> str:
    """A number for a table: 3 significant figures for rates and shares (whole numbers
    from 1000), one decimal for counts; "-" when undefined."""
    v = _finite(x)
    if not math.isfinite(v):
        return "-"
    if value_kind(unit) == "count":
        return f"{v:,.1f}"
    return sig3(v, grouped=True)


def _signed(x: float, unit: str) -> str:
    text = format_value(x, unit)
    return ("+" + text) if math.isfinite(x) and x > 0 else text


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


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "",
           raw: bool = False, caption: str = "") -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are already HTML)."""
    cell = (lambda c: c) if raw else _esc
    head = "".join(f"<th scope=\"col\">{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>\n"
                   for r in rows)
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return (f"<div class=\"table-wrap\"><table class=\"{_esc(cls)}\">{cap}<thead><tr>{head}"
            f"</tr></thead>\n<tbody>\n{body}</tbody></table></div>\n")


def _chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)] or [items]


def _units() -> dict[str, str]:
    try:
        from sim.outputs.kpis import KPIS
    except ImportError:  # pragma: no cover
        return {}
    return {name: k.unit for name, k in KPIS.items()}


def _kpi_order(names: Iterable[str]) -> list[str]:
    units = _units()
    order = {n: i for i, n in enumerate(units)}
    return sorted(dict.fromkeys(names), key=lambda n: (order.get(n, len(order)), n))


# -- sections ----------------------------------------------------------------------------------


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
            str(scenario.get("digest") or "-")[:16]]


_RUN_LABELS = ("description", "directory", "replications", "seed", "measured years",
               "warm-up years", "childsim version", "git commit", "started (UTC)",
               "finished (UTC)", "command", "scenario digest")


def _section_run(inputs: Inputs) -> str:
    out = ["<section id=\"run\"><h2>What was run</h2>"]
    for part in _chunks(inputs.runs, MAX_COLUMNS) if inputs.runs else []:
        fields = [_run_fields(r) for r in part]
        rows = [[label, *(f[i] for f in fields)] for i, label in enumerate(_RUN_LABELS)]
        out.append(_table(["", *(r.name for r in part)], rows, cls="run"))
    if inputs.runs:
        derivations = {str(r.manifest.get("seed_derivation")) for r in inputs.runs
                       if r.manifest.get("seed_derivation")}
        if derivations:
            out.append("<p class=\"note\">Random streams of replication <i>rep</i>: "
                       + "; ".join(_esc(d) for d in sorted(derivations))
                       + ". Runs with the same seed share their random numbers "
                         "replication by replication (common random numbers).</p>")
    for d, _, meta in inputs.comparisons:
        if meta:
            out.append(
                f"<p>Comparison in <code>{_esc(d.name)}</code>: base "
                f"<b>{_esc(meta.get('base', '-'))}</b>, {_esc(meta.get('reps', '-'))} "
                f"replications each, seed {_esc(meta.get('seed', '-'))}, common random "
                f"numbers: {_esc('yes' if meta.get('common_random_numbers') else 'not stated')}"
                ".</p>")
    for d, indices, manifest in inputs.sensitivities:
        scen = (manifest.get("scenario") or {}).get("name", "-")
        out.append(
            f"<p>Sensitivity analysis in <code>{_esc(d.name)}</code>: "
            f"{_esc(manifest.get('method', '-'))} on {_esc(scen)}, "
            f"{_esc(len(manifest.get('params') or indices.get('param', pd.Series()).unique()))}"
            f" parameter(s), {_esc(manifest.get('points', '-'))} points of "
            f"{_esc(manifest.get('reps', '-'))} replication(s), "
            f"{_esc(_plain(manifest.get('years')))} measured years after "
            f"{_esc(_plain(manifest.get('warmup_years')))} warm-up years.</p>")
    out.append("</section>")
    return "\n".join(out)


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
    if not out:
        computed = _computed_comparison(inputs)
        if computed is not None:
            out.append(computed)
    return out


def _is_base(table: pd.DataFrame) -> pd.Series:
    if "is_base" in table.columns:
        return table["is_base"].astype(str).str.lower().isin(("true", "1"))
    return table["scenario"] == table["scenario"].iloc[0]


def _section_comparison(tables: list[tuple[pd.DataFrame, str]]) -> str:
    if not tables:
        return ""
    units = _units()
    out = ["<section id=\"comparison\"><h2>Headline comparison</h2>",
           "<p>Per KPI: the base scenario's mean; for each other scenario its mean and the mean "
           "of the paired differences from the base (replication by replication) with the 95% "
           "t interval and the difference as a percentage of the base mean. "
           "<span class=\"sig\">Shaded and marked *</span>: the interval excludes zero.</p>"]
    for table, note in tables:
        base_rows = table[_is_base(table)]
        base = str(base_rows["scenario"].iloc[0]) if len(base_rows) else str(
            table["scenario"].iloc[0])
        scenarios = [s for s in dict.fromkeys(table["scenario"]) if s != base]
        by = {(str(r["kpi"]), str(r["scenario"])): r for _, r in table.iterrows()}
        kpis = _kpi_order(str(k) for k in table["kpi"])
        for part in _chunks(scenarios, MAX_COLUMNS):
            rows = []
            for kpi in kpis:
                unit = units.get(kpi, "")
                b = by.get((kpi, base))
                bmean = _finite(b["mean"]) if b is not None else math.nan
                cells = [f"<span class=\"kpi\">{_esc(kpi)}</span>"
                         f"<span class=\"unit\">{_esc(unit)}</span>",
                         _esc(format_value(bmean, unit))
                         + (f"<span class=\"ci\">{_esc(_ci(b['ci_low'], b['ci_high'], unit))}"
                            "</span>" if b is not None else "")]
                for s in part:
                    r = by.get((kpi, s))
                    if r is None:
                        cells.append("-")
                        continue
                    diff = _finite(r["diff"])
                    sig = str(r.get("significant")).lower() in ("true", "1")
                    pct = (f" ({diff / abs(bmean) * 100:+.1f}%)"
                           if math.isfinite(diff) and math.isfinite(bmean) and bmean != 0
                           else "")
                    text = (f"{_esc(format_value(r['mean'], unit))}"
                            f"<span class=\"diff\">&#916; {_esc(_signed(diff, unit))}"
                            f"{_esc(pct)}{' *' if sig else ''}</span>"
                            f"<span class=\"ci\">"
                            f"{_esc(_ci(r['diff_ci_low'], r['diff_ci_high'], unit))}</span>")
                    cells.append(f"<div class=\"sig\">{text}</div>" if sig else text)
                rows.append(cells)
            out.append(_table(["KPI", f"{base} (base): mean, 95% CI"]
                              + [f"{s}: mean, difference, 95% CI of difference" for s in part],
                              rows, cls="comparison", raw=True, caption=note))
    out.append("</section>")
    return "\n".join(out)


def _section_kpis(inputs: Inputs) -> str:
    if not inputs.runs:
        return ""
    units = _units()
    targets = {str(r["kpi"]): r for _, r in figures.read_targets().iterrows()}
    summaries = {r.name: r.summary() for r in inputs.runs}
    kpis = _kpi_order(k for s in summaries.values() for k in s)
    if not kpis:
        return ""
    out = ["<section id=\"kpis\"><h2>KPI summary</h2>",
           "<p>Mean over replications with its 95% t interval. The target band is the England "
           "2010-11 per-LA calibration band (with the confidence of its source); "
           "&#10003; the mean lies in the band, &#10007; it does not.</p>"]
    names = [r.name for r in inputs.runs]
    for part in _chunks(names, MAX_COLUMNS):
        rows = []
        for kpi in kpis:
            t = targets.get(kpi)
            unit = units.get(kpi) or (str(t["unit"]) if t is not None else "")
            band = "" if t is None else (f"{_plain(t['low'])} to {_plain(t['high'])}"
                                         f" ({t.get('confidence', '')})")
            cells = [f"<span class=\"kpi\">{_esc(kpi)}</span>"
                     f"<span class=\"unit\">{_esc(unit)}</span>", _esc(band)]
            for name in part:
                s = summaries[name].get(kpi) or {}
                mean = _finite(s.get("mean"))
                mark = ""
                if t is not None and math.isfinite(mean):
                    inside = float(t["low"]) <= mean <= float(t["high"])
                    mark = (" <span class=\"in\" title=\"in band\">&#10003;</span>" if inside
                            else " <span class=\"out\" title=\"outside the band\">&#10007;"
                                 "</span>")
                cells.append(_esc(format_value(mean, unit)) + mark
                             + "<span class=\"ci\">"
                             + _esc(_ci(s.get("ci_low"), s.get("ci_high"), unit)) + "</span>")
            rows.append(cells)
        out.append(_table(["KPI", "target band"] + [f"{n}: mean, 95% CI" for n in part], rows,
                          cls="kpis", raw=True))
    out.append("</section>")
    return "\n".join(out)


# -- figures -----------------------------------------------------------------------------------


@dataclass
class Embedded:
    """An embedded figure: its anchor, caption and PNG bytes (or why it is missing)."""

    ident: str
    caption: str
    png: bytes | None = None
    missing: str = ""


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
    if runs:
        out.append(_make("fig-validation", "Model mean and 95% CI against the England "
                         "2010-11 calibration band of each KPI, as a percentage of the band's "
                         "midpoint; hatched bands come from low-confidence sources.",
                         lambda: figures.validation_figure(_validation_sources(inputs))))
    return out


def _validation_sources(inputs: Inputs) -> dict[str, Any]:
    """Each run's validation.csv, or the run itself (computed from its summary)."""
    if "" in inputs.validation:
        return {inputs.runs[0].name: inputs.validation[""]}
    return {r.name: inputs.validation.get(r.name, r) for r in inputs.runs}


def _section_figures(figs: list[Embedded]) -> str:
    if not figs:
        return ""
    out = ["<section id=\"figures\"><h2>Figures</h2>"]
    for f in figs:
        if f.png is None:
            out.append(f"<p class=\"missing\" id=\"{_esc(f.ident)}\">Figure not drawn "
                       f"({_esc(f.caption)}): {_esc(f.missing)}</p>")
            continue
        data = base64.b64encode(f.png).decode("ascii")
        out.append(f"<figure id=\"{_esc(f.ident)}\"><img src=\"data:image/png;base64,{data}\" "
                   f"alt=\"{_esc(f.caption)}\"><figcaption>{_esc(f.caption)}</figcaption>"
                   "</figure>")
    out.append("</section>")
    return "\n".join(out)


# -- validation table --------------------------------------------------------------------------


def _section_validation(inputs: Inputs) -> str:
    if not inputs.runs and not inputs.validation:
        return ""
    base = inputs.runs[0] if inputs.runs else None
    if "" in inputs.validation:
        table, source = inputs.validation[""], "validation.csv"
    elif base is not None and base.name in inputs.validation:
        table, source = inputs.validation[base.name], f"{base.path.name}/validation.csv"
    elif base is not None and base.summary():
        table = figures.validation_table(base.summary())
        source = (f"computed from {base.path.name}/summary.json and the England 2010-11 "
                  "calibration targets")
    else:
        return ""
    if table.empty:
        return ""
    name = base.name if base is not None else ""
    required = "required" in table.columns
    rows, missed = [], []
    for _, r in table.iterrows():
        unit = str(r.get("unit", ""))
        inside, needed = _truth(r.get("in_band")), _truth(r.get("required"))
        if inside is None:
            mark = "-"
        elif inside:
            mark = "yes"
        elif required and needed is False:
            mark = "no (low confidence: not required)"
        else:
            mark = "NO" if required else "no"
            if required:
                missed.append(str(r["kpi"]))
        rows.append([str(r["kpi"]), unit, f"{_plain(r['low'])} to {_plain(r['high'])}",
                     str(r.get("confidence", "")), format_value(r["mean"], unit),
                     _ci(r.get("ci_low"), r.get("ci_high"), unit), mark])
    verdict = ""
    if required:
        verdict = ("<p><b>Every high- and medium-confidence target is met.</b></p>" if not missed
                   else f"<p><b>{len(missed)} required target(s) missed:</b> "
                        f"{_esc(', '.join(missed))}.</p>")
    return ("<section id=\"validation\"><h2>Validation</h2>"
            f"<p>{_esc(name)} against the calibration targets ({_esc(source)}). A "
            "low-confidence band is a plausibility check, not a fitting target.</p>" + verdict
            + _table(["KPI", "unit", "target band", "confidence", "mean", "95% CI",
                      "mean in band"], rows, cls="validation")
            + "</section>")


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


def _section_assumptions(inputs: Inputs) -> str:
    if not inputs.runs:
        return ""
    from sim.parameters import SCHEMA

    out = ["<section id=\"assumptions\"><h2>Scenario assumptions</h2>",
           "<p>For each scenario: its description and every parameter that differs from the "
           "baseline, with its unit and the comment lines written above it in the scenario "
           "file (the reason and the evidence).</p>"]
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
        out.append(f"<h3 id=\"assumptions-{_esc(_slug(run.name))}\">{_esc(run.name)}</h3>")
        out.append(f"<p>{_esc(scenario.get('description') or '(no description)')}</p>")
        if files:
            out.append("<p class=\"note\">Scenario files, base first: "
                       + " &#8594; ".join(f"<code>{_esc(Path(f).name)}</code>" for f in files)
                       + "</p>")
        start = _start_year(files)
        if start > 0:
            out.append(f"<p>The changes take effect {_esc(_plain(start))} years into the run; "
                       "before then the root scenario of the chain applies.</p>")
        changed = [k for k, v in run.values.items() if k in base_values and base_values[k] != v]
        changed += [k for k in run.values if base_values and k not in base_values]
        if not base_values:
            out.append("<p class=\"note\">The baseline scenario could not be loaded, so the "
                       "changed parameters cannot be listed.</p>")
            continue
        if not changed:
            out.append(f"<p>No parameter differs from {_esc(base_name)}.</p>")
        else:
            rows = []
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
            out.append(_table(["parameter", base_name, "value", "unit", "reason and evidence",
                               "set in"], rows, cls="assumptions"))
        notes = []
        for f in files:
            if Path(f).stem == base_name and base_name == "baseline":
                continue
            for n in comments(f).notes:
                notes.append((Path(f).name, n))
        if notes:
            out.append("<p class=\"note\">Notes in the scenario files:</p><ul class=\"notes\">"
                       + "".join(f"<li><code>{_esc(f)}</code>: {_esc(n)}</li>"
                                 for f, n in notes) + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


# -- the page ----------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: #111; background: #fff; line-height: 1.45; margin: 0 auto;
       padding: 1.5rem 1.25rem 3rem; max-width: 78rem; font-size: 15px; }
h1 { font-size: 1.7em; margin: 0 0 .3rem; }
h2 { font-size: 1.35em; margin: 2rem 0 .6rem; padding-bottom: .2rem;
     border-bottom: 2px solid #333; }
h3 { font-size: 1.1em; margin: 1.4rem 0 .4rem; }
p { margin: .4rem 0 .7rem; max-width: 60rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
       font-size: .9em; }
nav ol { columns: 2; margin: .4rem 0 0; padding-left: 1.4rem; }
nav a, a { color: #0b4f8a; }
.note { color: #444; font-size: .92em; }
.missing { color: #8a1c1c; font-style: italic; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .87em; }
caption { caption-side: bottom; text-align: left; color: #555; font-size: .92em;
          padding-top: .3rem; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; vertical-align: top;
         text-align: left; overflow-wrap: break-word; }
th { background: #eee; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fafafa; }
td .kpi { display: block; font-weight: 600; overflow-wrap: anywhere; }
td .unit, td .ci, td .diff { display: block; color: #555; font-size: .92em; }
td .diff { color: #111; font-size: .96em; }
.sig { background: #e4e4e4; font-weight: 600; }
div.sig { margin: -.25rem -.45rem; padding: .25rem .45rem; }
.in { color: #1a5e20; font-weight: 700; }
.out { color: #8a1c1c; font-weight: 700; }
table.run td:first-child { font-weight: 600; white-space: nowrap; width: 10rem; }
table.assumptions td:nth-child(5) { min-width: 18rem; }
figure { margin: 1rem 0 1.6rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #444; margin-top: .3rem; }
ul.notes { font-size: .92em; color: #333; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3 { break-after: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  td .unit, td .ci { font-size: 7pt; }
  tr, figure, img { break-inside: avoid; page-break-inside: avoid; }
  figure img { border: none; max-height: 24cm; width: auto; }
  a { color: inherit; text-decoration: none; }
  .sig, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def render(inputs: Inputs) -> str:
    """The report page as HTML text."""
    tables = _comparisons(inputs)
    names = [r.name for r in inputs.runs] or [d.name for d, _, _ in inputs.sensitivities]
    title = "Child's journey simulator: " + (", ".join(names) if names else "report")
    sections = [
        ("run", "What was run", _section_run(inputs)),
        ("comparison", "Headline comparison", _section_comparison(tables)),
        ("kpis", "KPI summary", _section_kpis(inputs)),
        ("figures", "Figures", _section_figures(_figures(inputs, tables))),
        ("validation", "Validation", _section_validation(inputs)),
        ("assumptions", "Scenario assumptions", _section_assumptions(inputs)),
    ]
    sections = [s for s in sections if s[2]]
    nav = "".join(f"<li><a href=\"#{ident}\">{_esc(label)}</a></li>"
                  for ident, label, _ in sections)
    lead = ""
    if inputs.runs:
        first = inputs.runs[0]
        lead = (f"<p class=\"lead\">{len(inputs.runs)} scenario run(s); "
                f"{_esc(_plain(first.years))} measured years after "
                f"{_esc(_plain(first.warmup_years))} warm-up years (of the first run). "
                "Intervals are 95% Student t intervals over replications.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>{_esc(title)}</h1>{lead}<nav><ol>{nav}</ol></nav></header>\n"
            "<main>\n" + "\n".join(s[2] for s in sections) + "\n</main>\n</body>\n</html>\n")


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
