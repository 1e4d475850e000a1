"""`etown report` in a real headless browser (Debian's chromium, driven by Playwright): the
report opens in both languages without console errors, every embedded image loads, nothing is
fetched from outside the file, and a screenshot of each is saved (to a temporary folder;
with ETOWN_UPDATE_DOCS_IMAGES set, also to results/test-artifacts/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from model.api import run
from model.report import write_report

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, SCENARIOS, require_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow
require_chromium()


def open_report(html: Path, screenshot: Path, width: int = 1280) -> dict[str, object]:
    """Open `html` in chromium; return what the page showed (problems, images, headings, text)
    and save a full-page screenshot."""
    problems: list[str] = []
    outside: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url))
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate(
                "Array.from(document.images).map(i => ({ok: i.complete && i.naturalWidth > 0, "
                "width: i.getBoundingClientRect().width}))"
            )
            headings = page.locator("h2").all_inner_texts()
            text = page.locator("body").inner_text()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return {"problems": problems, "outside": outside, "images": images, "headings": headings, "text": text}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_opens_cleanly_in_chromium(lang: str, tmp_path: Path) -> None:
    result = run(SCENARIOS / "baseline.yaml", runs=6, seed=3, scale=0.01, out=tmp_path / "baseline", progress=False)
    html = write_report([result.out], lang, tmp_path / f"report_{lang}.html")
    shot = tmp_path / f"report_{lang}.png"
    seen = open_report(html, shot)
    assert not seen["problems"], seen["problems"]
    assert not seen["outside"], f"requests left the file: {seen['outside']}"
    assert seen["images"] and all(i["ok"] and i["width"] > 600 for i in seen["images"]), seen["images"]
    first = "The question" if lang == "en" else "问题"
    assert seen["headings"][0] == first and len(seen["headings"]) >= 5
    assert ("新一代信息技术" in seen["text"]) == (lang == "zh")
    assert shot.read_bytes()[:4] == b"\x89PNG"
    if os.environ.get("ETOWN_UPDATE_DOCS_IMAGES"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, ARTIFACTS / shot.name)
