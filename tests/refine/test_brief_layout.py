"""The HTML brief in headless Chromium at 1280 x 900: the first screen is one screen, nothing runs off the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.refine.planted import in_force_card
from tests.refine.test_brief_content import vocabulary
from tests.web.browser import chromium
from worker.refine import Analysis
from worker.refine.brief import render_brief

WIDE_TABLES = """
document.querySelectorAll('details').forEach(function (d) { d.open = true; });
return Array.from(document.querySelectorAll('table')).filter(function (t) {
  return t.scrollWidth > t.closest('.table-wrap').clientWidth + 1;
}).map(function (t) { return t.closest('section').id; });
"""


@pytest.fixture(scope="module")
def page(analysis: Analysis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    html = render_brief(analysis, "v2", "html", vocabulary=vocabulary(analysis), current=in_force_card(),
                        current_label="v1")
    path = Path(tmp_path_factory.mktemp("brief")) / "brief.html"
    path.write_text(html, encoding="utf-8")
    with chromium(1280, 900) as driver:
        driver.get(path.as_uri())
        yield driver


def test_the_first_screen_fits_one_screen(page: WebDriver) -> None:
    """The recommendation and its five blocks are all visible without scrolling at 1280 x 900."""
    bottom = page.execute_script(
        "return Math.max.apply(null, Array.from(document.querySelectorAll('#summary .block'))"
        ".map(function (b) { return b.getBoundingClientRect().bottom; }));")
    blocks = page.execute_script("return document.querySelectorAll('#summary .block').length;")
    assert blocks == 5 and bottom <= page.execute_script("return window.innerHeight;")


def test_nothing_runs_off_the_page(page: WebDriver) -> None:
    """No horizontal scrolling, and no table wider than its column, even with every table opened."""
    width = page.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
    assert width[0] <= width[1]
    assert page.execute_script(WIDE_TABLES) == []


def test_long_tables_start_folded(page: WebDriver) -> None:
    """Opened tables are folded away by default, so the brief reads in a few screens."""
    page.refresh()
    height = page.execute_script("return document.documentElement.scrollHeight;")
    folded = page.execute_script("return document.querySelectorAll('details:not([open])').length;")
    assert folded >= 5 and height < 15_000
