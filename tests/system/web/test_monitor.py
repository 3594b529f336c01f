"""test_monitor.py: the live serial monitor, GET /api/v1/ports/{n}/monitor/ws (issue 13 item 4),
through the real binary with a WebSocket client we did not write (python3-websocket, Debian's
websocket-client). A TCP client writes to port 1, a sim:echo line sends it back: the monitor
shows the bytes written to the line ("tx") and read from it ("rx"). Refused without a session,
from another Origin and without the Diagnostics privilege; a subscriber that stops reading loses
monitor frames (counted and reported to it) while the port's client is still served every byte;
logout closes the monitor; start and end are in the event log with account and source.
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


def test_logout_closes_the_monitor(monitored):
    w, admin, data = monitored
    other = w.login("admin", sgtest.ADMIN_PASSWORD)
    ws = open_monitor(w, other.cookie)
    assert json.loads(ws.recv())["type"] == "hello"
    assert other.logout().status in (200, 204)
    # Data messages may come first (heartbeats); then the close frame, code 4001.
    deadline = time.monotonic() + IO_TIMEOUT
    code = None
    while time.monotonic() < deadline:
        ws.settimeout(IO_TIMEOUT)
        op, payload = ws.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            code = int.from_bytes(payload[:2], "big")
            break
    assert code == 4001, f"the monitor outlived its session (close code {code})"
    ev = admin.events("type=security.monitor_stopped",
                      until=lambda e: any("session ended" in x["message"] for x in e))
    assert any("session ended" in x["message"] for x in ev), ev
