"""modes/test_tcp_server.py: TCP Server mode (device ref. §3) against a pty or a sim: port: both
directions byte-exact, fan-out, max connections, data packing (length, delimiters, force transmit),
inactivity time, and the simulated serial devices."""

import os
import random
import select
import threading
import time

import pytest

import sgtest
from sgtest import Client, connect_synced, make_config, tcp_server_port

QUIET = 0.3  # "not delivered within" windows: short, and only ever asserting absence


@pytest.fixture
def pty_port(admin_gate, pty, free_ports):
    """start(**mode settings) -> the local port of a tcp_server on `pty`, listening."""
    def start(**mode):
        local, command = free_ports(2)
        admin_gate.serve(config=make_config([tcp_server_port(1, pty.path, local, command, **mode)]),
                         wait_ports=[local])
        return local
    return start


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def assert_same(got, want, what):
    if got != want:
        i = first_difference(got, want)
        raise AssertionError(f"{what}: {len(got)} bytes received, {len(want)} sent; first "
                             f"difference at offset {i}: {got[i:i + 16]!r} != {want[i:i + 16]!r}")


def in_background(fn, *args):
    errors = []

    def body():
        try:
            fn(*args)
        except Exception as e:  # reported by the joiner
            errors.append(e)
    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, errors


# ---------------------------------------------------------------- both directions


def test_echo_through_pty(pty_port, pty):
    port = pty_port()
    c = Client(port)
    c.send(b"hello serial")
    assert pty.read_exact(12) == b"hello serial"
    pty.write(b"hello network")
    assert c.recv_exact(13) == b"hello network"
    c.close()


def test_one_mib_both_ways_intact(pty_port, pty):
    port = pty_port()
    c = connect_synced(port, pty, "big")
    rnd = random.Random(2217)
    up, down = rnd.randbytes(1 << 20), rnd.randbytes(1 << 20)
    t_up, err_up = in_background(c.send, up)
    t_down, err_down = in_background(pty.write, down)

    got_up, got_down = bytearray(), bytearray()
    deadline = time.monotonic() + 60
    while len(got_up) < len(up) or len(got_down) < len(down):
        left = deadline - time.monotonic()
        assert left > 0, (f"after 60 s: serial side got {len(got_up)} of {len(up)} bytes, client "
                          f"got {len(got_down)} of {len(down)}")
        r, _, _ = select.select([c.sock, pty.master], [], [], min(left, 1.0))
        if c.sock in r:
            chunk = c.sock.recv(1 << 16)
            assert chunk, f"connection closed after {len(got_down)} bytes"
            got_down += chunk
        if pty.master in r:
            try:
                got_up += os.read(pty.master, 1 << 16)
            except BlockingIOError:
                pass
    for t, errors in ((t_up, err_up), (t_down, err_down)):
        t.join(timeout=30)
        assert not errors, errors
    assert_same(bytes(got_up), up, "client -> serial")
    assert_same(bytes(got_down), down, "serial -> client")
    assert pty.read_for(QUIET) == b"" and c.recv_for(QUIET) == b"", "extra bytes after 1 MiB"


# ---------------------------------------------------------------- connections


def test_fan_out_to_three_clients(pty_port, pty):
    port = pty_port(max_connections=3)
    clients = [connect_synced(port, pty, f"c{i}") for i in range(3)]
    pty.write(b"to-everyone")
    for i, c in enumerate(clients):
        assert c.recv_exact(11) == b"to-everyone", f"client {i}"
    tokens = [f"[from-{i}]".encode() for i in range(3)]
    for c, tok in zip(clients, tokens):
        c.send(tok)
    got = pty.read_exact(sum(map(len, tokens)))
    for tok in tokens:
        assert tok in got, f"{tok!r} did not reach the serial side intact: {got!r}"


def test_max_connections_refuses_extra_client(pty_port, pty, admin_gate):
    port = pty_port(max_connections=2)
    a = connect_synced(port, pty, "a")
    b = connect_synced(port, pty, "b")
    third = Client(port)  # the kernel accepts; serve must close it at once
    try:
        third.send(b"X")
    except OSError:
        pass
    assert third.wait_closed(timeout=sgtest.IO_TIMEOUT), "the third client was not closed"

    pty.write(b"still-here")
    assert a.recv_exact(10) == b"still-here"
    assert b.recv_exact(10) == b"still-here"
    a.send(b"A")
    b.send(b"B")
    got = pty.read_exact(2) + pty.read_for(QUIET)
    assert sorted(got) == sorted(b"AB"), f"serial side got {got!r} (the refused client's byte?)"
    peer = f"127.0.0.1:{third.local_port}"
    admin_gate.wait_event("serial.refused", lambda e: peer in f"{e['source']} {e['message']}")

    # Closing one of the two frees its slot.
    a_peer = f"127.0.0.1:{a.local_port}"
    a.close()
    admin_gate.wait_event("serial.disconnected",
                          lambda e: a_peer in f"{e['source']} {e['message']}")
    d = connect_synced(port, pty, "d")
    pty.write(b"again")
    assert d.recv_exact(5) == b"again"
    assert b.recv_exact(5) == b"again"


# ---------------------------------------------------------------- data packing (serial -> network)


