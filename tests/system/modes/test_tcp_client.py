"""modes/test_tcp_client.py: TCP Client mode (device ref. §3; issue 5 §4) against destinations
written here with plain sockets: connect at startup, data both ways, reconnect after an outage
(logged once), fan-out to two destinations, the designated local port, any_character and
inactivity connection control, and DSR/DCD control driven through a simulated null-modem cable
whose other end is a pair_slave port (its DTR is what a pair master says DSR is)."""

import random
import socket
import threading
import time

import pytest

import sgtest
from sgtest import Client, PairPeer, make_config, monitor, serial_settings

QUIET = 0.5  # "no connection / no data within" windows: only ever asserting absence


class Listener:
    """A destination: a listening socket on 127.0.0.1 (an OS-chosen port unless given)."""

    def __init__(self, port=0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:  # inherited by accepted sockets: a destination that buffers little
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind((sgtest.LOOPBACK, port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def accept(self, timeout=sgtest.IO_TIMEOUT):
        """The next connection from SerialGate as a Client-like object, or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            conn, addr = self.sock.accept()
        except socket.timeout:
            return None
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Accepted(conn, addr)

    def expect(self, timeout=sgtest.IO_TIMEOUT * 2):
        c = self.accept(timeout)
        assert c is not None, f"SerialGate did not connect to 127.0.0.1:{self.port}"
        return c

    def close(self):
        self.sock.close()


class Accepted(Client):
    def __init__(self, sock, addr):  # noqa: super().__init__ would connect
        self.sock = sock
        self.peer = addr
        self.local_port = sock.getsockname()[1]


@pytest.fixture
def listeners():
    made = []

    def make(port=0, rcvbuf=None):
        listener = Listener(port, rcvbuf)
        made.append(listener)
        return listener
    yield make
    for listener in made:
        listener.close()


def client_port(number, device, destinations, **mode):
    m = {"type": "tcp_client",
         "destinations": [d if isinstance(d, dict) else {"host": sgtest.LOOPBACK, "port": d}
                          for d in destinations]}
    m.update(mode)
    return {"port": number, "device": device, "serial": serial_settings(), "mode": m}


def slave_port(number, device, local_port):
    return {"port": number, "device": device, "serial": serial_settings(),
            "mode": {"type": "pair_slave", "local_port": local_port}}


def started(gate):
    gate.wait_event("serial.mode_started")


# ---------------------------------------------------------------- connect at startup


def test_startup_connects_and_carries_data_both_ways(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(1, pty.path, [dest.port])]))
    c = dest.expect()
    # The listener's accept can finish before serve has seen its connect complete; serial bytes
    # are only sent to a connected destination, so wait until serve lists it.
    sgtest.wait_peers(admin_gate, 1)
    pty.write(b"serial to destination")
    assert c.recv_exact(21) == b"serial to destination"
    c.send(b"destination to serial")
    assert pty.read_exact(21) == b"destination to serial"
    admin_gate.wait_event("serial.connected", lambda e: str(dest.port) in e["message"])
    p = monitor(admin_gate, 1)
    assert p["mode"] == "tcp_client" and len(p["peers"]) == 1
    assert p["peers"][0]["address"] == f"127.0.0.1:{dest.port}"


def test_reconnects_when_the_destination_returns_and_logs_the_outage_once(admin_gate, pty,
                                                                          free_ports, listeners):
    (port,) = free_ports(1)  # nothing listens here yet
    admin_gate.serve(config=make_config([client_port(1, pty.path, [port])]))
    admin_gate.wait_event("serial.unreachable", lambda e: str(port) in e["source"])
    time.sleep(2)  # at least two more attempts (0.5 s, 1 s) fail meanwhile
    assert len(admin_gate.events("--type", "serial.unreachable")) == 1, "outage logged per retry"

    dest = listeners(port)
    c = dest.expect(timeout=30)  # the backoff is at most 10 s
    sgtest.wait_peers(admin_gate, 1)  # serve has seen its connect complete (see above)
    pty.write(b"back")
    assert c.recv_exact(4) == b"back"

    # The destination drops the connection and goes away: a new outage, logged once more.
    c.close()
    dest.close()
    admin_gate.wait_event("serial.disconnected", lambda e: str(port) in e["message"])
    admin_gate.wait_event("serial.unreachable", lambda e: str(port) in e["source"], count=2)
    dest = listeners(port)
    c = dest.expect(timeout=30)
    c.send(b"again")
    assert pty.read_exact(5) == b"again"


def test_two_destinations_both_receive(admin_gate, pty, listeners):
    a, b = listeners(), listeners()
    admin_gate.serve(config=make_config([client_port(1, pty.path, [a.port, b.port])]))
    ca, cb = a.expect(), b.expect()
    sgtest.wait_peers(admin_gate, 1, 2)  # both destinations connected
    pty.write(b"to both")
    assert ca.recv_exact(7) == b"to both"
    assert cb.recv_exact(7) == b"to both"
    ca.send(b"[a]")
    cb.send(b"[b]")
    got = pty.read_exact(6)
    assert b"[a]" in got and b"[b]" in got, got


def test_one_destination_down_does_not_stop_the_other(admin_gate, pty, free_ports, listeners):
    (dead,) = free_ports(1)
    up = listeners()
    admin_gate.serve(config=make_config([client_port(1, pty.path, [dead, up.port])]))
    c = up.expect()
    sgtest.wait_peers(admin_gate, 1)
    admin_gate.wait_event("serial.unreachable", lambda e: str(dead) in e["source"])
    pty.write(b"only one")
    assert c.recv_exact(8) == b"only one"


def test_ignore_jammed_ip_skips_a_destination_that_stops_reading(admin_gate, pty, listeners):
    good, stuck = listeners(), listeners(rcvbuf=4096)
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [good.port, stuck.port], ignore_jammed_ip=True)]))
    cg, _cs = good.expect(), stuck.expect()  # _cs never reads
    sgtest.wait_peers(admin_gate, 1, 2)  # both destinations connected
    data = random.Random(5).randbytes(8 << 20)  # far more than the kernel buffers plus 256 KiB
    writer = threading.Thread(target=pty.write, args=(data, 120), daemon=True)
    writer.start()
    got = cg.recv_exact(len(data), timeout=120)
    writer.join(timeout=30)
    assert got == data, "the destination that reads lost data to the one that does not"
    assert monitor(admin_gate, 1)["counters"]["jammed_drops"] > 0
    admin_gate.wait_event("serial.jammed", lambda e: str(stuck.port) in e["source"])


def test_designated_local_port(admin_gate, pty, free_ports, listeners):
    (local,) = free_ports(1)
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [{"host": sgtest.LOOPBACK, "port": dest.port, "local_port": local}])]))
    c = dest.expect()
    assert c.peer[1] == local, f"connected from port {c.peer[1]}, designated {local}"
    # Reconnecting takes the same port again (SO_REUSEADDR past TIME_WAIT).
    c.close()
    c = dest.expect(timeout=30)
    assert c.peer[1] == local


def test_host_name_is_resolved(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [{"host": "localhost", "port": dest.port}])]))
    c = dest.expect()
    sgtest.wait_peers(admin_gate, 1)
    pty.write(b"by name")
    assert c.recv_exact(7) == b"by name"


# ---------------------------------------------------------------- connection control


def test_any_character_connects_on_the_first_byte(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [dest.port], connection_control="any_character/none")]))
    started(admin_gate)
    assert dest.accept(timeout=QUIET) is None, "connected before any serial byte"
    pty.write(b"Xfirst bytes")
    c = dest.expect()
    # The byte that made it connect, and what followed, arrive once connected.
    assert c.recv_exact(12) == b"Xfirst bytes"


def test_any_character_inactivity_disconnects_and_reconnects(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [dest.port], connection_control="any_character/inactivity_time",
        inactivity_time_ms=500)]))
    started(admin_gate)
    pty.write(b"wake")
    c = dest.expect()
    assert c.recv_exact(4) == b"wake"
    assert c.wait_closed(), "the idle connection was not closed"
    admin_gate.wait_event("serial.disconnected", lambda e: "inactivity" in e["message"])
    assert dest.accept(timeout=QUIET) is None, "reconnected without serial data"
    pty.write(b"more")
    c2 = dest.expect()
    assert c2.recv_exact(4) == b"more"


def test_activity_keeps_the_connection(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [dest.port], connection_control="any_character/inactivity_time",
        inactivity_time_ms=2000)]))
    started(admin_gate)
    pty.write(b"0")
    c = dest.expect()
    # 2.5 s of traffic from the destination, a byte every 0.1 s: never 2 s idle, even when a
    # loaded machine stretches a sleep (800 ms failed once at load average 10-20).
    for _ in range(25):
        c.send(b"k")
        time.sleep(0.1)
    assert pty.read_exact(25) == b"k" * 25
    pty.write(b"alive")
    assert c.recv_exact(6) == b"0alive", "closed although the line was never idle"


@pytest.mark.parametrize("control,line", [("dsr_on/dsr_off", "dsr"), ("dcd_on/dcd_off", "dcd")])
def test_modem_line_controls_the_connection(admin_gate, free_ports, listeners, control, line):
    """Port 1 (pair_slave) and port 2 (tcp_client) are the two ends of a simulated null-modem
    cable: port 2's DSR and DCD are port 1's DTR, which port 1 drives from the DSR its master
    (written here) reports. Port 1 starts first and drops DTR at once (no master yet)."""
    (drive,) = free_ports(1)
    dest = listeners()
    admin_gate.serve(config=make_config([
        slave_port(1, "sim:null-modem:cc", drive),
        client_port(2, "sim:null-modem:cc", [dest.port], connection_control=control),
    ]), wait_ports=[drive])
    admin_gate.wait_event("serial.mode_started", count=2)
    assert monitor(admin_gate, 2)["modem"][line] is False
    assert dest.accept(timeout=QUIET) is None, f"connected while {line.upper()} was off"

    master = PairPeer.connect(drive)
    master.wait_hello()
    master.send_lines(dsr=True)  # port 1 raises DTR: port 2 sees DSR and DCD on
    c = dest.expect()
    sgtest.wait_peers(admin_gate, 2)
    master.send_data(b"through")  # port 1 → cable → port 2 → destination
    assert c.recv_exact(7) == b"through"

    master.send_lines(dsr=False)  # DTR off: DSR/DCD off at port 2, which disconnects
    assert c.wait_closed(), f"still connected after {line.upper()} went off"
    admin_gate.wait_event("serial.disconnected",
                          lambda e: f"{line.upper()} off" in e["message"])
    master.send_lines(dsr=True)
    c = dest.expect()
    master.send_data(b"again")
    assert c.recv_exact(5) == b"again"


def test_dsr_on_none_stays_connected_after_dsr_drops(admin_gate, free_ports, listeners):
    (drive,) = free_ports(1)
    dest = listeners()
    admin_gate.serve(config=make_config([
        slave_port(1, "sim:null-modem:cn", drive),
        client_port(2, "sim:null-modem:cn", [dest.port], connection_control="dsr_on/none"),
    ]), wait_ports=[drive])
    master = PairPeer.connect(drive)
    master.wait_hello()
    master.send_lines(dsr=True)
    c = dest.expect()
    master.send_lines(dsr=False)
    sgtest.wait_until(lambda: monitor(admin_gate, 2)["modem"]["dsr"] is False, sgtest.IO_TIMEOUT,
                      what="DSR off at port 2")
    master.send_data(b"kept")
    assert c.recv_exact(4) == b"kept", "dsr_on/none disconnected when DSR went off"


def test_dsr_control_on_a_pty_says_why_it_never_connects(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [dest.port], connection_control="dsr_on/dsr_off")]))
    admin_gate.wait_event("serial.mode_failed", lambda e: "modem lines" in e["message"])
    assert dest.accept(timeout=QUIET) is None


# ---------------------------------------------------------------- stop


def test_stop_sends_what_is_held_and_closes(admin_gate, pty, listeners):
    dest = listeners()
    admin_gate.serve(config=make_config([client_port(
        1, pty.path, [dest.port], delimiter_1="0x0d")]))
    c = dest.expect()
    pty.write(b"held")  # no delimiter yet: the packer holds it
    assert c.recv_for(QUIET) == b""
    # Bytes serve read from the line before the stop still reach the destination.
    sgtest.wait_until(lambda: monitor(admin_gate, 1)["counters"]["serial_rx_bytes"] == 4,
                      sgtest.IO_TIMEOUT, what="serve to read the 4 bytes")
    admin_gate.stop()
    assert c.recv_exact(4) == b"held"
    assert c.wait_closed()


# ---------------------------------------------------------------- an outside peer


def test_socat_as_the_destination_carries_data_both_ways(admin_gate, pty, free_ports):
    """The destination is socat (TCP-LISTEN), a peer we did not write (issue 12 item 6)."""
    (port,) = free_ports(1)
    dest = sgtest.Socat(f"TCP-LISTEN:{port},bind={sgtest.LOOPBACK},reuseaddr")
    try:
        sgtest.wait_until(lambda: ("tcp", port) in sgtest.listening_sockets(dest.proc.pid),
                          sgtest.START_TIMEOUT, what="socat listening")
        admin_gate.serve(config=make_config([client_port(1, pty.path, [port])]))
        admin_gate.wait_event("serial.connected", lambda e: str(port) in e["message"])
        data = random.Random(12).randbytes(64 * 1024)
        pty.write(data)
        assert dest.read_exact(len(data)) == data
        dest.send(b"socat to serial")
        assert pty.read_exact(15) == b"socat to serial"
    finally:
        dest.close()
    # socat gone: the port notices and tries again.
    admin_gate.wait_event("serial.disconnected", lambda e: str(port) in e["message"])
