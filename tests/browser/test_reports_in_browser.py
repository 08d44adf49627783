"""The run reports as a person sees them: each landing artifact page of Prefect's UI, opened in
headless Chromium after real ``okx-flows run`` invocations (the main job, its dry run and a run
whose key cannot trade), checked on the rendered page (the chart image decoded, the key figures
with their unit, the status word, the failure banner) and kept as a full-page screenshot in
``OKX_FLOWS_SCREENSHOTS`` (default test-output/screenshots/, git-ignored; CI keeps them as output).

Prefect's UI renders markdown in the browser: the page shell loads first, then the artifact is
fetched from the API and rendered into ``.artifact-data-markdown`` (h1/h2 headings, ``table`` rows,
``img`` for data-URI images, and bold as an element with class ``markdown-renderer__text--strong``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import SPEC_NAME, Reports

pytestmark = pytest.mark.browser

#: Where Prefect's UI puts a markdown artifact's rendered body.
BODY = ".artifact-data-markdown"
STATUS_WORDS = ("COMPLETED", "PARTIAL", "FAILED", "DRY RUN", "NOTHING TO DO")
#: An amount in the quote currency with thousands separators and its unit: "1,234,567.89 USDT".
MONEY = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)? USDT")
RENDER_TIMEOUT_MS = 30_000

#: What a rendered report shows, read from the DOM in one call.
_READ_PAGE = """(body, words) => {
  const text = e => (e.innerText || e.textContent || '').trim();
  const bold = [...body.querySelectorAll('strong, b, .markdown-renderer__text--strong')];
  const status = bold.find(e => words.includes(text(e).toUpperCase()));
  const line = status ? (status.closest('p, li, .markdown-renderer__text--paragraph') || status.parentElement) : null;
  const rows = [...body.querySelectorAll('tr')].map(r => [...r.querySelectorAll('th, td')].map(text));
  return {
    h1: [...body.querySelectorAll('h1')].map(text),
    text: text(body),
    status: status ? text(status).toUpperCase() : null,
    statusLine: line ? text(line) : null,
    rows: rows,
    images: [...body.querySelectorAll('img')].map(i => ({
      complete: i.complete, width: i.naturalWidth, height: i.naturalHeight, alt: i.alt,
      src: (i.getAttribute('src') || '').slice(0, 32)})),
  };
}"""

#: The page's full height: Prefect's UI scrolls inside ``.app-router-view``, not the document, so a
#: "full page" screenshot needs the viewport grown to the tallest scrolled content first.
_FULL_HEIGHT = """() => Math.ceil(Math.max(document.documentElement.scrollHeight, ...[...document.querySelectorAll('*')]
  .filter(e => /auto|scroll/.test(getComputedStyle(e).overflowY) && e.scrollHeight > e.clientHeight)
  .map(e => e.getBoundingClientRect().top + e.scrollHeight)))"""


def open_report(browser: Any, url: str, screenshot: Path) -> dict[str, Any]:
    """Open an artifact page, wait for its markdown and images to render, save a full-page
    screenshot (also when the page never renders: it shows what was there), read the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(url, wait_until="domcontentloaded")
        try:
            page.wait_for_selector(f"{BODY} h1, {BODY} h2, {BODY} p, {BODY} div", timeout=RENDER_TIMEOUT_MS)
            page.wait_for_function(f"() => [...document.querySelectorAll('{BODY} img')].every(i => i.complete)",
                                   timeout=RENDER_TIMEOUT_MS)
        finally:
            height = min(int(page.evaluate(_FULL_HEIGHT)), 12_000)
            page.set_viewport_size({"width": 1280, "height": max(900, height)})
            page.screenshot(path=str(screenshot), full_page=True)
        seen: dict[str, Any] = page.eval_on_selector(BODY, _READ_PAGE, list(STATUS_WORDS))
        return seen
    finally:
        page.close()


def figure_row(seen: dict[str, Any], name: str) -> list[str]:
    rows = [row for row in seen["rows"] if row and row[0].strip().lower() == name.lower()]
    assert rows, f"no {name!r} row in the key figures; the tables show {seen['rows']}\n{seen['text'][:1500]}"
    return rows[0]


