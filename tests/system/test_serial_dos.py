"""test_serial_dos.py: the data plane's DoS defense (guide §3.7; NE-5, NE-7, NE-8, AU-2) through
the real binary. 127.0.0.2 is the flooding source, 127.0.0.3 another host; a client of another
port keeps getting its echo served during a connection flood and a datagram flood (asserted:
served; the latency is bench/'s business). Refusals are counted per port (`refused_dos` in the
port monitor and GET /status) and logged at most once per source, port and minute
(security.dos_refused). Each serial_dos setting is set and its effect observed."""

import contextlib
import socket
import ssl
import threading
import time

import pytest

import sgtest
from sgtest import LOOPBACK, IO_TIMEOUT, make_config, monitor, serial_settings, tcp_server_port

FLOODER, OTHER = "127.0.0.2", "127.0.0.3"


def connect_from(source, port, timeout=IO_TIMEOUT):
    s = socket.create_connection((LOOPBACK, port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def served(sock, payload=b"ping"):
    """Sends `payload` and reads until it comes back (sim:echo): True when it did."""
    try:
        sock.settimeout(IO_TIMEOUT)
        sock.sendall(payload)
        got = b""
        while payload not in got:
            chunk = sock.recv(1024)
            if not chunk:
                return False
            got += chunk
        return True
    except OSError:
        return False


def refused_before_any_byte(source, port):
    """A new connection from `source` is ended by the server (EOF or RST) without a byte."""
    try:
        s = connect_from(source, port)
    except (ConnectionResetError, ConnectionRefusedError):
        return True
    try:
        s.settimeout(IO_TIMEOUT)
        s.sendall(b"x")
        return s.recv(16) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def echo_port(number, port, device="sim:echo", **mode):
    """A TCP Server port on a line that sends back what it gets (sim:echo, sim:loopback)."""
    return tcp_server_port(number, device, port, sgtest.free_ports(1)[0],
                           serial=serial_settings(), max_connections=8, **mode)


def dos_events(gate, source):
    return [e for e in gate.events("--type", "security.dos_refused") if e["source"] == source]


def keep_served(port, stop, results):
    """Another port's client: echo after echo until `stop`; each result is True (served)."""
    with connect_from(OTHER, port) as s:
        i = 0
        while not stop.is_set():
            results.append(served(s, f"<{i}>".encode()))
            i += 1


@contextlib.contextmanager
def served_meanwhile(port):
    """Runs another port's client (keep_served) while the block floods; asserts afterwards that
    every one of its echoes was served."""
    stop, results = threading.Event(), []
    victim = threading.Thread(target=keep_served, args=(port, stop, results))
    victim.start()
    try:
        yield
    finally:
        stop.set()
        victim.join(IO_TIMEOUT * 2)
    assert results and all(results), f"the other port's client was not served: {results[-5:]}"


def connect_flood(port, count):
    """A bounded flood: `count` connections from FLOODER to `port`, each closed at once (a reset
    during connect is a refusal all the same). Returns its duration in seconds."""
    started = time.monotonic()
    for _ in range(count):
        try:
            connect_from(FLOODER, port, timeout=2).close()
        except OSError:
            pass
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # the victim keeps going a little after the flood
    return elapsed


def test_connection_flood_is_refused_per_source_while_another_port_is_served(admin_gate):
    flooded, other = sgtest.free_ports(2)
    admin_gate.serve(config=make_config(
        [echo_port(1, flooded), echo_port(2, other, "sim:loopback")],
        serial_dos={"connections_per_second_per_source": 5, "connection_burst_per_source": 10}),
        wait_ports=[flooded, other])
    with served_meanwhile(other):
        elapsed = connect_flood(flooded, 300)
    counters = {}

    def all_counted():
        counters.update(monitor(admin_gate, 1)["counters"])
        return counters["refused_dos"] + counters["connections"] + counters["refused"] == 300
    sgtest.wait_until(all_counted, IO_TIMEOUT, what="300 connections counted")
    # At most the burst (10) and what the rate (5/s) refilled during the flood got through.
    assert counters["connections"] + counters["refused"] <= 10 + 5 * (elapsed + 1), \
        (counters, elapsed)
    assert monitor(admin_gate, 2)["counters"]["refused_dos"] == 0
    # Another source is not affected by the flooder's bucket.
    with connect_from(OTHER, flooded) as s:
        assert served(s), "another source was refused on the flooded port"
    # AU-2: one event for the flooder's minute, Security/Warning, naming the port and the bound.
    events = admin_gate.wait_event("security.dos_refused", lambda e: e["source"] == FLOODER)
    assert len(dos_events(admin_gate, FLOODER)) == 1, dos_events(admin_gate, FLOODER)
    e = events[0]
    assert e["category"] == "Security" and e["severity"] == "Warning", e
    assert f"port 1 ({flooded}): connection rate above 5/s (burst 10)" in e["message"], e
    # The same counter in GET /status is served by the API tests (web/test_services.py).


def test_handshake_flood_on_an_encrypted_port_is_refused_while_another_port_is_served(
        admin_gate):
    """Issue 11 items 1 and 6: connections to a Secure Connection port each cost a handshake;
    beyond the source's handshake rate they are reset before the TLS handshake starts, while a
    client of another port keeps being served and another source still gets its handshake."""
    flooded, other = sgtest.free_ports(2)
    admin_gate.serve(config=make_config(
        [echo_port(1, flooded, security="encrypted"), echo_port(2, other, "sim:loopback")],
        serial_dos={"connections_per_second_per_source": 1000, "connection_burst_per_source": 1000,
                    "max_connections_per_source": 1024, "handshakes_per_second_per_source": 2,
                    "handshake_burst_per_source": 4}),
        wait_ports=[flooded, other])
    with served_meanwhile(other):
        elapsed = connect_flood(flooded, 100)  # connect, offer no ClientHello, leave
    counters = {}

    def refused_enough():
        counters.update(monitor(admin_gate, 1)["counters"])
        return counters["refused_dos"] >= 100 - (4 + 2 * (elapsed + 1))
    sgtest.wait_until(refused_enough, IO_TIMEOUT, what="the handshake flood refused")
    assert monitor(admin_gate, 2)["counters"]["refused_dos"] == 0
    events = admin_gate.wait_event("security.dos_refused", lambda e: e["source"] == FLOODER)
    assert "TLS handshake rate above 2/s (burst 4)" in events[0]["message"], events[0]
    # Another source still completes its handshake and is served over TLS.
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    with tls.wrap_socket(connect_from(OTHER, flooded)) as s:
        assert served(s), "another source was refused on the flooded port"


def test_concurrent_connections_per_source(admin_gate):
    (port,) = sgtest.free_ports(1)
    admin_gate.serve(config=make_config([echo_port(1, port)],
                                        serial_dos={"max_connections_per_source": 2}),
                     wait_ports=[port])
    a, b = connect_from(FLOODER, port), connect_from(FLOODER, port)
    try:
        assert served(a) and served(b)
        assert refused_before_any_byte(FLOODER, port), "a third connection from one source"
        with connect_from(OTHER, port) as c:
            assert served(c), "another source was refused"
        counters = monitor(admin_gate, 1)["counters"]
        assert counters["refused_dos"] == 1, counters
        assert counters["refused"] == 0, counters  # not the max_connections refusal
    finally:
        a.close()
        b.close()
    # Once one closes, the source may connect again.
    sgtest.wait_until(lambda: not refused_before_any_byte(FLOODER, port), IO_TIMEOUT,
                      what="a new connection after the others closed")


def test_off_refuses_nothing(admin_gate):
    (port,) = sgtest.free_ports(1)
    admin_gate.serve(config=make_config(
        [echo_port(1, port)],
        serial_dos={"enabled": False, "max_connections_per_source": 1,
                    "connections_per_second_per_source": 1, "connection_burst_per_source": 1}),
        wait_ports=[port])
    socks = [connect_from(FLOODER, port) for _ in range(4)]
    try:
        assert all(served(s) for s in socks)
        assert monitor(admin_gate, 1)["counters"]["refused_dos"] == 0
    finally:
        for s in socks:
            s.close()


def test_datagram_flood_is_dropped_per_source_while_another_port_is_served(admin_gate, pty):
    (other,) = sgtest.free_ports(1)
    (udp_port,) = sgtest.free_ports(1)
    admin_gate.serve(config=make_config(
        [{"port": 1, "device": pty.path, "serial": serial_settings(),
          "mode": {"type": "udp", "local_port": udp_port, "accept_from_any": True}},
         echo_port(2, other)],
        serial_dos={"datagrams_per_second_per_source": 20, "datagram_burst_per_source": 20}),
        wait_ports=[other])
    sgtest.wait_until(lambda: ("udp", udp_port) in admin_gate.listening(), sgtest.START_TIMEOUT,
                      what="UDP bound")
    started = time.monotonic()
    with served_meanwhile(other), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
        flood.bind((FLOODER, 0))
        for i in range(2000):
            flood.sendto(b"F", (LOOPBACK, udp_port))
            if i % 100 == 99:
                time.sleep(0.005)  # paced a little: the kernel's receive queue drops less
        time.sleep(0.3)
    # The line got the burst and what the rate refilled, not the flood.
    got = pty.read_for(1.0)
    elapsed = time.monotonic() - started
    assert 0 < len(got) <= 20 + 20 * elapsed, f"{len(got)} flood datagrams in {elapsed:.1f} s"
    counters = monitor(admin_gate, 1)["counters"]
    assert counters["refused_dos"] >= 500, counters  # (the kernel may drop some of the rest)
    # Another source has its own bucket: its datagram reaches the line.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((OTHER, 0))
        s.sendto(b"<other>", (LOOPBACK, udp_port))
    assert b"<other>" in pty.read_for(1.0) + pty.read_for(0.5)
    admin_gate.wait_event("security.dos_refused",
                          lambda e: e["source"] == FLOODER and "datagram rate" in e["message"])


def test_changed_settings_apply_to_the_next_connection(admin_gate):
    (port,) = sgtest.free_ports(1)
    cfg = make_config([echo_port(1, port)], serial_dos={"max_connections_per_source": 1})
    admin_gate.serve(config=cfg, wait_ports=[port])
    a = connect_from(FLOODER, port)
    try:
        assert served(a)
        assert refused_before_any_byte(FLOODER, port)
        # `config import` commits to the store; the running serve picks it up (no restart:
        # the first connection stays).
        cfg["serial_dos"] = {"max_connections_per_source": 3}
        admin_gate.import_config(cfg)
        sgtest.wait_until(lambda: not refused_before_any_byte(FLOODER, port),
                          sgtest.APPLY_TIMEOUT, what="the new bound in force")
        assert served(a), "the established connection did not survive the change"
    finally:
        a.close()
    # AU-2: the DoS-setting change is a Security event naming the key.
    admin_gate.wait_event("security.policy_changed",
                          lambda e: "serial_dos.max_connections_per_source: 1 -> 3" in e["message"])
