"""modes/test_stalled_line.py: a network peer against a serial line that does not take its bytes
(issue 14, items 1-3): the line is stalled by hardware flow control with CTS off, as a client can
make it on a loopback plug (SET-CONTROL hardware flow, then RTS off) or as a device that never
raises CTS leaves it (end A of a null-modem cable whose end B nobody opened).

Each test performs the attack through the real binary and checks the bound or the outcome, never a
time: serve's VmRSS stays within a stated growth while a client floods requests (1); after a client
that left while its write was blocked, a new client is served and the line is as configured again
(2); RFC 2217 answers PURGE-DATA, FLOWCONTROL-SUSPEND and SET-CONTROL while the write is blocked
(3)."""

import socket
import time

import pytest

import sgtest
from sgtest import (Client, make_config, monitor, serial_settings, tcp_server_port,
                    wait_until)

from test_rfc2217 import (IAC, TelnetPeer, port_status, rfc2217_port)  # noqa: E402

NOP, BRK = 241, 243
SIGNATURE, SET_CONTROL, FLOW_SUSPEND, FLOW_RESUME, PURGE = 0, 5, 8, 9, 12
SERVER = 100  # server answers carry the client's code + 100 (RFC 2217 §3)
QUIET = 0.5

RSS_GROWTH_LIMIT_KIB = 48 * 1024  # the unbounded queues grew by ~1 GiB in 2 s here


@pytest.fixture(autouse=True)
def small_quarantine(monkeypatch):
    sgtest.small_asan_quarantine(monkeypatch)


def stall(peer):
    """Hardware flow control, then RTS off: on a loopback plug CTS follows RTS, so the line stops
    taking bytes (the reproduction of the review)."""
    peer.sb(SET_CONTROL, bytes([3]))
    assert peer.answer(SET_CONTROL + SERVER) == bytes([3])
    peer.sb(SET_CONTROL, bytes([12]))
    assert peer.answer(SET_CONTROL + SERVER) == bytes([12])


