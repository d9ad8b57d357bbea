"""Browser fixtures: Debian's chromium driven by Playwright, and the integration tests' real pipeline.

Playwright never downloads a browser here: `make browser` (run by `make test`) installs Debian's
`chromium` when it is missing, and the tests launch that binary.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

# The real pipeline, exactly as the integration tests run it: a fresh Tansu, a clean Redis database,
# worker / bridge / strategy-runner / feed processes on the test database.
from tests.integration.conftest import (  # noqa: F401
    instruments,
    kafka_bootstrap,
    kafka_service,
    out_dir,
    processes,
    redis_client,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Chromium:
    """Launched on demand, after the test's database set-up: Playwright's sync API keeps an event loop
    running in this thread, and Django refuses ORM calls inside one. `close()` ends that; so does the
    fixture's teardown, before the database's."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def launch(self) -> Browser:
        if not CHROMIUM.exists():
            pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium; `make test` does it)")
        playwright = self._stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        self._stack.callback(browser.close)
        return browser

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def chromium():
    launcher = Chromium()
    yield launcher
    launcher.close()
