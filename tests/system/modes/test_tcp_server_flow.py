"""modes/test_tcp_server_flow.py: TCP Server mode under pressure and at the edges of a
connection's life: a client that stops reading (ignore_jammed_ip: skipped, or backpressure on the
serial side; docs/architecture.md "One byte's path"), the TCP alive check (kernel keepalive on the
accepted socket), and a graceful stop that delivers what serve had read (held packing bytes
included) and is bounded by the drain timeout even when a client never reads."""

import fcntl
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import termios
import threading
import time

import pytest

import sgtest
from sgtest import Client, connect_synced, make_config, tcp_server_port
import test_tcp_server  # the sibling module: its helpers and its pty_port fixture

QUIET = test_tcp_server.QUIET
assert_same = test_tcp_server.assert_same
pty_port = test_tcp_server.pty_port  # a fixture: start(**mode settings) -> listening local port
STALL = 1.0  # "nothing more arrives" when asserting that a stream is held back
TOTAL = 8 << 20  # the bulk transfer of the jam tests

# A counter pattern, 8 bytes a token ("000a3f1\n"): the offset of a difference names the token.
BULK = b"".join(b"%07x\n" % i for i in range(TOTAL // 8))
assert len(BULK) == TOTAL



class Feeder:
    """Writes `data` into the pty master from a thread, never blocking for long: a full pty (serve
    not reading) just waits. stop() ends it; `written` counts what the pty took."""

    def __init__(self, pty, data, deadline=120.0):
        self.pty, self.data, self.deadline = pty, data, deadline
        self.written = 0
        self.last_write = time.monotonic()
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        view = memoryview(self.data)
        end = time.monotonic() + self.deadline
        try:
            while self.written < len(self.data) and not self._stop.is_set():
                if time.monotonic() > end:
                    raise AssertionError(f"the pty took {self.written} of {len(self.data)} "
                                         f"bytes within {self.deadline} s")
                _, w, _ = select.select([], [self.pty.master], [], 0.1)
                if not w:
                    continue
                try:
                    n = os.write(self.pty.master, view[self.written:self.written + (1 << 16)])
                except BlockingIOError:
                    continue
                self.written += n
                self.last_write = time.monotonic()
        except Exception as e:  # reported by join()
            self.errors.append(e)

    @property
    def done(self):
        return self.written == len(self.data)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def join(self, timeout=sgtest.IO_TIMEOUT * 3):
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), f"the pty writer is still busy ({self.written} bytes)"
        assert not self.errors, self.errors


def read_stream(client, want, idle, deadline=60.0):
    """Reads until `want` bytes came, or nothing came for `idle` s, or EOF, or `deadline`."""
    buf = bytearray()
    end = time.monotonic() + deadline
    while len(buf) < want and time.monotonic() < end:
        chunk = client._recv(min(want - len(buf), 1 << 20), min(idle, end - time.monotonic()))
        if not chunk:  # None: idle for `idle` s; b"": closed
            break
        buf += chunk
    return bytes(buf)


def non_reading_client(port, pty, tag):
    """A client with a tiny receive buffer that, once synced, never reads."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: fixes the window
    s.settimeout(sgtest.IO_TIMEOUT)
    s.connect((sgtest.LOOPBACK, port))
    marker = f"<sync:{tag}>".encode()
    s.sendall(marker)
    assert pty.read_exact(len(marker)) == marker
    return s


# ---------------------------------------------------------------- a client that stops reading


def test_ignore_jammed_ip_skips_the_jammed_client(pty_port, pty, admin_gate):
    port = pty_port(max_connections=2, ignore_jammed_ip=True)
    a = connect_synced(port, pty, "a")
    b = non_reading_client(port, pty, "b")
    b_peer = "127.0.0.1:%d" % b.getsockname()[1]
    feeder = Feeder(pty, BULK)
    try:
        got = read_stream(a, TOTAL, idle=5.0)
        assert_same(got, BULK, "the reading client, next to a jammed one")
        feeder.join()
    finally:
        feeder.stop()
        b.close()
    a_peer = f"127.0.0.1:{a.local_port}"
    admin_gate.wait_event("serial.jammed", lambda e: b_peer in f"{e['source']} {e['message']}")
    jammed = admin_gate.events("--type", "serial.jammed")
    assert not [e for e in jammed if a_peer in f"{e['source']} {e['message']}"], \
        f"the client that read everything was reported jammed: {jammed}"


def test_without_ignore_jammed_ip_a_jammed_client_pauses_the_serial_side(pty_port, pty):
    port = pty_port(max_connections=2, ignore_jammed_ip=False)
    a = connect_synced(port, pty, "a")
    b = non_reading_client(port, pty, "b")
    feeder = Feeder(pty, BULK)
    try:
        # Backpressure: serve stops reading the pty, so the reading client runs dry and the pty
        # writer blocks — far short of the whole transfer (a jammed client holds at most its
        # kernel buffers, ~4 MiB at most, plus serve's 256 KiB queue).
        held = read_stream(a, TOTAL, idle=STALL, deadline=30.0)
        assert not feeder.done and feeder.written < TOTAL - (1 << 20), \
            (f"the pty took {feeder.written} of {TOTAL} bytes although a client was jammed and "
             f"ignore_jammed_ip is off: serial reads were not paused")
        assert len(held) < TOTAL - (1 << 20), \
            f"the reading client got {len(held)} of {TOTAL} bytes past a jammed client"
        assert_same(held, BULK[:len(held)], "the reading client before the jam cleared")

        b.close()  # the jam clears: everything flows again, nothing was dropped
        rest = read_stream(a, TOTAL - len(held), idle=5.0)
        assert_same(held + rest, BULK, "the reading client, after the jammed one left")
        feeder.join()
    finally:
        feeder.stop()
        b.close()
    assert a.recv_for(QUIET) == b""


# ---------------------------------------------------------------- TCP alive check


def keepalive_timer(local_port, client_port):
    """The server-side socket's timer as `ss -tno` shows it: ("keepalive", seconds left) or
    (other kind, None) or None when it shows no timer."""
    r = subprocess.run(["ss", "-tnoi", "state", "established",
                        f"( sport = :{local_port} and dport = :{client_port} )"],
                       capture_output=True, text=True, timeout=sgtest.CMD_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert f":{client_port}" in r.stdout, f"ss does not list the connection:\n{r.stdout}"
    m = re.search(r"timer:\((\w+),([^,)]*)", r.stdout)
    if not m:
        return None
    if m.group(1) != "keepalive":
        return (m.group(1), None)
    t = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)sec)?(?:(\d+)ms)?", m.group(2))
    assert t and any(t.groups()), f"unexpected timer text {m.group(0)!r}"
    minutes, seconds, ms = (int(x or 0) for x in t.groups())
    return ("keepalive", minutes * 60 + seconds + ms / 1000)


needs_ss = pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) not installed")


@needs_ss
@pytest.mark.parametrize("minutes", [1, 7, 99, None], ids=["1", "7", "99", "default"])
def test_tcp_alive_check_sets_keepalive(admin_gate, free_ports, minutes):
    local, command = free_ports(2)
    mode = {} if minutes is None else {"tcp_alive_check_min": minutes}
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command, **mode)]),
                     wait_ports=[local])
    idle = (minutes or 7) * 60  # docs/configuration.md: default 7
    c = Client(local)
    c.send(b"k")
    assert c.recv_exact(1) == b"k"
    # Idle from here on: the kernel's keepalive timer runs, `idle` s minus the time since.
    timer = sgtest.wait_until(lambda: (t := keepalive_timer(local, c.local_port)) and
                              t[0] == "keepalive" and t, 5.0, interval=0.1,
                              what="a keepalive timer on the server-side socket")
    # ss prints whole minutes only for long timers ("98min"): allow that much below `idle`.
    assert idle - 90 < timer[1] <= idle, \
        f"keepalive due in {timer[1]} s, expected just under {idle} s (tcp_alive_check_min)"


@needs_ss
def test_tcp_alive_check_zero_means_no_keepalive(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([
        tcp_server_port(1, "sim:echo", local, command, tcp_alive_check_min=0)]),
        wait_ports=[local])
    c = Client(local)
    c.send(b"k")
    assert c.recv_exact(1) == b"k"  # the session (and its socket options) exists
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        timer = keepalive_timer(local, c.local_port)
        assert timer is None or timer[0] != "keepalive", \
            f"tcp_alive_check_min: 0, but the socket has a keepalive timer {timer}"
        time.sleep(0.1)


# ---------------------------------------------------------------- graceful stop


def slave_input_queue(pty):
    """Bytes in the pty's input queue that no one (serve) has read yet (TIOCINQ on the slave)."""
    return struct.unpack("i", fcntl.ioctl(pty.slave, termios.TIOCINQ, b"\0" * 4))[0]


def wait_serial_read(pty):
    """Waits until serve has read everything written to `pty`: its input queue is empty and stays
    so for a moment (bytes still on their way from the master show up there first)."""
    def drained():
        for _ in range(3):
            if slave_input_queue(pty):
                return False
            time.sleep(0.1)
        return True
    sgtest.wait_until(drained, sgtest.IO_TIMEOUT, what="serve to read the pty's input queue")


def test_sigterm_delivers_held_packing_bytes(pty_port, pty, admin_gate):
    # Force transmit far beyond the test: only the stop can release the held tail.
    port = pty_port(force_transmit_ms=60000)
    c = connect_synced(port, pty, "drain")
    payload = BULK[:128 * 1024 + 700]  # the packer emits 1024-byte frames and holds the last 700
    pty.write(payload)  # the client does not read until serve is gone
    wait_serial_read(pty)
    t0 = time.monotonic()
    admin_gate.stop(timeout=10.0)
    assert time.monotonic() - t0 < 10.0
    got = read_stream(c, len(payload) + 1, idle=sgtest.IO_TIMEOUT)
    assert_same(got, payload, "bytes serve had read before SIGTERM")
    assert c.wait_closed(), "the client was not closed after the stop"


def test_sigterm_with_a_jammed_client_stops_within_the_drain_timeout(pty_port, pty, admin_gate):
    port = pty_port()
    b = non_reading_client(port, pty, "jam")
    feeder = Feeder(pty, BULK)
    try:
        # Wait for the jam: serve's queue for the client is full and serial reads are paused.
        sgtest.wait_until(lambda: time.monotonic() - feeder.last_write > STALL or feeder.done,
                          30.0, what="the pty writer to block")
        assert not feeder.done, "a never-reading client did not hold back 8 MiB"
        t0 = time.monotonic()
        admin_gate.stop(timeout=10.0)  # the drain gives up after 2 s (core/limits.h)
        assert time.monotonic() - t0 < 10.0
    finally:
        feeder.stop()
        b.close()

