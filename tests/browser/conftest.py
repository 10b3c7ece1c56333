"""Browser tests: Debian's Chromium driven by Playwright against a live server.

The live server needs real commits (``transactional_db``), which empties the database
after each test; each browser test therefore loads the demo data itself, and
pytest-django runs these after the transaction-wrapped tests. Screenshots at 360 px and
1280 px go to ``test-artifacts/screenshots/`` (not committed), named ``<name>-<width>.png``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"phone": 360, "desktop": 1280}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the
    # tests make around it are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_as(browser, live_server, demo):
    """Return a function giving a logged-in page for a demo user, at a width (phone by default)."""
    from tests.conftest import DEMO_PASSWORD

    contexts = []

    def open_page(username: str, width: str = "phone"):
        context = browser.new_context(
            viewport={"width": WIDTHS[width], "height": 780}, locale="zh-CN", base_url=live_server.url
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_page
    for context in contexts:
        context.close()


def shoot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact and check nothing overflows sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A focused input makes Chromium scroll on the next click after a full-page capture.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    width = page.viewport_size["width"]
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    return path


def storyboard(page, name: str) -> None:
    """Shoot the page at a phone's width and at a desktop's (``<name>-360.png``,
    ``<name>-1280.png``), checking neither scrolls sideways; the page keeps its own width."""
    viewport = dict(page.viewport_size)
    for width in sorted(WIDTHS.values(), key=lambda w: w == viewport["width"]):
        page.set_viewport_size({"width": width, "height": viewport["height"]})
        shoot(page, name)
