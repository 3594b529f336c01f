"""test_monitor.py: the live serial monitor, GET /api/v1/ports/{n}/monitor/ws (issue 13 item 4),
through the real binary with a WebSocket client we did not write (python3-websocket, Debian's
websocket-client). A TCP client writes to port 1, a sim:echo line sends it back: the monitor
shows the bytes written to the line ("tx") and read from it ("rx"). Refused without a session,
from another Origin and without the Diagnostics privilege; a subscriber that stops reading loses
monitor frames (counted and reported to it) while the port's client is still served every byte;
start and end are in the event log with account and source.

A monitor lives only while its session has the right to it (issue 13 item 4): it closes, with a
close code and reason and a security.monitor_stopped event saying why, when its session ends
(logout, an administrator ends it, the account is disabled, deleted, moved to another group, its
password reset or changed in another session) — code 4001 — or when the session goes on without
the right: its group's privileges lose Diagnostics, or the account is locked — code 4003. And an
open monitor keeps its session from going idle (the SLOW test, ~70 s).
"""

import base64
import json
import socket
import ssl
import threading
import time

import pytest
import websocket  # python3-websocket (scripts/bootstrap)

import sgtest
from api import API, COOKIE
from sgtest import LOOPBACK, serial_settings, tcp_server_port

OP_PW = "monitor-Operator-pw-7"
WATCHER_PW = "monitor-Watcher-pw-31"
WATCHER_PW2 = "monitor-Watcher-pw-47"
# A custom group that may watch (Diagnostics read) and one that may not.
WATCHERS = {"overview": "read_only", "diagnostics": "read_only"}
BLIND = {"overview": "read_only", "serial": "read_only"}
IO_TIMEOUT = 20.0


@pytest.fixture
def monitored(web_admin):
    data, cmd = sgtest.free_ports(2)
    w, admin = web_admin([tcp_server_port(1, "sim:echo", data, cmd, serial=serial_settings(),
                                          max_connections=4)])
    sgtest.wait_until(lambda: ("tcp", data) in w.gate.listening(), sgtest.START_TIMEOUT,
                      what="port 1 listening")
    return w, admin, data


def ws_url(w, port=1):
    return f"wss://{LOOPBACK}:{w.port}{API}/ports/{port}/monitor/ws"


def open_monitor(w, cookie, origin="default", port=1, sockopt=()):
    """A WebSocket to port `port`'s monitor; `origin` "default" is the console's own."""
    kw = {}
    if origin == "default":
        kw["origin"] = f"https://{LOOPBACK}:{w.port}"
    elif origin is None:
        kw["suppress_origin"] = True
    else:
        kw["origin"] = origin
    if cookie is not None:
        kw["cookie"] = f"{COOKIE}={cookie}"
    return websocket.create_connection(
        ws_url(w, port), timeout=IO_TIMEOUT,
        sslopt={"cert_reqs": ssl.CERT_NONE, "check_hostname": False},
        sockopt=sockopt, **kw)


def refused_status(w, cookie, **kw):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        open_monitor(w, cookie, **kw).close()
    return e.value.status_code


def messages(ws, until, timeout=IO_TIMEOUT):
    """Reads JSON messages until `until(all so far)` holds; returns them."""
    got = []
    deadline = time.monotonic() + timeout
    while not until(got):
        assert time.monotonic() < deadline, f"monitor: condition not met; got {got[-3:]}"
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        got.append(json.loads(ws.recv()))
    return got


def shown(msgs, direction):
    """The bytes of every frame of `direction` ("rx"/"tx") in `msgs`, in order."""
    return b"".join(base64.b64decode(f["data"]) for m in msgs if m["type"] == "data"
                    for f in m["frames"] if f["dir"] == direction)


def echo_client(data_port, payload):
    """Sends `payload` to the port and reads it all back (the sim:echo line); the bytes read."""
    s = socket.create_connection((LOOPBACK, data_port), timeout=IO_TIMEOUT)
    got = bytearray()
    with s:
        def reader():
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    return
                got.extend(chunk)
        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        t.join(IO_TIMEOUT * 3)
    return bytes(got)


