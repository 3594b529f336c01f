"""web/test_allowlist.py: the IP allowlist on every listener (guide §3.5; NE-2, NE-3, NE-4, SD-3,
AU-2, CF-4) through the real binary. Python sockets bound to loopback addresses stand in for other
hosts: 127.0.0.2 is allowed, 127.0.0.3 is not. A refused peer must see its connection end before
any byte (no Telnet negotiation, no ServerHello), UDP datagrams from it must not reach the serial
line, and each refusal is counted per listener and logged at most once per source per minute.
Changes apply at once; connections from a source no longer allowed are closed (NE-4); an API change
that would lock out its own client is refused with 409 would_lock_out (NE-3, CF-4).

Lives beside the API tests because half of it goes through the API (the web fixtures)."""

import select
import socket
import ssl
import subprocess
import time

import pytest

import api
import sgtest
from sgtest import LOOPBACK, IO_TIMEOUT, make_config, monitor, serial_settings, tcp_server_port

ALLOWED, REFUSED = "127.0.0.2", "127.0.0.3"
QUIET = 0.5  # only ever used to assert absence
WAIT = 10.0  # generous bound for "closed within 1 s" (ASan build on a loaded machine)


def connect_from(source, port, timeout=IO_TIMEOUT):
    s = socket.create_connection((LOOPBACK, port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_before_any_byte(source, port, send=b""):
    """Connects from `source` (and sends `send`): True when the server ended the connection (EOF
    or reset) without sending a single byte; False when it sent something (a Telnet option, a TLS
    alert for `send`) or kept the connection open."""
    try:
        s = connect_from(source, port)
    except ConnectionRefusedError:
        return False  # nothing listens: not what we test
    except ConnectionResetError:
        return True  # accepted and reset so fast that connect() itself saw the RST
    try:
        s.settimeout(IO_TIMEOUT)
        if send:
            s.sendall(send)
        data = s.recv(1024)
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
        data = b""
    except socket.timeout:
        return False  # kept open
    finally:
        s.close()
    return data == b""


def client_hello():
    """The bytes of a TLS ClientHello, as Python's TLS client would send them first."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = api.client_context().wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def closed_within(sock, timeout):
    """True when the peer closes `sock` (EOF or reset) within `timeout`; data before is dropped."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return False
        try:
            if sock.recv(1 << 16) == b"":
                return True
        except (ConnectionResetError, ConnectionAbortedError):
            return True
        except ssl.SSLError:
            return True


def echoes(sock, payload=b"ping"):
    """Sends `payload` and reads until it comes back (the port's sim:echo line)."""
    sock.sendall(payload)
    got = b""
    deadline = time.monotonic() + IO_TIMEOUT
    sock.settimeout(IO_TIMEOUT)
    while payload not in got and time.monotonic() < deadline:
        chunk = sock.recv(1024)
        if not chunk:
            break
        got += chunk
    return payload in got


def allowlist(*entries, enabled=True):
    return {"enabled": enabled, "entries": list(entries)}


class DataPlane:
    """serve with a port of every listening mode on a simulated line that sends back what it
    gets (sim:echo, sim:loopback; the never-reached fail_configure makes a second, distinct
    device name), and UDP on a pty."""

    def __init__(self, gate, pty, entries):
        (self.ts_data, self.ts_cmd, self.rfc, self.rc_data, self.rc_cmd,
         self.slave) = sgtest.free_ports(6)
        self.udp = free_udp_port()
        self.gate = gate
        self.pty = pty
        self.entries = entries
        gate.serve(config=self.config(entries),
                   wait_ports=[self.ts_data, self.ts_cmd, self.rfc, self.rc_data, self.rc_cmd,
                               self.slave])
        sgtest.wait_until(lambda: ("udp", self.udp) in gate.listening(), sgtest.START_TIMEOUT,
                          what="UDP bound")

    def config(self, entries, enabled=True):
        echo = serial_settings()
        return make_config(
            [tcp_server_port(1, "sim:echo", self.ts_data, self.ts_cmd, max_connections=8),
             {"port": 2, "device": "sim:loopback", "serial": echo,
              "mode": {"type": "rfc2217", "local_port": self.rfc}},
             {"port": 3, "device": "sim:echo?fail_configure=1000000", "serial": echo,
              "mode": {"type": "real_com", "data_port": self.rc_data,
                       "command_port": self.rc_cmd, "max_connections": 4}},
             {"port": 4, "device": self.pty.path, "serial": echo,
              "mode": {"type": "udp", "local_port": self.udp,
                       "destinations": [{"begin": ALLOWED, "end": REFUSED, "port": 4001}]}},
             {"port": 5, "device": "sim:loopback?fail_configure=1000000", "serial": echo,
              "mode": {"type": "pair_slave", "local_port": self.slave}}],
            allowlist=allowlist(*entries, enabled=enabled))

    def tcp_listeners(self):
        return {"tcp_server data": (1, self.ts_data), "tcp_server command": (1, self.ts_cmd),
                "rfc2217": (2, self.rfc), "real_com data": (3, self.rc_data),
                "real_com command": (3, self.rc_cmd), "pair_slave": (5, self.slave)}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def refusal_events(gate, source):
    return [e for e in gate.events("--type", "security.allowlist_refused")
            if e["source"] == source]


# ---------------------------------------------------------------- the data plane


def test_every_serial_listener_refuses_outside_sources_before_any_byte(admin_gate, pty):
    dp = DataPlane(admin_gate, pty, [LOOPBACK, ALLOWED])
    for name, (number, port) in dp.tcp_listeners().items():
        assert closed_before_any_byte(REFUSED, port), \
            f"{name} (port {number}): a connection from {REFUSED} was served"
    # The allowed source is served on the same listeners.
    for name, port in (("tcp_server data", dp.ts_data), ("rfc2217", dp.rfc),
                       ("real_com data", dp.rc_data)):
        with connect_from(ALLOWED, port) as s:
            assert echoes(s), f"{name}: {ALLOWED} was not served"
    counts = {n: monitor(admin_gate, n)["counters"]["refused_allowlist"] for n in (1, 2, 3, 5)}
    assert counts == {1: 2, 2: 1, 3: 2, 5: 1}, counts
    # max-connections refusals are a different counter.
    assert monitor(admin_gate, 1)["counters"]["refused"] == 0


def test_udp_datagrams_from_outside_never_reach_the_line(admin_gate, pty):
    dp = DataPlane(admin_gate, pty, [LOOPBACK, ALLOWED])
    outside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outside.bind((REFUSED, 0))
    inside.bind((ALLOWED, 0))
    try:
        # Both are inside the destination range: only the allowlist tells them apart.
        outside.sendto(b"intruder", (LOOPBACK, dp.udp))
        outside.sendto(b"intruder again", (LOOPBACK, dp.udp))
        inside.sendto(b"friend", (LOOPBACK, dp.udp))  # after: once through, the others were seen
        assert pty.read_exact(6) == b"friend"
        assert pty.read_for(QUIET) == b"", "a datagram from outside the allowlist reached serial"
    finally:
        outside.close()
        inside.close()
    counters = monitor(admin_gate, 4)["counters"]
    assert counters["refused_allowlist"] == 2, counters
    assert counters["serial_tx_bytes"] == 6, counters


def test_refusals_are_logged_once_per_source_with_the_count(admin_gate, pty):
    dp = DataPlane(admin_gate, pty, [LOOPBACK, ALLOWED])
    for _ in range(20):
        assert closed_before_any_byte(REFUSED, dp.ts_data)
    sgtest.wait_until(lambda: monitor(admin_gate, 1)["counters"]["refused_allowlist"] == 20,
                      IO_TIMEOUT, what="20 refusals counted")
    admin_gate.wait_event("security.allowlist_refused", lambda e: e["source"] == REFUSED)
    events = refusal_events(admin_gate, REFUSED)
    assert len(events) == 1, f"20 refusals within a minute gave {len(events)} events: {events}"
    e = events[0]
    assert e["category"] == "Security" and e["severity"] == "Warning", e
    assert f"port 1 ({dp.ts_data})" in e["message"], e


def test_removed_entry_closes_established_connections(admin_gate, pty):
    dp = DataPlane(admin_gate, pty, [LOOPBACK, ALLOWED, REFUSED])
    doomed = {name: connect_from(REFUSED, port) for name, port in
              (("tcp_server data", dp.ts_data), ("tcp_server command", dp.ts_cmd),
               ("rfc2217", dp.rfc), ("real_com data", dp.rc_data))}
    kept = connect_from(ALLOWED, dp.ts_data)
    try:
        for name in ("tcp_server data", "real_com data"):
            assert echoes(doomed[name]), f"{name}: {REFUSED} not served while allowed"
        assert echoes(kept)
        # The local CLI's import (not the API: never subject to the lockout check, NE-3).
        admin_gate.import_config(dp.config([LOOPBACK, ALLOWED]))
        for name, s in doomed.items():
            assert closed_within(s, WAIT), f"{name}: the connection from {REFUSED} stayed open"
        assert echoes(kept, b"still here"), "the allowed client lost its connection"
        assert closed_before_any_byte(REFUSED, dp.ts_data), "new connections still served"
        # Provisioning from serve's --config (revision 1), then the import (revision 2): each
        # recorded once, by the process that wrote it; serve does not repeat the CLI's.
        changed = admin_gate.wait_event("security.allowlist_changed", count=2)
        assert all(e["category"] == "Security" for e in changed), changed
        assert [e["source"] for e in changed][1:] == ["cli"], changed
        assert "revision 2: enabled true, 2 entries" in changed[1]["message"], changed
    finally:
        kept.close()
        for s in doomed.values():
            s.close()


def test_disabled_allowlist_allows_every_source(admin_gate, pty):
    dp = DataPlane.__new__(DataPlane)
    dp.ts_data, dp.ts_cmd, dp.rfc, dp.rc_data, dp.rc_cmd, dp.slave = sgtest.free_ports(6)
    dp.udp, dp.pty = free_udp_port(), pty
    admin_gate.serve(config=dp.config([ALLOWED], enabled=False), wait_ports=[dp.ts_data])
    with connect_from(REFUSED, dp.ts_data) as s:
        assert echoes(s)


def test_a_bad_entry_is_refused_naming_the_key(gate):
    cfg = make_config([], allowlist={"enabled": True, "entries": [ALLOWED, "10.0.0.0/33"]})
    path = gate.write_config(cfg)
    r = gate.run("config", "validate", path)
    assert r.returncode == sgtest.EXIT_INVALID, sgtest.describe(r)
    assert "allowlist.entries[1]: '10.0.0.0/33'" in r.stderr + r.stdout, sgtest.describe(r)
    empty = gate.write_config(make_config([], allowlist={"enabled": True, "entries": []}))
    r = gate.run("config", "validate", empty)
    assert r.returncode == sgtest.EXIT_INVALID, sgtest.describe(r)
    assert "NE-3" in r.stderr + r.stdout


# ---------------------------------------------------------------- HTTPS and the API


def test_https_refuses_outside_sources_before_the_tls_handshake(web_admin):
    web, admin = web_admin(allowlist=allowlist(LOOPBACK, ALLOWED))
    # A raw TCP client sends a real ClientHello: from the allowed address the server answers
    # (ServerHello), from the refused one not a byte comes back (reset before TLS).
    assert not closed_before_any_byte(ALLOWED, web.port, send=client_hello())
    assert closed_before_any_byte(REFUSED, web.port, send=client_hello())
    # Python's TLS client: the handshake ends by reset/EOF, never with a ServerHello.
    # (The reset may come before connect() returns: the same refusal.)
    with pytest.raises((ssl.SSLError, ConnectionResetError, ConnectionAbortedError, OSError)):
        raw = connect_from(REFUSED, web.port)
        try:
            api.client_context().wrap_socket(raw).close()
        finally:
            raw.close()
    # curl --interface: fails to connect/handshake (7, 35 or 56), never gets an HTTP answer.
    p = subprocess.run(["curl", "-sk", "--max-time", "20", "--interface", REFUSED,
                        "-o", "/dev/null", "-w", "%{http_code}", web.url("/api/v1/identity")],
                       capture_output=True, text=True, timeout=40)
    assert p.returncode != 0 and p.stdout in ("", "000"), (p.returncode, p.stdout, p.stderr)
    # The allowed source is served.
    assert web.get("/api/v1/identity", source=ALLOWED).status == 200
    dos = admin.get("/api/v1/system/dos").json()
    assert dos["connections"]["refused"]["allowlist"] >= 3, dos
    events = admin.events("type=security.allowlist_refused",
                          until=lambda es: any(e["source"] == REFUSED for e in es))
    mine = [e for e in events if e["source"] == REFUSED]
    assert len(mine) == 1, mine
    assert "https" in mine[0]["message"], mine


def test_api_reads_and_changes_the_allowlist_with_audit(web_admin):
    web, admin = web_admin()
    assert admin.get("/api/v1/allowlist").json() == {"enabled": False, "entries": []}
    bad = admin.put("/api/v1/allowlist", {"enabled": True, "entries": ["127.0.0.1", "nonsense"]})
    assert bad.status == 400, bad
    assert bad.json()["problems"][0]["path"] == "allowlist.entries[1]", bad.json()
    r = admin.put("/api/v1/allowlist",
                  {"enabled": True, "entries": ["127.0.0.0/255.255.255.0", "2001:db8::/32"]})
    assert r.status == 200, r
    assert admin.get("/api/v1/allowlist").json() == {
        "enabled": True, "entries": ["127.0.0.0/255.255.255.0", "2001:db8::/32"]}
    events = admin.events("type=security.allowlist_changed", until=bool)
    assert events and events[-1]["account"] == "admin", events
    assert events[-1]["source"].startswith("127.0.0.1"), events
    # Export = import: the whole document carries the block as written.
    doc = admin.get("/api/v1/config").json()
    assert doc["allowlist"]["entries"] == ["127.0.0.0/255.255.255.0", "2001:db8::/32"], doc


def test_api_refuses_a_change_that_locks_out_its_client(web_admin):
    web, _ = web_admin()
    admin = web.login(source="127.0.0.5")
    before = admin.get("/api/v1/allowlist").json()
    r = admin.put("/api/v1/allowlist", {"enabled": True, "entries": ["127.0.0.9/32"]})
    assert r.status == 409, r
    assert r.json()["error"] == "would_lock_out" and "127.0.0.5" in r.json()["message"], r.json()
    r = admin.put("/api/v1/allowlist", {"enabled": True, "entries": []})
    assert r.status == 409 and r.json()["error"] == "would_lock_out", r
    # CF-4: the whole document through the API obeys the same rule.
    doc = admin.get("/api/v1/config").json()
    doc["allowlist"] = {"enabled": True, "entries": ["127.0.0.9"]}
    r = admin.put("/api/v1/config", doc)
    assert r.status == 409 and r.json()["error"] == "would_lock_out", r
    # Nothing changed; the client still works.
    assert admin.get("/api/v1/allowlist").json() == before
    # A list that covers the client is fine.
    r = admin.put("/api/v1/allowlist", {"enabled": True, "entries": ["127.0.0.5", "127.0.0.1"]})
    assert r.status == 200, r


def test_https_connections_and_sessions_from_a_removed_source_end(web_admin):
    web, admin = web_admin(allowlist=allowlist(LOOPBACK, "127.0.0.4"))
    other = web.login(source="127.0.0.4")
    assert other.get("/api/v1/session").status == 200
    kept_alive = api.tls_socket(web.port, source="127.0.0.4")
    try:
        r = admin.put("/api/v1/allowlist", {"enabled": True, "entries": [LOOPBACK]})
        assert r.status == 200, r
        assert closed_within(kept_alive, WAIT), "the HTTPS connection from 127.0.0.4 stayed open"
        ended = admin.events("type=security.session_ended",
                             until=lambda es: any("allowlist" in e["message"] for e in es))
        assert any(e["source"].startswith("127.0.0.4") and "allowlist" in e["message"]
                   for e in ended), ended
        web.close_connections()
        assert closed_before_any_byte("127.0.0.4", web.port, send=client_hello())
    finally:
        kept_alive.close()


def test_http_redirect_port_refuses_outside_sources_too(web_admin):
    (http_port,) = sgtest.free_ports(1)
    web, _ = web_admin(https={"http_redirect": True, "http_port": http_port},
                       allowlist=allowlist(LOOPBACK, ALLOWED))
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert not closed_before_any_byte(ALLOWED, http_port, send=request), "no 301 for 127.0.0.2"
    assert closed_before_any_byte(REFUSED, http_port, send=request)
