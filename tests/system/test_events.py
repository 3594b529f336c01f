"""test_events.py: the event log as `log show` prints it: JSON fields, CSV header, the --severity,
--category, --type, --port and --limit filters, and the events a typical session produces."""

import csv
import io
import re
import signal
import socket

import pytest

import sgtest
from sgtest import (CATEGORIES, EXIT_OK, SEVERITIES, Client, assert_rc, make_config,
                    tcp_server_port)

FIELDS = {"id", "time", "type", "category", "severity", "port", "account", "source", "message"}
TYPE_RE = re.compile(r"[a-z]+\.[a-z_]+")  # catalog keys; EVENT_TYPES lists the ones tests rely on
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def best_effort(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except AssertionError:
        pass  # the dedicated test below reports what is missing


class Scenario:
    """One installation that went through a typical session, shared by the tests of this module."""

    def __init__(self, gate, busy_port):
        self.gate = gate
        self.sg_gates = [gate]
        self.busy_port = busy_port


@pytest.fixture(scope="module")
def scenario(sg_binary, tmp_path_factory):
    g = sgtest.Gate(tmp_path_factory.mktemp("events"))
    blocker = socket.socket()
    blocker.bind((sgtest.LOOPBACK, 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    try:
        local, command, command2 = sgtest.free_ports(3)
        cfg = make_config([
            tcp_server_port(1, "sim:echo", local, command, max_connections=1),
            tcp_server_port(2, "sim:loopback", busy, command2),  # its listener cannot bind
        ])
        path = g.write_config(cfg, "events.yaml")
        g.serve(config=path)
        best_effort(g.wait_event, "system.data_plane_off", timeout=sgtest.START_TIMEOUT)
        g.setup_admin()
        g.wait_listening([local], timeout=sgtest.APPLY_TIMEOUT)
        best_effort(g.wait_event, "serial.mode_failed", timeout=5)

        a = Client(local)
        a.send(b"x")
        assert a.recv_exact(1) == b"x"
        b = Client(local)
        b.wait_closed()
        best_effort(g.wait_event, "serial.refused", timeout=5)
        a.close()
        best_effort(g.wait_event, "serial.disconnected", timeout=5)

        path.write_text("ports: [\n")  # invalid: SIGHUP must log it and keep the old config
        g.signal(signal.SIGHUP)
        best_effort(g.wait_event, "system.config_rejected", timeout=5)
        g.stop()
    finally:
        blocker.close()
    yield Scenario(g, busy)
    g.close()


@pytest.fixture(scope="module")
def full(scenario):
    return scenario.gate.events()


def ids(events):
    return [e["id"] for e in events]


# ---------------------------------------------------------------- formats


def test_json_fields(full):
    assert full, "the log is empty"
    for e in full:
        assert set(e) == FIELDS, f"fields {sorted(e)} != {sorted(FIELDS)}"
        assert TIME_RE.fullmatch(e["time"]), f"time {e['time']!r} is not ISO 8601 UTC with Z"
        assert TYPE_RE.fullmatch(e["type"]), e
        assert e["category"] in CATEGORIES, e
        assert e["severity"] in SEVERITIES, e
    assert ids(full) == sorted(ids(full)) and len(set(ids(full))) == len(full), "newest last"
    times = [e["time"] for e in full]
    assert times == sorted(times), "time goes backwards"


def test_csv_has_header_and_one_row_per_event(scenario, full):
    r = assert_rc(scenario.gate.run("log", "show", "--data-dir", scenario.gate.data_dir,
                                    "--format", "csv"), EXIT_OK)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    header = [h.strip().lower() for h in rows[0]]
    assert {"time", "type", "category", "severity", "message"} <= set(header), rows[0]
    body = [row for row in rows[1:] if row]
    assert len(body) == len(full), f"{len(body)} CSV rows for {len(full)} events"
    col = header.index("type")
    assert [row[col] for row in body] == [e["type"] for e in full]


def test_text_format_is_default(scenario, full):
    r = assert_rc(scenario.gate.run("log", "show", "--data-dir", scenario.gate.data_dir), EXIT_OK)
    assert len(r.stdout.strip().splitlines()) >= len(full), r.stdout


# ---------------------------------------------------------------- filters


def test_severity_filter(scenario, full):
    present = {e["severity"] for e in full}
    assert len(present) >= 2, f"a typical session logs more than one severity: {present}"
    for rank, sev in enumerate(SEVERITIES, 1):
        want = [e for e in full if SEVERITIES.index(e["severity"]) < rank]
        got = scenario.gate.events("--severity", sev.lower())
        assert ids(got) == ids(want), f"--severity {sev.lower()}: {[e['type'] for e in got]}"


def test_category_filter(scenario, full):
    present = {e["category"] for e in full}
    assert len(present) >= 2, present
    for cat in sorted(CATEGORIES):
        got = scenario.gate.events("--category", cat.lower())
        assert ids(got) == ids([e for e in full if e["category"] == cat]), f"--category {cat}"


def test_type_filter(scenario, full):
    for t in sorted({e["type"] for e in full}):
        got = scenario.gate.events("--type", t)
        assert ids(got) == ids([e for e in full if e["type"] == t]), f"--type {t}"


def test_port_filter(scenario, full):
    for n in (1, 2):
        got = scenario.gate.events("--port", str(n))
        assert got, f"no event for port {n}"
        assert ids(got) == ids([e for e in full if str(e["port"]) == str(n)]), f"--port {n}"


def test_limit_shows_the_newest(scenario, full):
    got = scenario.gate.events("--limit", "3")
    assert ids(got) == ids(full)[-3:]


def test_bad_filter_value_is_rejected(scenario):
    r = scenario.gate.run("log", "show", "--data-dir", scenario.gate.data_dir,
                          "--severity", "catastrophic")
    assert r.returncode in (sgtest.EXIT_USAGE, sgtest.EXIT_INVALID), sgtest.describe(r)


# ---------------------------------------------------------------- what a session logs


def count(full, type_, port=None):
    return sum(1 for e in full
               if e["type"] == type_ and (port is None or str(e["port"]) == str(port)))


@pytest.mark.parametrize("type_,port", [
    ("system.start", None), ("system.stop", None), ("system.data_plane_off", None),
    ("security.account_created", None), ("serial.mode_started", 1), ("serial.connected", 1),
    ("serial.disconnected", 1), ("serial.refused", 1), ("serial.mode_failed", 2),
    ("system.config_rejected", None),
])
def test_session_logged(full, type_, port):
    assert count(full, type_, port) >= 1, (
        f"no {type_}" + (f" for port {port}" if port else "") + f" in {[e['type'] for e in full]}")


def test_start_and_stop_once(full):
    assert count(full, "system.start") == 1
    assert count(full, "system.stop") == 1


def test_bind_failure_disables_only_that_port(full):
    failed = [e for e in full if e["type"] == "serial.mode_failed"]
    assert all(str(e["port"]) == "2" for e in failed), failed
    assert count(full, "serial.connected", 1) >= 1
