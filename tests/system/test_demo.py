"""test_demo.py: the commands `scripts/demo` prints work on a machine set up by the bootstrap
(issue 12 item 6: they named `nc`, which nothing installed on a fresh Debian 12). The demo's ports
are fixed (127.0.0.1:4001-4004), so ctest runs this file under the `demo_ports` resource lock."""

import re
import select
import shutil
import subprocess
import time

import sgtest
from sgtest import REPO

DEMO = REPO / "scripts" / "demo"
BOOTSTRAP = REPO / "scripts" / "bootstrap"


def printed_nc_ports():
    """The ports of every `nc 127.0.0.1 PORT` the demo script echoes."""
    echoed = [ln for ln in DEMO.read_text().splitlines() if ln.lstrip().startswith("echo ")]
    return sorted({int(p) for ln in echoed for p in re.findall(r"\bnc 127\.0\.0\.1 (\d+)", ln)})


def bootstrap_list(name):
    m = re.search(rf"^{name}=\(\n(.*?)^\)", BOOTSTRAP.read_text(), re.S | re.M)
    assert m, f"no {name} list in scripts/bootstrap"
    return m.group(1).split()


def test_the_demo_installs_the_netcat_it_prints():
    assert printed_nc_ports() == [4001, 4002, 4003, 4004]
    assert "netcat-openbsd" in bootstrap_list("demo_pkgs")
    assert re.search(r"^scripts/bootstrap --demo\b", DEMO.read_text(), re.M), \
        "scripts/demo must bootstrap the demo packages"
    # This machine ran the bootstrap too (--test includes them): the command exists.
    assert "netcat-openbsd" in bootstrap_list("test_pkgs")
    assert shutil.which("nc"), "nc is missing: run scripts/bootstrap --demo"


class Nc:
    """`nc 127.0.0.1 PORT` as the demo prints it, typed into by the test."""

    def __init__(self, port):
        self.proc = subprocess.Popen(["nc", sgtest.LOOPBACK, str(port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = b""

    def type(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def wait_for(self, wanted, timeout=sgtest.IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while wanted not in self.out:
            left = deadline - time.monotonic()
            assert left > 0, f"nc printed {self.out[-200:]!r}, not {wanted!r}"
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = self.proc.stdout.read1(4096)
                assert chunk, f"nc ended: {self.out[-200:]!r}"
                self.out += chunk

    def close(self):
        self.proc.kill()
        self.proc.wait()


def test_the_printed_nc_commands_reach_the_demo_ports(admin_gate):
    admin_gate.serve(args=["--demo"], wait_ports=printed_nc_ports())
    made = []
    try:
        echo = Nc(4001)
        made.append(echo)
        echo.type(b"hello demo\n")
        echo.wait_for(b"hello demo\n")  # sim:echo: what you type comes back
        meter = Nc(4002)
        made.append(meter)
        meter.wait_for(b"serialgate generator line", timeout=sgtest.IO_TIMEOUT * 2)
        a, b = Nc(4003), Nc(4004)
        made += [a, b]
        # Port 4's session must be up before port 3's bytes cross the cable: repeat until seen.
        deadline = time.monotonic() + sgtest.IO_TIMEOUT
        while b"across" not in b.out:
            assert time.monotonic() < deadline, f"nothing crossed the cable: {b.out!r}"
            a.type(b"across\n")
            try:
                b.wait_for(b"across", timeout=0.5)
            except AssertionError:
                pass
    finally:
        for n in made:
            n.close()