def assert_landing_report(seen: dict[str, Any], status: tuple[str, ...], screenshot: Path) -> None:
    """The contract of a landing report: ``# <spec-name>``, a bold status word, the key figures
    with the account value in USDT with thousands separators, and at least one chart drawn."""
    where = f"(screenshot: {screenshot})"
    assert seen["h1"] and seen["h1"][0].startswith(SPEC_NAME), f"the report's heading is {seen['h1']} {where}"
    assert seen["status"] in status, \
        f"status word {seen['status']!r}, expected one of {status}; status line {seen['statusLine']!r} {where}"
    assert "Key figures" in seen["text"], f"no 'Key figures' section {where}:\n{seen['text'][:1500]}"
    row = figure_row(seen, "Account value")
    assert MONEY.search(" ".join(row[1:])), f"the account value is not an amount like 1,234.56 USDT: {row} {where}"
    charts = [i for i in seen["images"] if i["src"].startswith("data:image/png;base64,")]
    assert charts, f"no chart image (data-URI PNG) on the page: {seen['images']} {where}"
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in charts), \
        f"a chart image did not load in the browser: {charts} {where}"


def test_main_job_report_shows_status_figures_and_chart(reports: Reports, browser: Any, screenshots: Path) -> None:
    run = reports.runs["main"]
    assert run.returncode == 0, run.describe()
    shot = screenshots / "main-run-report.png"
    seen = open_report(browser, reports.artifact_url(reports.artifact("main", f"{SPEC_NAME}-report")), shot)
    assert_landing_report(seen, ("COMPLETED", "PARTIAL"), shot)


def test_dry_run_report_says_dry_run(reports: Reports, browser: Any, screenshots: Path) -> None:
    run = reports.runs["dry"]
    assert run.returncode == 0, run.describe()
    shot = screenshots / "dry-run-report.png"
    seen = open_report(browser, reports.artifact_url(reports.artifact("dry", f"{SPEC_NAME}-dry-run-report")), shot)
    assert_landing_report(seen, ("DRY RUN",), shot)


def test_failed_run_report_shows_the_failure_and_its_error(reports: Reports, browser: Any,
                                                           screenshots: Path) -> None:
    run = reports.runs["failed"]
    assert run.returncode != 0, f"the run with a read-only key was expected to fail\n{run.describe()}"
    assert "permission" in run.stderr.lower(), run.describe()
    shot = screenshots / "failed-run-report.png"
    seen = open_report(browser, reports.artifact_url(reports.artifact("failed", f"{SPEC_NAME}-report")), shot)
    where = f"(screenshot: {shot})"
    assert seen["h1"] and seen["h1"][0].startswith(SPEC_NAME), f"the report's heading is {seen['h1']} {where}"
    assert seen["status"] == "FAILED", f"status word {seen['status']!r}, line {seen['statusLine']!r} {where}"
    line = (seen["statusLine"] or "").lower()
    assert "50120" in line or "permission" in line, \
        f"the failure banner does not carry the run's error (OKX 50120, no Trade permission): {line!r} {where}"


def test_account_report_shows_equity_frozen_funds_and_sleeves(reports: Reports, browser: Any,
                                                               screenshots: Path) -> None:
    assert reports.runs["main"].returncode == 0, reports.runs["main"].describe()
    shot = screenshots / "account-report.png"
    seen = open_report(browser, reports.artifact_url(reports.artifact("main", prefix="okx-account-")), shot)
    where = f"(screenshot: {shot})"
    text = seen["text"]
    assert "equity" in text.lower() and "frozen" in text.lower(), \
        f"the account report names no equity or frozen funds {where}:\n{text[:1500]}"
    assert MONEY.search(text), f"no amount like 1,234.56 USDT on the account report {where}:\n{text[:1500]}"
    assert "sleeve" in text.lower(), f"the account report has no sleeves section {where}:\n{text[:1500]}"
