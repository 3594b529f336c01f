"""browser.py: Chromium for the console's system tests, through web/tests/browser-driver.mjs
(playwright-core from web/node_modules driving Debian's /usr/bin/chromium headless).

`Browser(url)` starts the driver; each method sends one JSON command and returns the answer, or
raises BrowserError with the driver's message (a selector that never appeared, a timeout).
Screenshots go to $SG_ARTIFACTS (ctest: <build>/console-screenshots), else under /tmp.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WEB = ROOT / "web"
DRIVER = WEB / "tests" / "browser-driver.mjs"
CHROMIUM = os.environ.get("SG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SG_ARTIFACTS", "/tmp/serialgate-console-screenshots"))


class BrowserError(AssertionError):
    pass


def available():
    """Why the browser tests cannot run here, or None."""
    if not shutil.which("node") and not shutil.which("nodejs"):
        return "node not installed (scripts/bootstrap --test)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (scripts/bootstrap --test)"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules missing: build the console first (npm ci)"
    return None


class Browser:
    def __init__(self, base_url, shots=ARTIFACTS):
        node = shutil.which("node") or shutil.which("nodejs")
        self.proc = subprocess.Popen(
            [node, str(DRIVER), base_url, str(shots)], cwd=WEB, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self.proc.stdout.readline()
        if not first or not json.loads(first).get("ready"):
            raise BrowserError(f"browser driver did not start: {first!r}")

    def _call(self, op, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"browser driver ended during {op}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise BrowserError(f"{op} {args}: {answer['error']}")
        return answer["result"]

    def __getattr__(self, op):
        return lambda **args: self._call(op, **args)

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    # ---- conveniences

    def open(self, path, ready):
        """Goes to `path` (e.g. "/#/serial/1") and waits for the selector `ready`."""
        self.goto(path=path)
        self.wait(sel=ready)

    def login_form(self, account, password):
        """Opens the console and submits the login form."""
        self.goto(path="/")
        self.wait(sel="#login-form")
        self.fill(sel="#login-account", value=account)
        self.fill(sel="#login-password", value=password)
        self.click(sel="#login-form button[type=submit]")

    def login(self, account, password):
        """Logs in and waits for the menu."""
        self.login_form(account, password)
        self.wait(sel="nav#menu")

    def assert_clean(self, where):
        """No console error, page error, CSP violation or request to another origin so far."""
        p = self.problems()
        bad = {k: v for k, v in p.items() if v}
        assert not bad, f"{where}: {bad}"
