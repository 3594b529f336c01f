"""conftest.py: fixtures for the system tests (STYLE.md §4); the helpers are in sgtest.py.

Run as `/usr/bin/python3 -m pytest -q tests/system` (ctest does). The binary is $SG_BINARY, default
<repo>/build/serialgate. Nothing is written into the source tree: data directories, configs and
serve logs live under pytest's tmp_path, and pytest.ini here turns the cache provider off.
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ for the test modules imported from here on

import os  # noqa: E402

import pytest  # noqa: E402

import sgtest  # noqa: E402


@pytest.fixture(scope="session")
def sg_binary():
    """The binary under test; a missing binary fails (not skips) every test that needs it."""
    path = sgtest.BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"serialgate binary not found at {path}: build it or set SG_BINARY")
    return path


@pytest.fixture
def free_ports():
    """free_ports(n) -> n distinct ports on 127.0.0.1 chosen by the OS."""
    return sgtest.free_ports


@pytest.fixture
def data_dir(tmp_path):
    """A data directory path under tmp_path that does not exist yet (the binary creates it)."""
    return tmp_path / "data"


@pytest.fixture
def gate(sg_binary, tmp_path):
    """A Gate on tmp_path/data; any serve still running at teardown must stop with exit code 0."""
    g = sgtest.Gate(tmp_path)
    yield g
    g.close()


class GateFactory:
    """For tests needing several independent installations."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.sg_gates = []

    def __call__(self, name):
        g = sgtest.Gate(self.tmp_path / name)
        self.sg_gates.append(g)
        return g


@pytest.fixture
def gate_factory(sg_binary, tmp_path):
    f = GateFactory(tmp_path)
    yield f
    problems = []
    for g in f.sg_gates:
        try:
            g.close()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        raise AssertionError("\n".join(problems))


@pytest.fixture
def admin_gate(gate):
    """A Gate whose first administrator exists (so the data plane may listen)."""
    gate.setup_admin()
    return gate


@pytest.fixture
def pty():
    p = sgtest.Pty()
    yield p
    p.close()


@pytest.fixture
def pty_factory():
    made = []

    def make():
        p = sgtest.Pty()
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


def _gates_of(item):
    gates = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, sgtest.Gate):
            gates.append(value)
        gates.extend(getattr(value, "sg_gates", []))
    return gates


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the output of every serve it started."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        seen = set()
        for g in _gates_of(item):
            for title, text in g.diagnostics():
                key = (id(g), title)
                if key not in seen:
                    seen.add(key)
                    report.sections.append((f"serialgate {title}", text))
