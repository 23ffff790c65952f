"""Browser tests drive Debian's Chromium (scripts/ci-system-deps.sh installs it) through
Playwright; no browser is downloaded. Without it the browser tests are skipped on a laptop and
fail under CI=true, like every other service the suite needs.

Playwright lives for one module, not the session. Its sync API runs its own event loop in a
greenlet of the main thread and marks that loop as the thread's running loop between calls, for
as long as Playwright is started. pytest-playwright starts it once per session, so every asyncio
test after the first browser test could not start its loop ("Runner.run() cannot be called from a
running event loop"). Here `playwright`, the browser and everything built on them are
module-scoped: the browser modules stop Playwright in their teardown, and the tests after them
see no loop. (An asyncio test in a browser module would still clash: keep them apart.)"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, expect, sync_playwright

# The shared CI machine can be slow to answer under load: assertions wait up to 15 s, not 5.
expect.set_options(timeout=15_000)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (scripts/ci-system-deps.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="module")
def playwright(browser_type_launch_args: dict[str, Any]) -> Iterator[Playwright]:
    """Started for this module and stopped at its end (see the module docstring). Asks for the
    launch arguments first, so that a missing Chromium skips before Playwright starts."""
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    browser_type: BrowserType = getattr(playwright, browser_name)
    return browser_type


@pytest.fixture(scope="module")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="module")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """pytest-playwright's own is session-scoped on a session-scoped `playwright`; the tests
    address the server they start by its full URL, so no base_url."""
    return {"viewport": DESKTOP}
