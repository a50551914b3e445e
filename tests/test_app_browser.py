"""The workbench in a real browser: headless Chromium (Debian's package), driven by
Playwright, against ``childsim app`` started on a free localhost port.

It chooses a reform, moves a slider, is refused a bad run size in words, runs a tiny
comparison (2 replications of 1 year after 1 warm-up year) while a second tab runs another
reform, and checks the summary, a chart and numbers appear in each tab with its own
results, the downloads work, and the page asked nothing of any host but this one.

With ``CHILDSIM_SCREENSHOTS=DIR`` it saves the main screens there (docs/screenshots/).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sim.scenario import load_scenario

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium (/usr/bin/chromium, "
                       "Debian package chromium) is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    port = _free_port()
    log = open(tmp_path / "app.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port), "--workspace",
         str(tmp_path / "ws"), "--max-runs", "2", "--workers", "1", "--reps", "2",
         "--years", "1", "--warmup", "1"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        end = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("the app did not start: "
                                       + (tmp_path / "app.log").read_text()) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _shot(page, name: str) -> None:
    folder = os.environ.get("CHILDSIM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _choose(page, reform: str) -> None:
    page.select_option("#reform", reform)
    page.wait_for_selector("#reform-desc")


def test_the_workbench_in_a_browser(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        context = browser.new_context(viewport={"width": 1400, "height": 900},
                                      accept_downloads=True)
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.goto(app_url)
        expect(page.locator("#privacy")).to_contain_text("stay on this machine")

        # choose a reform: its description and evidence, its lever as a slider
        _choose(page, "community_teams")
        expect(page.locator("#reform-desc")).to_contain_text("Community multi-agency teams")
        slider = page.locator("#lever_community_team__fte")
        page.wait_for_selector(".irs-handle")
        before = page.locator(".irs-single").first.inner_text()
        page.locator(".irs-handle").first.click()
        for _ in range(5):
            page.keyboard.press("ArrowLeft")
        expect(page.locator(".irs-single").first).not_to_have_text(before)
        moved = float(slider.input_value())
        assert moved < 12
        _shot(page, "1-choose")

        # a bad run size is refused in words, and the server keeps serving
        page.fill("#reps", "0")
        page.click("#run")
        expect(page.locator("#run-error")).to_contain_text("Replications")
        assert "Traceback" not in page.content()
        page.fill("#reps", "2")

        # a second tab runs another reform at the same time
        other = context.new_page()
        other.goto(app_url)
        _choose(other, "less_recording")
        other.click("#run")
        page.click("#run")
        expect(page.locator("#summary-text")).to_contain_text("community teams",
                                                               timeout=240_000)
        expect(page.locator("#clear-count")).to_contain_text("measures")
        text = page.locator("#summary-text").inner_text()
        assert "less recording" not in text
        assert any(ch.isdigit() for ch in text)
        _shot(page, "2-summary")
        expect(other.locator("#summary-text")).to_contain_text("less recording",
                                                                timeout=240_000)
        assert "community teams" not in other.locator("#summary-text").inner_text()

        # a chart: the journey with the changes marked
        page.get_by_role("tab", name="Journey").click()
        img = page.locator("#img-ripple")
        expect(img).to_be_visible(timeout=60_000)
        assert page.evaluate("document.querySelector('#img-ripple').naturalWidth") > 500
        _shot(page, "3-journey")
        for tab, ident, name in (("Stocks over time", "stocks", "4-stocks"),
                                 ("Caseloads and time", "workload", "5-caseloads"),
                                 ("Feedback loops", "loops", "6-loops")):
            page.get_by_role("tab", name=tab).click()
            expect(page.locator(f"#img-{ident}")).to_be_visible(timeout=60_000)
            _shot(page, name)
        page.get_by_role("tab", name="Every measure").click()
        expect(page.locator("#measures-table table")).to_contain_text("Referrals a year")
        _shot(page, "7-measures")

        # take it away, once the run has finished
        expect(page.locator("#status-box")).to_have_attribute("data-state", "finished",
                                                              timeout=240_000)
        page.get_by_role("tab", name="Take it away").click()
        _shot(page, "8-downloads")
        got = {}
        for ident in ("dl_report", "dl_toml", "dl_zip"):
            with page.expect_download(timeout=120_000) as info:
                page.click(f"#{ident}")
            path = tmp_path / info.value.suggested_filename
            info.value.save_as(path)
            got[ident] = path
        report = got["dl_report"].read_text(encoding="utf-8")
        assert "<html" in report and "community_teams_adjusted" in report
        scenario = load_scenario(got["dl_toml"])
        assert scenario.name == "community_teams_adjusted"
        assert scenario["community_team.fte"] == pytest.approx(moved)
        with zipfile.ZipFile(got["dl_zip"]) as z:
            names = z.namelist()
        assert any(n.endswith("comparison.csv") for n in names)
        assert any(n.endswith("manifest.json") for n in names)
        browser.close()

    port = urlsplit(app_url).port
    elsewhere = sorted({u for u in requests
                        if urlsplit(u).scheme not in ("data", "blob")
                        and (urlsplit(u).hostname, urlsplit(u).port) != ("127.0.0.1", port)})
    assert not elsewhere, f"requests outside this machine's app: {elsewhere}"
    assert requests
