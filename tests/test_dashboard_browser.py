"""`etown dashboard` in a real headless browser (Debian's chromium, driven by Playwright).

The page must load without console errors and with no request leaving the machine (Solara's
front-end files come from the asset cache filled by scripts/solara_assets.py); a slider changes
a lever (applied at Reset); stepping advances the model and the cluster plot changes; the
ensemble button runs an ensemble and shows its probabilities. A screenshot is saved to
results/test-artifacts/dashboard.png (README's picture is a copy of it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ARTIFACTS, CHROMIUM, ROOT, require_chromium
from .conftest import CHROMIUM_FLAGS as FLAGS

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("model.dashboard")

ENSEMBLE_RUNS = 6

pytestmark = pytest.mark.slow

require_chromium()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`etown dashboard` on a free localhost port, run from a scratch folder (its ensembles
    write under results/ there); stopped (its process group) at the end."""
    cwd = tmp_path_factory.mktemp("dashboard")
    port = _free_port()
    log = cwd / "server.log"
    etown = Path(sys.executable).with_name("etown")
    # funding_cut: special funds given per year (10 bn in 2021, 5 bn from 2022)
    cmd = [str(etown), "dashboard", str(ROOT / "scenarios" / "funding_cut.yaml"), "--port", str(port)]
    cmd += ["--scale", "0.05", "--runs", str(ENSEMBLE_RUNS)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dashboard did not start:\n{log.read_text()}")
            time.sleep(0.5)
        yield url, cwd
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    server_log = log.read_text()
    assert "Could not load URL" not in server_log, server_log  # nothing fetched from a CDN


def _lever(page, path: str) -> list[str]:
    """The lever's value in each year of the lever table."""
    return [c.strip() for c in page.locator(f"td.etown-lever[data-path='{path}']").all_inner_texts()]


def _levers(page) -> dict[tuple[str, str], str]:
    cells = page.locator("td.etown-lever")
    return {
        (cells.nth(i).get_attribute("data-path"), cells.nth(i).get_attribute("data-year")): cells.nth(i)
        .inner_text()
        .strip()
        for i in range(cells.count())
    }


def test_dashboard_in_chromium(server: tuple[str, Path]) -> None:
    url, cwd = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    outside: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2300})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
            local = (url, "data:", "blob:")
            page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
            page.goto(url)

            # the page renders: controls, one slider per lever, the five live plots, no tab bar
            page.get_by_role("button", name="Step").wait_for(timeout=60_000)
            plots = page.locator("img")
            page.wait_for_function("document.querySelectorAll('img').length >= 5", timeout=60_000)
            sliders = page.locator(".etown-lever-panel div[role=slider]")
            assert sliders.count() >= 17
            for i in range(5):
                box = plots.nth(i).bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 150, box
            assert not page.get_by_text("Page 0").is_visible()
            # every slider says its value and unit, and whether it scales a schedule
            notes = page.locator(".etown-slider-note").all_inner_texts()
            assert len(notes) == sliders.count()
            assert notes[0] == "5.0 bn yuan/yr: 2025 value; moving it scales the 2021-2025 schedule"
            assert notes[-1].endswith("bn yuan/yr: the same every year 2021-2025")

            # the lever table shows each year: the funds schedule as the file gives it
            funds = "policy.special_funds_yuan_per_year"
            assert _lever(page, funds) == ["10.0", "5.0", "5.0", "5.0", "5.0"]
            start_levers = _levers(page)
            # one step right on the funds slider (5.0 -> 5.5 bn in 2025), then Reset: the schedule
            # is scaled, not flattened
            slider = sliders.nth(0)
            before = float(slider.get_attribute("aria-valuenow"))
            slider.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([el, v]) => Number(el.getAttribute('aria-valuenow')) > v", arg=[slider.element_handle(), before]
            )
            page.get_by_text("5.5 bn yuan/yr: 2025 value; moving it scales the 2021-2025 schedule (x1.1)").wait_for()
            page.get_by_role("button", name="Reset").click()
            page.wait_for_function(
                "() => document.querySelector(\"td.etown-lever[data-path='policy.special_funds_yuan_per_year']"
                "[data-year='2021']\").innerText.trim() === '11.0'",
                timeout=30_000,
            )
            assert _lever(page, funds) == ["11.0", "5.5", "5.5", "5.5", "5.5"]
            # every other lever kept the scenario's value in every year (sliders did not snap them)
            after = {k: v for k, v in _levers(page).items() if k[0] != funds}
            assert after == {k: v for k, v in start_levers.items() if k[0] != funds}

            # stepping advances the model and the cluster plot changes
            cluster_plot = plots.nth(0)
            page.wait_for_timeout(500)
            before_png = cluster_plot.screenshot()
            for k in range(1, 5):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"Time: {float(k)}").wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            assert "2021 Q4" in page.locator("body").inner_text()  # the levers card follows the model
            after_png = cluster_plot.screenshot()
            assert after_png != before_png

            # play runs the model on its own until paused
            page.get_by_role("button", name="▶").click()
            page.wait_for_function(
                "() => /Time: ([0-9.]+)/.test(document.body.innerText) && "
                "Number(document.body.innerText.match(/Time: ([0-9.]+)/)[1]) >= 6",
                timeout=60_000,
            )
            page.get_by_role("button", name="❚❚").click()

            # the ensemble button runs a small ensemble for these levers
            page.get_by_role("button", name=f"Run {ENSEMBLE_RUNS} runs with these levers").click()
            table = page.locator(".etown-ensemble-table")
            table.wait_for(timeout=120_000)
            assert "P(≥100 bn by 2025)" in table.inner_text()
            fan = page.locator(".etown-fan").first.bounding_box()
            half = plots.nth(0).bounding_box()["width"]  # a live plot: half the page
            assert fan is not None and fan["width"] > 1.8 * half  # the results panel spans the page
            page.wait_for_function("document.querySelectorAll('img').length >= 6", timeout=60_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
    assert not outside, f"requests left localhost: {outside}"
    # the ensemble wrote its results under results/ of the working folder
    summaries = list((cwd / "results" / "dashboard").glob("*/summary.json"))
    assert len(summaries) == 1
    if os.environ.get("ETOWN_UPDATE_DOCS_IMAGES"):
        shutil.copy(ARTIFACTS / "dashboard.png", ROOT / "docs" / "img" / "dashboard.png")