def flood(sock, unit, total, stalled_after=2.0):
    """Sends `unit` repeated up to `total` bytes; stops early once the server has stopped reading
    for `stalled_after` seconds (its TCP window closed: the bound works). Returns bytes sent."""
    sock.settimeout(stalled_after)
    block = unit * (65536 // len(unit))
    sent = 0
    try:
        while sent < total:
            sent += sock.send(block)
    except (socket.timeout, BlockingIOError):
        pass
    except OSError:
        pass  # closed by the server: also not growing
    return sent


def still_open(client, seconds=QUIET):
    """True when the server neither closed nor reset `client` within `seconds`."""
    client.sock.settimeout(seconds)
    try:
        data = client.sock.recv(65536, socket.MSG_PEEK)
        return data != b""
    except socket.timeout:
        return True
    except OSError:
        return False


def new_client_served(port, timeout=10.0):
    """Waits until a new client on `port` is kept open (a refused one reads EOF at once)."""
    kept = []

    def try_once():
        c = Client(port)
        if still_open(c):
            kept.append(c)
            return True
        c.close()
        return False
    wait_until(try_once, timeout, interval=0.1, what=f"a new client kept on port {port}")
    return kept[0]


@pytest.fixture
def loopback(admin_gate, free_ports):
    (port,) = free_ports(1)
    admin_gate.serve(config=make_config([rfc2217_port(1, "sim:loopback", port)]),
                     wait_ports=[port])
    return port


# ---------------------------------------------------------------- item 1: bounded memory


@pytest.mark.parametrize("what,unit", [
    ("IAC BRK", bytes([IAC, BRK])),
    ("SET-CONTROL 12", bytes([IAC, 250, 44, SET_CONTROL, 12, IAC, 240])),
])
def test_rfc2217_request_flood_behind_a_stalled_write_keeps_memory_bounded(admin_gate, loopback,
                                                                           what, unit):
    peer = TelnetPeer(loopback)
    stall(peer)
    peer.send_raw(b"x" + bytes([IAC, NOP]))
    with sgtest.PeakRss(admin_gate.proc.pid) as rss:
        sent = flood(peer.client.sock, unit, 30 << 20)
    print(f"{what}: sent {sent} bytes; VmRSS {rss.before} -> peak {rss.peak} KiB")
    assert sent < 30 << 20, f"serve read all {sent} bytes of {what} behind a stalled write"
    assert rss.growth < RSS_GROWTH_LIMIT_KIB, (
        f"VmRSS grew by {rss.growth} KiB during a flood of {what}")
    admin_gate.check_alive()


# ---------------------------------------------------------------- item 2: a client that left


def test_rfc2217_client_that_left_during_a_blocked_write_frees_the_port(admin_gate, loopback):
    a = TelnetPeer(loopback)
    stall(a)
    a.write(b"x" * 1000)  # waits for CTS, which never comes
    time.sleep(QUIET)
    assert port_status(admin_gate, 1)["peers"], "the first client is not listed"
    a.close()

    b = new_client_served(loopback)
    b.close()
    wait_until(lambda: not port_status(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
               what="the probe client gone")
    peer = TelnetPeer(loopback)
    # The line as configured again: RTS on (so CTS on the plug), no flow control, and the
    # departed client's bytes are not sent to the new one.
    peer.sb(SET_CONTROL, bytes([10]))  # RTS state?
    assert peer.answer(SET_CONTROL + SERVER) == bytes([11]), "RTS not restored to on"
    peer.sb(SET_CONTROL, bytes([0]))  # outbound flow control?
    assert peer.answer(SET_CONTROL + SERVER) == bytes([1]), "flow control not restored to none"
    peer.write(b"after")
    assert peer.read(5) == b"after"
    assert b"x" not in peer.read_for(QUIET), "the departed client's bytes went out"


def null_modem_stalled_config(mode_port):
    """Port 1 on end A of a null-modem cable whose end B nobody opened: with RTS/CTS flow control
    CTS stays off, so the line never takes a byte."""
    return make_config([dict(mode_port, device="sim:null-modem:stall",
                             serial=serial_settings(flow_control="rts_cts"))])


@pytest.mark.parametrize("mode", ["tcp_server", "real_com"])
def test_a_client_that_left_during_a_blocked_write_frees_the_port(admin_gate, free_ports, mode):
    data, command = free_ports(2)
    if mode == "tcp_server":
        port = tcp_server_port(1, "sim:null-modem:stall", data, command, max_connections=1)
    else:
        port = {"port": 1, "device": "sim:null-modem:stall",
                "mode": {"type": "real_com", "data_port": data, "command_port": command,
                         "max_connections": 1}}
    admin_gate.serve(config=null_modem_stalled_config(port), wait_ports=[data])
    a = Client(data)
    a.send(b"y" * 70000)  # more than one read: the session waits on the line
    sgtest.wait_peers(admin_gate, 1)  # client A listed
    a.close()

    b = new_client_served(data)
    peers = monitor(admin_gate, 1)["peers"]
    assert [p["address"] for p in peers] == [f"127.0.0.1:{b.local_port}"], peers
    b.close()


def test_tcp_server_slow_line_keeps_bytes_of_a_client_that_closed(admin_gate, free_ports):
    """The other side of item 2: a client that sent its bytes and closed while the line still
    moves is not cut off — its bytes all reach the line (the departed client only loses bytes the
    line does not take)."""
    data, command, far, far_command = free_ports(4)
    admin_gate.serve(config=make_config([
        tcp_server_port(1, "sim:null-modem:slow", data, command),
        tcp_server_port(2, "sim:null-modem:slow", far, far_command),
    ]), wait_ports=[data, far])
    reader = sgtest.served_client(admin_gate, 2, far)  # port 2 drops the line's bytes before
    payload = bytes(range(256)) * 2048  # 512 KiB
    a = Client(data)
    a.send(payload)
    a.close()
    assert reader.recv_exact(len(payload), timeout=60) == payload


def test_rfc2217_bytes_sent_before_close_all_reach_the_line(admin_gate, free_ports):
    """RFC 2217's reader reads ahead of the line now (item 3); a client's FIN must still let its
    queued bytes out (pyserial's write() then close())."""
    data, far, far_command = free_ports(3)
    admin_gate.serve(config=make_config([
        rfc2217_port(1, "sim:null-modem:tail", data),
        tcp_server_port(2, "sim:null-modem:tail", far, far_command),
    ]), wait_ports=[data, far])
    reader = sgtest.served_client(admin_gate, 2, far)  # port 2 drops the line's bytes before
    payload = bytes(range(256)) * 2048  # 512 KiB, IAC-escaped by write()
    a = TelnetPeer(data)
    a.write(payload)
    a.client.sock.shutdown(socket.SHUT_WR)
    assert reader.recv_exact(len(payload), timeout=60) == payload
    a.close()


# ---------------------------------------------------------------- item 3: heard while blocked


def test_rfc2217_requests_are_answered_while_the_write_is_blocked(admin_gate, loopback):
    peer = TelnetPeer(loopback)
    stall(peer)
    peer.write(b"z" * 100)  # data only: the read the server used to write from its reader
    time.sleep(QUIET)  # read alone (data and a request in one read were always heard)
    # FLOWCONTROL-SUSPEND/RESUME have no answer (RFC 2217 §5); the SIGNATURE asked right after
    # them is answered only once they were read.
    peer.sb(FLOW_SUSPEND)
    peer.sb(FLOW_RESUME)
    peer.sb(SIGNATURE)
    assert peer.answer(SIGNATURE + SERVER).startswith(b"SerialGate")
    peer.sb(PURGE, bytes([2]))  # transmit buffer: the blocked bytes go
    assert peer.answer(PURGE + SERVER) == bytes([2])
    peer.sb(SET_CONTROL, bytes([11]))  # RTS on: CTS on again
    assert peer.answer(SET_CONTROL + SERVER) == bytes([11])
    assert b"z" not in peer.read_for(QUIET), "purged bytes reached the line"
    peer.write(b"moving")
    assert peer.read(6) == b"moving"


def test_rfc2217_rts_on_releases_a_write_stalled_by_rts_off(admin_gate, loopback):
    """SET-CONTROL RTS on runs at once, like a UART's modem-control register: a client that
    dropped RTS under hardware flow control raises it again while its bytes wait for CTS."""
    peer = TelnetPeer(loopback)
    stall(peer)
    peer.write(b"held")
    peer.sb(SET_CONTROL, bytes([11]))
    assert peer.answer(SET_CONTROL + SERVER) == bytes([11])
    assert peer.read(4) == b"held"


# ---------------------------------------------------------------- the modes that are not servers
#
# TCP Client and Pair Connection write what their peer sends to the serial line as TCP Server does;
# a peer that leaves while that write waits on a line that takes nothing must not hold the port
# (the steering note of issue 12): the next connection is served.


def send_pair_data(peer, total):
    """`total` bytes of DATA in frames of the protocol's maximum (4096), more than the line takes."""
    chunk = b"p" * 4096
    for _ in range(total // len(chunk)):
        peer.send_data(chunk)


def stalled_mode_port(mode):
    return {"port": 1, "device": "sim:null-modem:stall",
            "serial": serial_settings(flow_control="rts_cts"), "mode": mode}


def test_tcp_client_destination_that_left_during_a_blocked_write_is_reconnected(admin_gate):
    from test_tcp_client import Listener
    dest = Listener()
    try:
        admin_gate.serve(config=make_config([stalled_mode_port(
            {"type": "tcp_client",
             "destinations": [{"host": sgtest.LOOPBACK, "port": dest.port}]})]))
        a = dest.expect()
        a.send(b"y" * 70000)  # more than one read: the link waits on the line
        wait_until(lambda: monitor(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
                   what="destination A connected")
        a.close()
        # The link ends the connection it can no longer serve and connects again (backoff 0.5 s);
        # before, it waited on the line for ever and never reconnected.
        b = dest.expect(timeout=30)
        assert still_open(b), "the new connection was closed at once"
        admin_gate.wait_event("serial.disconnected", lambda e: "took nothing" in e["message"])
        wait_until(lambda: monitor(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
                   what="destination B listed")
        b.close()
    finally:
        dest.close()


def test_pair_slave_master_that_left_during_a_blocked_write_frees_the_slot(admin_gate, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([stalled_mode_port(
        {"type": "pair_slave", "local_port": local})]), wait_ports=[local])
    a = sgtest.PairPeer.connect(local)
    assert a.wait_hello() == b"SGPC\x01\x01"
    send_pair_data(a, 70000)
    wait_until(lambda: monitor(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT, what="master A listed")
    a.close()

    served = []

    def new_master():
        # A second master is refused while the first one's session lives (closed, no HELLO).
        p = sgtest.PairPeer.connect(local)
        try:
            p.wait_hello(timeout=2)
        except AssertionError:
            p.close()
            return False
        served.append(p)
        return True
    wait_until(new_master, 30, interval=0.2, what="a new master served")
    peers = monitor(admin_gate, 1)["peers"]
    assert [p["address"] for p in peers] == [f"127.0.0.1:{served[0].local_port}"], peers
    admin_gate.wait_event("serial.disconnected", lambda e: "took nothing" in e["message"])
    served[0].close()


def test_pair_master_slave_that_left_during_a_blocked_write_is_reconnected(admin_gate):
    from test_tcp_client import Listener
    dest = Listener()
    try:
        admin_gate.serve(config=make_config([stalled_mode_port(
            {"type": "pair_master", "host": sgtest.LOOPBACK, "port": dest.port})]))
        conn = dest.expect()
        a = sgtest.PairPeer(conn.sock, "slave")
        a.send(sgtest.pair_hello("slave"))
        assert a.wait_hello() == b"SGPC\x01\x00"
        send_pair_data(a, 70000)
        wait_until(lambda: monitor(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
                   what="slave A listed")
        a.close()
        # The master ends the session it can no longer serve and connects again (backoff).
        conn_b = dest.expect(timeout=30)
        b = sgtest.PairPeer(conn_b.sock, "slave")
        b.send(sgtest.pair_hello("slave"))
        assert b.wait_hello() == b"SGPC\x01\x00", "the new connection was not served"
        admin_gate.wait_event("serial.disconnected", lambda e: "took nothing" in e["message"])
        b.close()
    finally:
        dest.close()