def test_monitor_shows_both_directions_with_timestamps(monitored):
    w, admin, data = monitored
    ws = open_monitor(w, admin.cookie)
    hello = json.loads(ws.recv())
    assert hello["type"] == "hello" and hello["port"] == 1, hello
    before_us = time.time_ns() // 1000
    payload = b"monitor \x00\x01\xfe\xff bytes\r\n"
    assert echo_client(data, payload) == payload
    msgs = messages(ws, lambda m: payload in shown(m, "tx") and payload in shown(m, "rx"))
    frames = [f for m in msgs if m["type"] == "data" for f in m["frames"]]
    assert all(before_us - 5_000_000 <= f["ts_us"] <= time.time_ns() // 1000 for f in frames)
    assert all(m["lost_frames"] == 0 for m in msgs if m["type"] == "data")
    ws.close()
    ev = admin.events("type=security.monitor_stopped",
                      until=lambda e: any("port 1" in x["message"] for x in e))
    assert any(x["account"] == "admin" and x["source"].startswith(LOOPBACK) and x["port"] == 1
               for x in ev), ev
    started = admin.events("type=security.monitor_started")
    assert any(x["account"] == "admin" and x["port"] == 1 for x in started), started


def test_monitor_refusals(monitored):
    w, admin, data = monitored
    # No session cookie, and an unknown one.
    assert refused_status(w, None) == 401
    assert refused_status(w, "not-a-session") == 401
    # Another site's page using the user's cookie (cross-site WebSocket hijacking), a plain-http
    # origin of the same host, and a client sending no Origin at all.
    assert refused_status(w, admin.cookie, origin="https://evil.example") == 403
    assert refused_status(w, admin.cookie, origin=f"http://{LOOPBACK}:{w.port}") == 403
    assert refused_status(w, admin.cookie, origin=None) == 403
    ev = admin.events("type=security.access_denied",
                      until=lambda e: any("evil.example" in x["message"] for x in e))
    assert any("evil.example" in x["message"] and x["account"] == "admin" for x in ev), ev
    # An operator whose group lacks Diagnostics.
    r = admin.put(f"{API}/groups/NoDiagnostics",
                  {"privileges": {"overview": "read_only", "serial": "read_write"}})
    assert r.status == 201, r
    admin.create_account("op", OP_PW, group="NoDiagnostics")
    op = w.login("op", OP_PW)
    assert refused_status(w, op.cookie) == 403
    # A port that does not exist; a plain GET (no upgrade).
    assert refused_status(w, admin.cookie, port=9) == 404
    r = admin.get(f"{API}/ports/1/monitor/ws")
    assert r.status == 426 and r.error_code() == "websocket_required", r
    # The port's data was never watched by any of them.
    assert echo_client(data, b"after refusals") == b"after refusals"


def test_slow_subscriber_loses_frames_not_data(monitored):
    w, admin, data = monitored
    # A subscriber that reads nothing while 2 MiB go through the port: its small receive buffer
    # and the server's bounded queue fill, frames are lost and counted; the port's client still
    # gets every byte back; a subscriber that reads keeps up meanwhile.
    slow = open_monitor(w, admin.cookie,
                        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    payload = bytes(range(256)) * (8 * 1024)  # 2 MiB
    assert echo_client(data, payload) == payload, "the port's echo lost bytes"
    # Now read: a later message reports the frames it lost.
    msgs = messages(slow, lambda m: any(x.get("lost_frames", 0) > 0 for x in m), timeout=60)
    lost = max(x.get("lost_frames", 0) for x in msgs)
    assert lost > 0
    assert max(x.get("lost_bytes", 0) for x in msgs) > 0
    slow.close()
    ev = admin.events("type=security.monitor_stopped",
                      until=lambda e: any("lost" in x["message"] and " 0 frames (0 bytes) lost"
                                          not in x["message"] for x in e))
    assert any(" 0 frames (0 bytes) lost" not in x["message"] for x in ev), ev
    # The port is still served afterwards.
    assert echo_client(data, b"still served") == b"still served"


def wait_close(ws, timeout=IO_TIMEOUT):
    """Reads (and drops) messages until the close frame: (code, reason, seconds it took)."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            op, payload = ws.recv_data(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            return (int.from_bytes(payload[:2], "big"), payload[2:].decode(),
                    time.monotonic() - start)
    raise AssertionError(f"the monitor is still open {timeout} s after its right ended")


def watcher(w, admin, group="Watchers"):
    """A Diagnostics-reading account ("watcher" in a custom group) logged in, and its monitor of
    port 1, open and greeted."""
    assert admin.put(f"{API}/groups/{group}", {"privileges": WATCHERS}).status in (200, 201)
    admin.create_account("watcher", WATCHER_PW, group=group)
    s = w.login("watcher", WATCHER_PW)
    ws = open_monitor(w, s.cookie)
    assert json.loads(ws.recv())["type"] == "hello"
    return s, ws


def stopped_event(admin, reason):
    ev = admin.events("type=security.monitor_stopped",
                      until=lambda e: any(reason in x["message"] for x in e))
    hit = [x for x in ev if reason in x["message"]]
    assert hit and hit[0]["account"] == "watcher" and hit[0]["port"] == 1, ev
    return hit[0]


def test_logout_closes_the_monitor(monitored):
    w, admin, data = monitored
    other = w.login("admin", sgtest.ADMIN_PASSWORD)
    ws = open_monitor(w, other.cookie)
    assert json.loads(ws.recv())["type"] == "hello"
    assert other.logout().status in (200, 204)
    # Data messages may come first (heartbeats); then the close frame, code 4001.
    code, reason, _ = wait_close(ws)
    assert (code, reason) == (4001, "session ended: logged out")
    ev = admin.events("type=security.monitor_stopped",
                      until=lambda e: any("session ended: logged out" in x["message"] for x in e))
    assert any("session ended: logged out" in x["message"] for x in ev), ev


def _lock(w, admin, s):
    for _ in range(5):  # login.retry_failure_threshold's default
        assert w.login_raw("watcher", WATCHER_PW + "-wrong").status in (401, 423)


def _password_changed_elsewhere(w, admin, s):
    other = w.login("watcher", WATCHER_PW)
    r = other.put(f"{API}/session/password",
                  {"current_password": WATCHER_PW, "new_password": WATCHER_PW2})
    assert r.status == 204, r


def _session_id(admin):
    mine = [x for x in admin.ok("GET", f"{API}/sessions") if x["account"] == "watcher"]
    assert len(mine) == 1, mine
    return mine[0]["id"]


# (what changes, the change, close code, close reason, whether the session goes on)
CASES = {
    "group_privileges": (
        lambda w, admin, s: admin.ok("PUT", f"{API}/groups/Watchers", {"privileges": BLIND}),
        4003, "group Watchers lost Diagnostics", True),
    "moved_to_group": (
        lambda w, admin, s: (admin.ok("PUT", f"{API}/groups/Blind", {"privileges": BLIND}),
                             admin.ok("PATCH", f"{API}/accounts/watcher", {"group": "Blind"})),
        4001, "session ended: account moved to group Blind", False),
    "disabled": (
        lambda w, admin, s: admin.ok("PATCH", f"{API}/accounts/watcher", {"active": False}),
        4001, "session ended: account disabled", False),
    "deleted": (
        lambda w, admin, s: admin.ok("DELETE", f"{API}/accounts/watcher"),
        4001, "session ended: account deleted", False),
    "locked": (_lock, 4003, "account locked", True),
    "ended_by_admin": (
        lambda w, admin, s: admin.ok("DELETE", f"{API}/sessions/{_session_id(admin)}"),
        4001, "session ended: ended by an administrator", False),
    "password_reset": (
        lambda w, admin, s: admin.ok("PUT", f"{API}/accounts/watcher/password",
                                     {"password": WATCHER_PW2}),
        4001, "session ended: password reset by an administrator", False),
    "password_changed_elsewhere": (
        _password_changed_elsewhere,
        4001, "session ended: the password was changed in another session", False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_monitor_closes_when_its_session_loses_the_right(monitored, case):
    """Issue 13 item 4: the right to watch is checked for as long as the monitor is open, not
    only when it opens; the close comes within the monitor's session check (~0.5 s), no restart."""
    change, want_code, want_reason, session_goes_on = CASES[case]
    w, admin, data = monitored
    s, ws = watcher(w, admin)
    change(w, admin, s)
    code, reason, took = wait_close(ws)
    assert (code, reason) == (want_code, want_reason), f"closed after {took:.2f} s"
    print(f"{case}: closed {took:.2f} s after the change")
    ev = stopped_event(admin, want_reason)
    assert f"port 1: {want_reason};" in ev["message"], ev
    session = w.get(f"{API}/session", cookie=s.cookie)
    assert session.status == (200 if session_goes_on else 401), session
    if session_goes_on:
        # The session goes on without the right: a new monitor is refused (403 without
        # Diagnostics, 423 while the account is locked) ...
        assert refused_status(w, s.cookie) == (423 if case == "locked" else 403)
    # ... and the port was served throughout.
    assert echo_client(data, b"after the close") == b"after the close"


def test_group_change_that_keeps_diagnostics_keeps_the_monitor(monitored):
    """The negative of group_privileges: a group edit that leaves Diagnostics read does not close
    its sessions' monitors, and a session whose group regained it may watch again."""
    w, admin, data = monitored
    s, ws = watcher(w, admin)
    admin.ok("PUT", f"{API}/groups/Watchers", {"privileges": {**WATCHERS, "serial": "read_only"}})
    payload = b"still watched after the group edit"
    assert echo_client(data, payload) == payload
    msgs = messages(ws, lambda m: payload in shown(m, "rx"))
    assert all(m["type"] != "close" for m in msgs)
    admin.ok("PUT", f"{API}/groups/Watchers", {"privileges": BLIND})
    assert wait_close(ws)[0] == 4003
    admin.ok("PUT", f"{API}/groups/Watchers", {"privileges": WATCHERS})
    again = open_monitor(w, s.cookie)
    assert json.loads(again.recv())["type"] == "hello"
    assert echo_client(data, payload) == payload
    messages(again, lambda m: payload in shown(m, "rx"))
    again.close()


def test_SLOW_an_open_monitor_keeps_its_session_from_going_idle(web_admin):
    """Issue 13 item 4 (docs/api.md "Serial monitor"): a user watching the monitor is active. With
    session_timeout_min 1, a session whose monitor stays open (and answers the server's pings)
    is still valid after 70 s without a request, while a session of the same account left idle
    has expired; logout then still ends the watching session and closes its monitor. A monitor
    whose client answers nothing (no pong: a vanished browser) is ended by the server after 60 s,
    so it cannot keep a session alive."""
    data, cmd = sgtest.free_ports(2)
    w, admin = web_admin([tcp_server_port(1, "sim:echo", data, cmd, serial=serial_settings())],
                         login={"session_timeout_min": 1})
    sgtest.wait_until(lambda: ("tcp", data) in w.gate.listening(), sgtest.START_TIMEOUT,
                      what="port 1 listening")
    admin.create_account("watcher", WATCHER_PW, group="Operator")  # Operator has Diagnostics
    watching = w.login("watcher", WATCHER_PW)
    idle = w.login("watcher", WATCHER_PW)
    silent = open_monitor(w, w.login("watcher", WATCHER_PW).cookie)  # never read from here on
    ws = open_monitor(w, watching.cookie)
    assert json.loads(ws.recv())["type"] == "hello"
    got = []
    stop = threading.Event()

    def reader():  # a browser reads (and answers pings) all along
        ws.settimeout(1)
        while not stop.is_set():
            try:
                got.append(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:  # noqa: BLE001 - the close ends the reader
                return

    t = threading.Thread(target=reader)
    t.start()
    try:
        api_sleep = time.monotonic() + 70
        while time.monotonic() < api_sleep:
            time.sleep(1)
            admin.get(f"{API}/session")  # the admin's own session stays in use meanwhile
        assert w.get(f"{API}/session", cookie=idle.cookie).status == 401, (
            "WS-2: the idle session did not expire")
        assert w.get(f"{API}/session", cookie=watching.cookie).status == 200, (
            "the session of an open monitor expired while its user watched")
        assert t.is_alive(), "the monitor closed while its session was kept"
        ev = admin.events("type=security.monitor_stopped",
                          until=lambda e: any(x["account"] == "watcher" for x in e))
        ended = [x for x in ev if x["account"] == "watcher"]
        assert len(ended) == 1 and "session" not in ended[0]["message"], (
            f"the silent monitor was not ended by the server (or not alone): {ev}")
    finally:
        stop.set()
        t.join(5)
        silent.close()
    assert watching.logout().status in (200, 204)
    code, reason, _ = wait_close(ws)
    assert (code, reason) == (4001, "session ended: logged out")
