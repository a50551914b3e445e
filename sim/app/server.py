"""The advisor's workbench: a Shiny for Python application.

Layout: a side bar to choose (a reform, its policy levers as sliders, any other lever, the
run's size) and to run or cancel; above the results, the run's state with a progress bar;
then tabs: the reform and its evidence, the summary, the journey, stocks over time,
caseloads and time, the feedback loops, every measure, and the downloads.

Nothing heavy happens here: a run and its figures are drawn in the run's own process
(:mod:`sim.app.jobs`, :mod:`sim.app.worker`); the server reads the files they leave. Each
browser tab is a Shiny session that knows only the runs it asked for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shiny import App, reactive, render, ui

from sim.app import choices as ch
from sim.app import views
from sim.app.jobs import CANCELLED, FAILED, FINISHED, JobManager
from sim.app.worker import supports_reform_start

log = logging.getLogger(__name__)

NONE = "(none: the baseline with the levers below)"
POLL = 0.5


@dataclass(frozen=True)
class Settings:
    """How the app was started: where it serves and the run size the form starts with."""

    host: str = "127.0.0.1"
    port: int = 8765
    reps: int = 10
    years: float = 5.0
    warmup: float = 16.0
    seed: int = 1

    @property
    def local(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


CSS = """
.privacy { font-size: .9em; color: #1a4d1a; background: #eef7ee; border-left: 4px solid #2e7d32;
           padding: .35rem .7rem; margin-bottom: .6rem; }
