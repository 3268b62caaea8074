"""A real headless Chromium (Debian's chromium and chromium-driver) driving the review pages over HTTP.

No browser is downloaded: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver, which
``.ci/run`` installs when they are missing. The app runs under uvicorn on 127.0.0.1, as ``icp serve``
runs it.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait
from starlette.types import ASGIApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the review pages did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[WebDriver]:
    """Headless Chromium with an empty profile; fails, naming the packages, when it is not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver "
                           "(.ci/run does this)")
    profile = tempfile.mkdtemp(prefix="icp-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def click_and_wait(driver: WebDriver, element: WebElement) -> None:
    """Click ``element`` and wait until the browser has loaded the next page.

    The old page is marked with a script variable that only a new document lacks. Waiting for the old
    ``<html>`` element to go stale instead is unreliable: while the next page is loading, Chromium can answer
    a question about the old element with an inspector error rather than "stale element".
    """
    driver.execute_script("window.__icpOldPage = true;")
    element.click()
    WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(_new_page_loaded)


def _new_page_loaded(driver: WebDriver) -> bool:
    return bool(driver.execute_script(
        "return window.__icpOldPage === undefined && document.readyState === 'complete';"))


def sign_in(driver: WebDriver, email: str, password: str) -> None:
    """Fill in and send the sign-in form on the current page."""
    driver.find_element(By.NAME, "email").clear()
    driver.find_element(By.NAME, "email").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(password)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button[type=submit]"))


def sign_out(driver: WebDriver) -> None:
    """Press the page's sign-out button."""
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "form.signout button"))


def decide(driver: WebDriver, decision: str, note: str, accept_risks: bool = False) -> None:
    """Fill in the decision form on a proposal page and press approve or reject."""
    driver.find_element(By.NAME, "note").send_keys(note)
    if accept_risks:
        driver.find_element(By.NAME, "accept_risks").click()
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, f"button[name=decision][value={decision}]"))


def text(driver: WebDriver) -> str:
    """The visible text of the page."""
    return str(driver.find_element(By.TAG_NAME, "body").text)
