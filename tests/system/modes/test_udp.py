"""modes/test_udp.py: UDP mode (device ref. §3; issue 5 §5) with plain datagram sockets on
loopback addresses standing in for other hosts: serial data to every address of every destination
range, datagrams from inside a range to the serial line, from outside dropped and counted unless
accept_from_any, and data packing deciding the datagram boundaries."""

import socket

import pytest

import sgtest
from sgtest import make_config, monitor, serial_settings

QUIET = 0.5  # only ever used to assert absence


def udp_port(number, device, local_port, destinations, **mode):
    m = {"type": "udp", "local_port": local_port,
         "destinations": [{"begin": b, "end": e, "port": p} for b, e, p in destinations]}
    m.update(mode)
    return {"port": number, "device": device, "serial": serial_settings(), "mode": m}


class Peer:
    """A UDP socket on one loopback address ("another host")."""

    def __init__(self, address, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.address, self.port = self.sock.getsockname()

    def send_to(self, port, data):
        self.sock.sendto(data, (sgtest.LOOPBACK, port))

    def recv(self, timeout=sgtest.IO_TIMEOUT):
        """One datagram and its source, or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recvfrom(1 << 16)
        except socket.timeout:
            return None

    def close(self):
        self.sock.close()


@pytest.fixture
def peers():
    made = []

    def make(address, port=0):
        p = Peer(address, port)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


def free_udp_port(addresses):
    """A UDP port free on every one of `addresses`."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addresses[0], 0))
        port = s.getsockname()[1]
        others = []
        try:
            for a in addresses[1:]:
                o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                o.bind((a, port))
                others.append(o)
            return port
        except OSError:
            continue
        finally:
            s.close()
            for o in others:
                o.close()
    raise AssertionError("no UDP port free on all of " + ", ".join(addresses))


def serve_udp(gate, device, destinations, **mode):
    local = free_udp_port([sgtest.LOOPBACK])
    gate.serve(config=make_config([udp_port(1, device, local, destinations, **mode)]))
    sgtest.wait_until(lambda: ("udp", local) in gate.listening(), sgtest.START_TIMEOUT,
                      what=f"serve to bind UDP {local}")
    return local


def test_serial_data_goes_to_every_address_of_every_range(admin_gate, pty, peers):
    p1 = free_udp_port(["127.0.0.2", "127.0.0.3"])
    p2 = free_udp_port(["127.0.0.4", "127.0.0.5"])
    receivers = [peers("127.0.0.2", p1), peers("127.0.0.3", p1),
                 peers("127.0.0.4", p2), peers("127.0.0.5", p2)]
    local = serve_udp(admin_gate, pty.path,
                      [("127.0.0.2", "127.0.0.3", p1), ("127.0.0.4", "127.0.0.5", p2)])
    pty.write(b"to every host")
    for r in receivers:
        got = r.recv()
        assert got is not None, f"{r.address}:{r.port} received nothing"
        data, source = got
        assert data == b"to every host"
        assert source == (sgtest.LOOPBACK, local), f"sent from {source}, not the local port"
    outside = peers("127.0.0.6", p2)  # next to a range, not in it
    pty.write(b"again")
    assert receivers[3].recv()[0] == b"again"
    assert outside.recv(timeout=QUIET) is None, "a host outside the ranges received data"


def test_datagram_from_inside_a_range_reaches_serial(admin_gate, pty, peers):
    local = serve_udp(admin_gate, pty.path, [("127.0.0.2", "127.0.0.4", 4001)])
    inside = peers("127.0.0.3")
    inside.send_to(local, b"from a listed host")
    assert pty.read_exact(18) == b"from a listed host"
    assert monitor(admin_gate, 1)["counters"]["net_rx_bytes"] == 18


def test_datagram_from_outside_is_dropped_and_counted(admin_gate, pty, peers):
    local = serve_udp(admin_gate, pty.path, [("127.0.0.2", "127.0.0.4", 4001)])
    outside, inside = peers("127.0.0.9"), peers("127.0.0.2")
    outside.send_to(local, b"intruder")
    outside.send_to(local, b"intruder again")
    inside.send_to(local, b"friend")  # sent after: once it is through, the others were handled
    assert pty.read_exact(6) == b"friend"
    assert pty.read_for(QUIET) == b"", "a datagram from outside the ranges reached serial"
    events = admin_gate.wait_event("serial.datagram_dropped",
                                   lambda e: e["source"].startswith("127.0.0.9:"))
    assert len(events) == 1, "the drop event is rate-limited: one for a burst"
    counters = monitor(admin_gate, 1)["counters"]
    assert counters["refused"] == 2, counters
    assert counters["serial_tx_bytes"] == 6


def test_accept_from_any(admin_gate, pty, peers):
    local = serve_udp(admin_gate, pty.path, [("127.0.0.2", "127.0.0.2", 4001)],
                      accept_from_any=True)
    peers("127.0.0.9").send_to(local, b"anyone")
    assert pty.read_exact(6) == b"anyone"


def test_no_destinations_receives_nothing_by_default(admin_gate, pty, peers):
    local = serve_udp(admin_gate, pty.path, [])
    peers("127.0.0.2").send_to(local, b"nobody listed")
    assert pty.read_for(QUIET) == b""
    pty.write(b"nowhere to go")  # and serial data is dropped without error
    admin_gate.check_alive()


def test_packing_decides_datagram_boundaries(admin_gate, pty, peers):
    port = free_udp_port(["127.0.0.2"])
    r = peers("127.0.0.2", port)
    serve_udp(admin_gate, pty.path, [("127.0.0.2", "127.0.0.2", port)], delimiter_1="0x0a")
    pty.write(b"one ")
    assert r.recv(timeout=QUIET) is None, "sent before the delimiter"
    pty.write(b"line\ntwo")
    assert r.recv()[0] == b"one line\n"
    assert r.recv(timeout=QUIET) is None
    pty.write(b"\n")
    assert r.recv()[0] == b"two\n"


def test_echo_device_answers_the_sender(admin_gate, peers):
    """sim:echo as the serial device: what a listed host sends comes back to every listed host."""
    port = free_udp_port(["127.0.0.2", "127.0.0.3"])
    a, b = peers("127.0.0.2", port), peers("127.0.0.3", port)
    local = serve_udp(admin_gate, "sim:echo", [("127.0.0.2", "127.0.0.3", port)])
    a.send_to(local, b"ping")
    assert a.recv()[0] == b"ping"
    assert b.recv()[0] == b"ping"


def test_socat_peer_both_ways(admin_gate, pty):
    """A peer we did not write (issue 12 item 6): socat on 127.0.0.2, connected to the port's
    local UDP port, inside the destination range."""
    p = free_udp_port(["127.0.0.2"])
    local = serve_udp(admin_gate, pty.path, [("127.0.0.2", "127.0.0.2", p)])
    peer = sgtest.Socat(f"UDP:{sgtest.LOOPBACK}:{local},bind=127.0.0.2:{p}")
    try:
        peer.send(b"from socat")  # binds socat's socket before anything is sent to it
        assert pty.read_exact(10) == b"from socat"
        pty.write(b"to socat")
        assert peer.read_exact(8) == b"to socat"  # UDP connect: only from the port's local port
        assert monitor(admin_gate, 1)["counters"]["net_rx_bytes"] == 10
    finally:
        peer.close()