.privacy.open { color: #6b3d00; background: #fff4e0; border-left-color: #b26a00; }
.status-box { margin: .2rem 0 .8rem; }
.status-box .progress { height: 1.1rem; margin: .3rem 0; }
.run-error { color: #8a1c1c; background: #fdecec; border-left: 4px solid #8a1c1c;
             padding: .45rem .8rem; }
.prelim { color: #6b3d00; background: #fff4e0; border-left: 4px solid #b26a00;
          padding: .35rem .7rem; }
.lever-help { font-size: .8em; color: #555; margin: -.6rem 0 .6rem; }
.reform-desc { font-size: .9em; color: #333; }
.report-fragment p { max-width: 62rem; }
.report-fragment p.lead { font-size: 1.05em; }
.report-fragment .table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
.report-fragment table { border-collapse: collapse; width: 100%; font-size: .85em; }
.report-fragment caption { caption-side: bottom; color: #555; font-size: .9em; }
.report-fragment th, .report-fragment td { border: 1px solid #bbb; padding: .25rem .45rem;
                                             vertical-align: top; }
.report-fragment th { background: #eee; }
.report-fragment td .kpi { display: block; font-weight: 600; }
.report-fragment td .unit, .report-fragment td .ci { display: block; color: #555;
                                                     font-size: .92em; }
.report-fragment td .diff { display: block; color: #111; }
.report-fragment .sig { background: #e4e4e4; font-weight: 600; }
.report-fragment div.sig { margin: -.25rem -.45rem; padding: .25rem .45rem; }
.report-fragment .na { color: #555; font-style: italic; }
.report-fragment .warnings { border-left: 4px solid #8a5a00; background: #fff8e6;
                             padding: .4rem .9rem; margin: .8rem 0; font-size: .92em; }
.figure-note { font-size: .88em; color: #444; }
table.changes { font-size: .85em; }
"""


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _privacy(settings: Settings) -> Any:
    if settings.local:
        return ui.div(
            "This workbench runs on this computer only (", ui.tags.code(settings.host),
            "): your choices, the results and any local authority data you load stay on "
            "this machine. Nothing is sent elsewhere.", class_="privacy", id="privacy")
    return ui.div(
        f"This workbench is served on {settings.host}: others who can reach this machine "
        "can use it. Results stay on this server; nothing is sent elsewhere.",
        class_="privacy open", id="privacy")


def _reform_choices() -> dict[str, str]:
    out = {"": NONE}
    for r in ch.reforms():
        out[r.name] = r.title
    return out


def _lever_choices() -> dict[str, str]:
    return {lv.key: f"{lv.doc} ({lv.key})" for lv in ch.levers()}


def _run_size(settings: Settings) -> list[Any]:
    start = [
        ui.input_numeric("reps", "Replications of each scenario", settings.reps, min=2,
                         max=ch.MAX_REPS, step=1),
        ui.input_numeric("years", "Measured years", settings.years, min=0.1,
                         max=ch.MAX_YEARS, step=0.5),
        ui.input_numeric("warmup", "Warm-up years (not measured)", settings.warmup, min=0,
                         max=ch.MAX_WARMUP, step=1),
        ui.input_numeric("seed", "Random seed", settings.seed, min=0, step=1),
    ]
    if supports_reform_start():
        start.append(ui.input_radio_buttons(
            "reform_start", "The reform starts",
            {"window": "at the measured window (from a settled baseline)",
             "run": "with the run"}, selected="window"))
    else:
        start.append(ui.p("The reform starts with the run (this version cannot yet branch "
                          "a reform from a settled baseline).", class_="lever-help",
                          id="reform-start-note"))
    return start


def app_ui(settings: Settings) -> Any:
    sidebar = ui.sidebar(
        ui.h5("1. Choose"),
        ui.input_select("reform", "Reform", _reform_choices(), selected=""),
        ui.output_ui("lever_inputs"),
        ui.input_selectize("extra_levers", "More policy levers", _lever_choices(),
                           multiple=True, options={"placeholder": "add a lever..."}),
        ui.h5("2. Run"),
        ui.input_action_button("run", "Run against the baseline", class_="btn-primary"),
        ui.input_action_button("cancel", "Cancel the run", class_="btn-outline-secondary"),
        ui.accordion(ui.accordion_panel("Run size and seed", *_run_size(settings)),
                     id="run_size", open=True),
        width=330, id="side",
    )
    figure_tabs = [
        ui.nav_panel(title, ui.output_ui(f"fig_{ident}"), value=ident)
        for ident, title in (("ripple", "Journey"), ("stocks", "Stocks over time"),
                             ("workload", "Caseloads and time"), ("loops", "Feedback loops"))
    ]
    return ui.page_sidebar(
        sidebar,
        ui.head_content(ui.tags.style(CSS), ui.tags.meta(name="referrer",
                                                         content="no-referrer")),
        _privacy(settings),
        ui.output_ui("status"),
        ui.navset_tab(
            ui.nav_panel("Reform", ui.output_ui("reform_info"), value="reform"),
            ui.nav_panel("Summary", ui.output_ui("summary"), value="summary"),
            *figure_tabs,
            ui.nav_panel("Every measure", ui.output_ui("measures"), value="measures"),
            ui.nav_panel("Take it away", ui.output_ui("downloads_note"),
                         ui.download_button("dl_report", "Report (report.html)"), " ",
                         ui.download_button("dl_toml", "Scenario file (TOML)"), " ",
                         ui.download_button("dl_zip", "Result directory (zip)"),
                         value="downloads"),
            id="tabs", selected="reform",
        ),
        title="Child's journey simulator: choose a reform, see the ripple",
        fillable=False,
    )


def make_app(manager: JobManager, settings: Settings | None = None) -> App:
    """The Shiny application serving ``manager``'s runs."""
    settings = settings or Settings()
    scratch = Path(manager.workspace) / "downloads"
    scratch.mkdir(parents=True, exist_ok=True)

    def server(input: Any, output: Any, session: Any) -> None:
        sid = session.id
        job_id: reactive.Value[str | None] = reactive.value(None)
        run_toml: reactive.Value[str] = reactive.value("")
        error: reactive.Value[str] = reactive.value("")
        seen: reactive.Value[tuple[Any, ...]] = reactive.value(())
        session.on_ended(lambda: manager.forget(sid))

        def job() -> Any:
            jid = job_id.get()
            return None if jid is None else manager.get(jid, sid)

        @reactive.effect
        def _poll() -> None:
            """Notice a run's progress and new views (only this session's run)."""
            j = job()
            if j is None:
                seen.set(())
                return
            if j.active:
                reactive.invalidate_later(POLL)
            seen.set((j.id, j.state, j.views_reps, tuple(sorted(j.progress.items())),
                      j.round_reps))

        def reform_name() -> str | None:
            return input.reform() or None

        def shown_levers() -> list[ch.Lever]:
            name = reform_name()
            keys: list[str] = []
            if name is not None:
                levers_ = {lv.key for lv in ch.levers()}
                keys = [c.key for c in ch.reform(name).changes if c.key in levers_]
            keys += [k for k in (input.extra_levers() or ()) if k not in keys]
            return [ch.lever(k) for k in keys]

        @render.ui
        def lever_inputs() -> Any:
            name = reform_name()
            items: list[Any] = []
            shown = shown_levers()
            if shown:
                items.append(ui.p("Policy levers: each starts at the reform's value; the range "
                                  "is the plausible range of the parameter schema.",
                                  class_="lever-help"))
            for lv in shown:
                value = ch.start_value(name, lv.key)
                unit = f" ({lv.unit_text})" if lv.unit_text else ""
                label = f"{lv.doc}{unit}"
                if lv.kind == "bool":
                    items.append(ui.input_checkbox(lv.input_id, label, bool(value)))
                elif lv.kind == "choice":
                    items.append(ui.input_select(lv.input_id, label,
                                                 {c: c for c in lv.choices}, selected=value))
                else:
                    items.append(ui.input_slider(lv.input_id, label, min=lv.low, max=lv.high,
                                                 value=value, step=lv.step, ticks=False))
                items.append(ui.p(f"baseline {_fmt_value(lv.baseline)}; {lv.key}",
                                  class_="lever-help"))
            return ui.TagList(*items)

        def lever_values() -> dict[str, Any]:
            out = {}
            for lv in shown_levers():
                try:
                    out[lv.key] = input[lv.input_id]()
                except Exception:  # not on the page yet: the reform's value
                    out[lv.key] = ch.start_value(reform_name(), lv.key)
            return out

        def current_choice() -> ch.Choice:
            return ch.Choice(
                reform=reform_name(), levers=lever_values(), reps=input.reps(),
                years=input.years(), warmup=input.warmup(), seed=input.seed(),
                reform_start=(input.reform_start() if supports_reform_start() else "run"),
            ).checked()

        @reactive.effect
        @reactive.event(input.run)
        def _start() -> None:
            error.set("")
            try:
                with reactive.isolate():
                    choice = current_choice()
                scenario, text = ch.chosen_scenario(choice, manager.workspace / "scenarios")
                base = ch.baseline_scenario()
                start = choice.reform_start if supports_reform_start() else None
                j = manager.submit(base, scenario, reps=choice.reps, years=choice.years,
                                   warmup=choice.warmup, seed=choice.seed,
                                   reform_start=start, session=sid)
            except ch.ChoiceError as exc:
                error.set(str(exc))
                return
            except Exception as exc:  # the page says what went wrong; the log has the rest
                log.exception("a run could not start")
                error.set(f"The run could not start ({type(exc).__name__}): {exc}")
                return
            old = job_id.get()
            if old is not None and old != j.id:
                manager.cancel(old, sid)
            run_toml.set(text)
            job_id.set(j.id)
            ui.update_navs("tabs", selected="summary")

        @reactive.effect
        @reactive.event(input.cancel)
        def _cancel() -> None:
            jid = job_id.get()
            if jid is not None:
                manager.cancel(jid, sid)

        @render.ui
        def status() -> Any:
            seen.get()
            msg = error.get()
            if msg:
                return ui.div(ui.tags.b("Cannot run: "), msg, class_="run-error",
                              id="run-error", role="alert")
            j = job()
            if j is None:
                return ui.div(ui.p("Choose a reform and press Run: the reform is compared with "
                                   "the baseline, replication by replication, with the same "
                                   "random numbers."), class_="status-box", id="status-box")
            if j.state == FAILED:
                return ui.div(ui.tags.b("The run failed. "), j.status(), class_="run-error",
                              id="run-error", role="alert")
            pct = int(round(100 * j.fraction()))
            bar = ui.div(ui.div(f"{pct}%", class_="progress-bar" + (
                " progress-bar-striped progress-bar-animated" if j.active else ""),
                role="progressbar", style=f"width: {max(pct, 3)}%",
                **{"aria-valuenow": str(pct), "aria-valuemin": "0", "aria-valuemax": "100"}),
                class_="progress")
            return ui.div(ui.p(j.status(), id="status-text"), bar if j.state != CANCELLED
                          else None, class_="status-box", id="status-box",
                          **{"data-state": j.state})

        def views_dir() -> Path | None:
            seen.get()
            j = job()
            if j is None or not j.views_reps:
                return None
            return j.views_dir

        def prelim_note() -> Any:
            j = job()
            if j is not None and j.views_reps and j.views_reps < j.reps:
                return ui.p(f"Preliminary: {j.views_reps} of {j.reps} replications so far. "
                            "The intervals will narrow as the rest finish.", class_="prelim")
            return None

        def waiting() -> Any:
            j = job()
            if j is None:
                return ui.p("No results yet: choose and run.", class_="figure-note")
            if j.state in (FAILED, CANCELLED):
                return ui.p("No results: see the message above.", class_="figure-note")
            return ui.p("The first results appear here as soon as they are ready.",
                        class_="figure-note")

        @render.ui
        def summary() -> Any:
            d = views_dir()
            if d is None:
                return waiting()
            body = views.read_text(d / "summary.html")
            head = json.loads(views.read_text(d / "headline.json") or "{}")
            items = [ui.tags.li(ui.tags.b(c["label"]), f": {c['base']} → {c['value']} "
                                f"({c['change']})") for c in head.get("changes", [])]
            return ui.TagList(
                prelim_note(),
                ui.div(ui.HTML(body), class_="report-fragment", id="summary-text"),
                ui.h5(f"Clear changes: {head.get('clear', 0)} of {head.get('measures', 0)} "
                      "measures", id="clear-count"),
                ui.tags.ul(*items, id="clear-list") if items else None)

        @render.ui
        def measures() -> Any:
            d = views_dir()
            if d is None:
                return waiting()
            body = views.read_text(d / "comparison.html")
            return ui.TagList(prelim_note(), ui.div(ui.HTML(body), class_="report-fragment",
                                                    id="measures-table"))

        def figure(ident: str) -> Any:
            d = views_dir()
            if d is None:
                return waiting()
            caption = dict(views.FIGURES)[ident]
            path = d / f"{ident}.png"
            if not path.is_file():
                problems = json.loads(views.read_text(d / "problems.json") or "{}")
                return ui.p(f"This figure could not be drawn: {problems.get(ident, '')}",
                            class_="run-error")
            data = path.read_bytes()
            import base64

            src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            return ui.TagList(prelim_note(), ui.tags.img(
                src=src, alt=caption, id=f"img-{ident}",
                style="max-width: min(100%, 1100px); height: auto;" if ident == "loops"
                else "max-width: 100%; height: auto;"),
                ui.p(caption, class_="figure-note"))

        for ident, _ in views.FIGURES:
            if ident == "forest":
                continue

            def make(ident: str = ident) -> None:
                @output(id=f"fig_{ident}")
                @render.ui
                def _fig() -> Any:
                    return figure(ident)

            make()

        @render.ui
        def reform_info() -> Any:
            name = reform_name()
            if name is None:
                return ui.p("No reform chosen: the baseline is compared with itself changed "
                            "by the levers you move. Choose a reform to see what it changes "
                            "and the evidence for it.")
            r = ch.reform(name)
            rows = [ui.tags.tr(ui.tags.td(ui.tags.b(c.doc), ui.br(), ui.tags.small(c.key)),
                               ui.tags.td(_fmt_value(c.baseline)),
                               ui.tags.td(_fmt_value(c.value)),
                               ui.tags.td("" if c.unit == "1" else c.unit),
                               ui.tags.td(c.reason)) for c in r.changes]
            start = (f" It takes effect {r.start_year:g} years into the run."
                     if r.start_year else "")
            return ui.TagList(
                ui.h4(r.title),
                ui.p(r.description + "." + start, class_="reform-desc", id="reform-desc"),
                ui.tags.table(
                    ui.tags.thead(ui.tags.tr(*[ui.tags.th(h) for h in (
                        "What changes", "Baseline", "Reform", "Unit", "Reason and evidence")])),
                    ui.tags.tbody(*rows), class_="table table-sm changes"),
                *[ui.p(n, class_="figure-note") for n in r.notes],
            )

        @render.ui
        def downloads_note() -> Any:
            seen.get()
            j = job()
            if j is None:
                return ui.p("Run a comparison first: the report and the result directory come "
                            "from the run; the scenario file is what you chose.")
            if j.state != FINISHED:
                return ui.p("The report and the result directory can be downloaded once the "
                            "run has finished.")
            return ui.p("The report is one self-contained HTML file (no internet needed); the "
                        "scenario file runs with childsim run; the zip holds the whole result "
                        "directory.")

        def finished_job() -> Any:
            j = job()
            if j is None or j.state != FINISHED:
                raise FileNotFoundError("no finished run")
            return j

        @render.download_button(filename=lambda: "report.html")
        def dl_report() -> str:
            return str(finished_job().report)

        @render.download_button(filename=lambda: f"{_toml_name()}.toml")
        def dl_toml() -> Any:
            text = run_toml.get()
            if not text:
                with reactive.isolate():
                    text = ch.scenario_toml(current_choice())
            yield text

        def _toml_name() -> str:
            text = run_toml.get()
            for line in text.splitlines():
                if line.startswith("name = "):
                    return json.loads(line[len("name = "):]) + "_chosen"
            return "scenario_chosen"

        @render.download_button(filename=lambda: "childsim-results.zip")
        async def dl_zip() -> Any:
            j = finished_job()
            fd, tmp = tempfile.mkstemp(dir=scratch, suffix=".zip")
            os.close(fd)
            path = await asyncio.to_thread(views.zip_directory, j.comparison_dir, Path(tmp))
            try:
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        yield chunk
            finally:
                Path(path).unlink(missing_ok=True)

    return App(app_ui(settings), server)