PACKING = [
    # id, mode settings, chunks that must be held, the chunk that releases, what the client gets
    ("packing-length-8", dict(packing_length=8), [b"abc"], b"defgh", b"abcdefgh"),
    ("delimiter", dict(delimiter_1="0x0d"), [b"abc"], b"\r", b"abc\r"),
    ("delimiter-pair", dict(delimiter_1="0x0d", delimiter_2="0x0a"), [b"abc", b"\r"], b"\n",
     b"abc\r\n"),
    ("strip-delimiter", dict(delimiter_1="0x0d", delimiter_process="strip_delimiter"), [b"abc"],
     b"\r", b"abc"),
    ("delimiter-plus-1", dict(delimiter_1="0x0d", delimiter_process="delimiter_plus_1"),
     [b"abc\r"], b"X", b"abc\rX"),
    ("delimiter-plus-2", dict(delimiter_1="0x0d", delimiter_process="delimiter_plus_2"),
     [b"abc\r", b"X"], b"Y", b"abc\rXY"),
]


@pytest.mark.parametrize("mode,held,release,expected", [c[1:] for c in PACKING],
                         ids=[c[0] for c in PACKING])
def test_packing(pty_port, pty, mode, held, release, expected):
    port = pty_port(**mode)
    c = connect_synced(port, pty, "pack")
    for chunk in held:
        pty.write(chunk)
        early = c.recv_for(QUIET)
        assert early == b"", f"{early!r} delivered before the packing rule was met"
    pty.write(release)
    assert c.recv_exact(len(expected)) == expected
    late = c.recv_for(QUIET)
    assert late == b"", f"unexpected bytes after the packet: {late!r}"


def test_delimiter_splits_the_stream(pty_port, pty):
    port = pty_port(delimiter_1="0x0d")
    c = connect_synced(port, pty, "split")
    pty.write(b"one\rtw")
    assert c.recv_exact(4) == b"one\r"
    assert c.recv_for(QUIET) == b"", "bytes after the delimiter must wait for the next one"
    pty.write(b"o\r")
    assert c.recv_exact(4) == b"two\r"


def test_force_transmit(pty_port, pty):
    port = pty_port(force_transmit_ms=300)
    c = connect_synced(port, pty, "force")
    pty.write(b"ab")
    early = c.recv_for(0.1)
    assert early == b"", f"{early!r} delivered before the 300 ms force-transmit timer"
    assert c.recv_exact(2, timeout=5) == b"ab"


# ---------------------------------------------------------------- inactivity time


def test_inactivity_time_closes_idle_client(pty_port, pty):
    port = pty_port(inactivity_time_ms=500)
    c = connect_synced(port, pty, "idle")
    for _ in range(12):  # 1.2 s of traffic, never 500 ms idle: must stay open
        c.send(b"k")
        time.sleep(0.1)
    assert pty.read_exact(12) == b"k" * 12
    pty.write(b"alive")
    assert c.recv_exact(5) == b"alive", "closed although the line was never idle for 500 ms"
    assert c.wait_closed(timeout=sgtest.IO_TIMEOUT), "an idle client was not closed"


# ---------------------------------------------------------------- simulated serial devices


def exchange(c, data):
    t, errors = in_background(c.send, data)
    got = c.recv_exact(len(data), timeout=30)
    t.join(timeout=30)
    assert not errors, errors
    return got


def test_sim_echo(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command)]),
                     wait_ports=[local])
    c = Client(local)
    c.send(b"ping")
    assert c.recv_exact(4) == b"ping"
    data = random.Random(7).randbytes(64 * 1024)
    assert_same(exchange(c, data), data, "sim:echo")


def sync_pair(src, dst, timeout=sgtest.IO_TIMEOUT):
    """Pings src -> dst until dst's session receives, then drains late pings."""
    deadline = time.monotonic() + timeout
    i = 0
    while not dst.recv_for(0.2):
        assert time.monotonic() < deadline, "no byte crossed the null-modem pair"
        src.send(b"<ping%d>" % i)
        i += 1
    while dst.recv_for(QUIET):
        pass


def test_sim_null_modem_between_two_ports(admin_gate, free_ports):
    l1, c1, l2, c2 = free_ports(4)
    admin_gate.serve(config=make_config([
        tcp_server_port(1, "sim:null-modem:x", l1, c1),
        tcp_server_port(2, "sim:null-modem:x", l2, c2),
    ]), wait_ports=[l1, l2])
    one, two = Client(l1), Client(l2)
    sync_pair(one, two)
    sync_pair(two, one)
    data = random.Random(9).randbytes(4096)
    one.send(data)
    assert_same(two.recv_exact(len(data)), data, "port 1 -> port 2")
    back = random.Random(10).randbytes(4096)
    two.send(back)
    assert_same(one.recv_exact(len(back)), back, "port 2 -> port 1")


def test_sim_generator_produces_data(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:generator:50", local, command)]),
                     wait_ports=[local])
    c = Client(local)
    assert c.recv_exact(1, timeout=sgtest.IO_TIMEOUT)


def test_pyserial_socket_client(pty_port, pty):
    """A peer we did not write: pyserial's socket:// transport as the network client."""
    import serial  # python3-serial

    port = pty_port()
    s = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=sgtest.IO_TIMEOUT)
    try:
        s.write(b"from pyserial")
        assert pty.read_exact(13) == b"from pyserial"
        pty.write(b"to pyserial\r\n")
        assert s.read(13) == b"to pyserial\r\n"
    finally:
        s.close()
