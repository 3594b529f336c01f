"""conftest.py (console/): fixtures for the web console's browser tests (issue 13).

`console()` starts serve with HTTPS (no account yet) like web/'s `web()` fixture; `browser` is a
headless Chromium (browser.py). Skipped, with the reason, where Chromium or node is missing:
scripts/bootstrap --test installs both.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))

import api  # noqa: E402
import browser as browser_mod  # noqa: E402


@pytest.fixture
def console(gate):
    """console(ports=(), **sections) -> api.WebGate (serve running, TLS answering)."""
    def start(ports=(), **kw):
        return api.start(gate, ports, **kw)
    return start


@pytest.fixture
def browser(request):
    """browser(web) -> browser.Browser on web's origin; closed at teardown."""
    why = browser_mod.available()
    if why:
        # Chromium and playwright-core come with the test command: missing is a broken setup.
        pytest.fail(why)
    opened = []

    def start(web):
        b = browser_mod.Browser(web.url(""))
        opened.append(b)
        return b
    yield start
    for b in opened:
        b.close()
