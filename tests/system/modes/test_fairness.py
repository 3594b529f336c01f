"""modes/test_fairness.py: one busy port never stalls another (issue 12 item 2). Port 1 is flooded
in both directions at once (a client streams into its serial line while the serial line streams to
another client) and port 2 serves one-byte echoes the whole time: every echo must come back and
every flooded byte must arrive, intact and in order. Asserted as served, never as a time (the
bench, bench/run --scale, measures how fast). Run with one io thread, where a flooded port and the
quiet one share the only thread, and with two."""

import os
import select
import threading
import time

import pytest

import sgtest
from sgtest import Client, Pty, connect_synced, make_config, tcp_server_port

ECHOES = 200  # one-byte round trips on the quiet port while port 1 is flooded
CHUNK = 1 << 16
# A deterministic pattern (period 251, a prime: never aligned with a buffer size).
PATTERN = bytes(range(251)) * ((CHUNK // 251) + 2)


def pattern_at(offset, n):
    o = offset % 251
    return PATTERN[o:o + n]


class Flood:
    """Writes the pattern into `write_fd` (a socket or a pty master) until stop(), and reads it
    back from `read_fd`, checking every byte in order. A thread each; errors are kept for check()."""

    def __init__(self, name, write, wait_writable, read):
        self.name = name
        self.sent = self.received = 0
        self.errors = []
        self._write, self._wait_writable, self._read = write, wait_writable, read
        self._stop = threading.Event()
        self._sent_all = threading.Event()  # _send has returned: `sent` is final
        self._threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                         for f in (self._send, self._recv)]
        for t in self._threads:
            t.start()

    def _guard(self, fn):
        try:
            fn()
        except Exception as e:  # reported by check()
            self.errors.append(e)

    def _send(self):
        try:
            self._send_until_stopped()
        finally:
            self._sent_all.set()

    def _send_until_stopped(self):
        while not self._stop.is_set():
            if not self._wait_writable(0.1):
                continue
            try:
                n = self._write(pattern_at(self.sent, CHUNK))
            except BlockingIOError:
                continue
            self.sent += n

    def _recv(self):
        while True:
            # `sent` is final only once _send returned (a write may have completed without being
            # counted yet when stop() is set).
            if self._sent_all.is_set() and self.received >= self.sent:
                return
            data = self._read(0.2)
            if data is None:
                continue
            if data == b"":
                raise AssertionError(f"{self.name}: closed after {self.received} bytes")
            want = pattern_at(self.received, len(data))
            if data != want:
                i = next(i for i, (a, b) in enumerate(zip(data, want)) if a != b)
                raise AssertionError(f"{self.name}: byte {self.received + i} is {data[i]:#x}, "
                                     f"expected {want[i]:#x}")
            self.received += len(data)

    def stop_and_check(self, timeout=sgtest.IO_TIMEOUT * 3):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not self.errors, f"{self.name}: {self.errors[0]}"
        assert not any(t.is_alive() for t in self._threads), \
            f"{self.name}: {self.received} of {self.sent} bytes arrived within {timeout} s"
        assert self.sent > 0 and self.received == self.sent, \
            f"{self.name}: {self.received} of {self.sent} bytes arrived"


def sock_reader(sock):
    def read(timeout):
        r, _, _ = select.select([sock], [], [], timeout)
        if not r:
            return None
        try:
            return sock.recv(CHUNK)
        except BlockingIOError:
            return None
    return read


def fd_reader(fd):
    def read(timeout):
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return None
        try:
            return os.read(fd, CHUNK)
        except BlockingIOError:
            return None
    return read


def writable(fd):
    return lambda timeout: bool(select.select([], [fd], [], timeout)[1])


class Echoer(threading.Thread):
    """The quiet port's device: every byte read from the pty master goes straight back."""

    def __init__(self, pty):
        super().__init__(daemon=True)
        self.pty = pty
        self.stop = threading.Event()
        self.start()

    def run(self):
        while not self.stop.is_set():
            data = self.pty._read(4096, 0.1)
            if data:
                self.pty.write(data)


@pytest.mark.parametrize("io_threads", [1, 2])
def test_quiet_port_is_served_while_another_is_flooded(admin_gate, free_ports, io_threads):
    busy, quiet = Pty(), Pty()
    try:
        l1, c1, l2, c2 = free_ports(4)
        cfg = make_config([tcp_server_port(1, busy.path, l1, c1, max_connections=2),
                           tcp_server_port(2, quiet.path, l2, c2)],
                          system={"io_threads": io_threads})
        admin_gate.serve(config=cfg, wait_ports=[l1, l2])

        # Port 1, both directions at once: client `up` streams to the serial line (the test
        # drains the pty master), the pty master streams to client `down`.
        up = connect_synced(l1, busy, "up")
        down = connect_synced(l1, busy, "down")
        for c in (up, down):
            c.sock.setblocking(False)
        n2s = Flood("port 1 net→serial", up.sock.send, writable(up.sock), fd_reader(busy.master))
        s2n = Flood("port 1 serial→net", lambda b: os.write(busy.master, b),
                    writable(busy.master), sock_reader(down.sock))
        # (`up` also receives what the pty master sends: serve fans out to every client. It is
        # drained so that it never holds the stream back.)
        drain_stop = threading.Event()

        def drain_up():
            while not drain_stop.is_set():
                if select.select([up.sock], [], [], 0.1)[0]:
                    try:
                        up.sock.recv(CHUNK)
                    except BlockingIOError:
                        pass
        drainer = threading.Thread(target=drain_up, daemon=True)
        drainer.start()

        echoer = Echoer(quiet)
        probe = Client(l2)
        try:
            sent_before = (n2s.sent, s2n.sent)
            for i in range(ECHOES):
                b = bytes([1 + i % 255])
                probe.send(b)
                got = probe.recv_exact(1, timeout=sgtest.IO_TIMEOUT)
                assert got == b, f"echo {i}: sent {b!r}, got {got!r}"
            # The floods were moving while the echoes were served (not asserted as a rate).
            assert n2s.sent > sent_before[0] and s2n.sent > sent_before[1], \
                "port 1 was not flooded during the echoes"
        finally:
            echoer.stop.set()
            n2s.stop_and_check()
            s2n.stop_and_check()
            drain_stop.set()
            drainer.join(5)
        admin_gate.check_alive()
    finally:
        busy.close()
        quiet.close()


def test_io_threads_runs_that_many_data_threads(admin_gate, free_ports):
    """system.io_threads (issue 12 item 3) observed from outside: serve with 3 io threads has two
    threads more than the same serve with 1 (/proc/<pid>/task), and says so in its log."""
    threads = {}
    for n in (1, 3):
        local, command = free_ports(2)
        cfg = make_config([tcp_server_port(1, "sim:echo", local, command)],
                          system={"io_threads": n})
        proc = admin_gate.serve(config=cfg, wait_ports=[local])
        threads[n] = len(os.listdir(f"/proc/{proc.pid}/task"))
        assert f"data plane: {n} io thread(s)" in admin_gate.stderr_text(proc)
        c = Client(local)  # the port is served on those threads
        c.send(b"ping")
        assert c.recv_exact(4) == b"ping"
        c.close()
        admin_gate.stop(proc)
    assert threads[3] - threads[1] == 2, threads
