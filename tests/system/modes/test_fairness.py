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
    back from `read` (and from each of `more_reads`: the other clients of a fan-out), checking
    every byte in order. A thread each; errors are kept for check()."""

    def __init__(self, name, write, wait_writable, read, *more_reads):
        self.name = name
        self.sent = 0
        self.received_by = [0] * (1 + len(more_reads))
        self.errors = []
        self._write, self._wait_writable = write, wait_writable
        self._stop = threading.Event()
        self._sent_all = threading.Event()  # _send has returned: `sent` is final
        self._threads = [threading.Thread(target=self._guard, args=(self._send,), daemon=True)]
        self._threads += [threading.Thread(target=self._guard,
                                           args=(lambda i=i, r=r: self._recv(i, r),), daemon=True)
                          for i, r in enumerate((read,) + more_reads)]
        for t in self._threads:
            t.start()

    @property
    def received(self):
        return min(self.received_by)

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

    def _recv(self, index, read):
        while True:
            got = self.received_by[index]
            # `sent` is final only once _send returned (a write may have completed without being
            # counted yet when stop() is set).
            if self._sent_all.is_set() and got >= self.sent:
                return
            data = read(0.2)
            if data is None:
                continue
            if data == b"":
                raise AssertionError(f"{self.name}: closed after {got} bytes")
            want = pattern_at(got, len(data))
            if data != want:
                i = next(i for i, (a, b) in enumerate(zip(data, want)) if a != b)
                raise AssertionError(f"{self.name} (reader {index + 1}): byte {got + i} is "
                                     f"{data[i]:#x}, expected {want[i]:#x}")
            self.received_by[index] = got + len(data)

    def stop(self, timeout=5):
        """Stops without checking (the server went away mid-stream)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout)

    def stop_and_check(self, timeout=sgtest.IO_TIMEOUT * 3):
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not self.errors, f"{self.name}: {self.errors[0]}"
        assert not any(t.is_alive() for t in self._threads), \
            f"{self.name}: {self.received} of {self.sent} bytes arrived within {timeout} s"
        assert self.sent > 0 and all(r == self.sent for r in self.received_by), \
            f"{self.name}: {self.received_by} of {self.sent} bytes arrived"


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


BUSY_PORTS = 4  # ports streaming serial→net at once in the test below, two clients each


@pytest.mark.parametrize("io_threads", [1, 2])
def test_quiet_port_is_served_while_several_stream_to_clients(admin_gate, free_ports, io_threads):
    """The serial→net direction with several busy ports (issue 12 item 2): each of BUSY_PORTS
    ports fans a stream from its serial line out to two clients (their serial reads fill the read
    buffer: they take their turns from the bulk lane, core/bulk_lane.h) while a quiet port serves
    one-byte echoes. Every echo comes back; every client of every busy port gets every byte, in
    order. Served, not timed."""
    ptys = [Pty() for _ in range(BUSY_PORTS)]
    quiet = Pty()
    floods, clients = [], []
    try:
        nums = free_ports(2 * (BUSY_PORTS + 1))
        local, command = nums[0::2], nums[1::2]
        ports = [tcp_server_port(i + 1, p.path, local[i], command[i], max_connections=2)
                 for i, p in enumerate(ptys)]
        ports.append(tcp_server_port(BUSY_PORTS + 1, quiet.path, local[-1], command[-1]))
        admin_gate.serve(config=make_config(ports, system={"io_threads": io_threads}),
                         wait_ports=local)
        for i, p in enumerate(ptys):
            pair = [connect_synced(local[i], p, f"{i + 1}{tag}") for tag in "ab"]
            for c in pair:
                c.sock.setblocking(False)
            clients += pair
            floods.append(Flood(f"port {i + 1} serial→net",
                                lambda b, fd=p.master: os.write(fd, b), writable(p.master),
                                sock_reader(pair[0].sock), sock_reader(pair[1].sock)))
        echoer = Echoer(quiet)
        probe = Client(local[-1])
        try:
            sent_before = [f.sent for f in floods]
            for i in range(ECHOES):
                b = bytes([1 + i % 255])
                probe.send(b)
                got = probe.recv_exact(1, timeout=sgtest.IO_TIMEOUT)
                assert got == b, f"echo {i}: sent {b!r}, got {got!r}"
            for f, before in zip(floods, sent_before):
                assert f.sent > before, f"{f.name}: not streaming during the echoes"
        finally:
            echoer.stop.set()
            echoer.join(5)
            for f in floods:
                f.stop_and_check()
        admin_gate.check_alive()
    finally:
        for c in clients:
            c.close()
        for p in ptys + [quiet]:
            p.close()


def test_serve_stops_while_ports_stream(admin_gate, free_ports):
    """SIGTERM while BUSY_PORTS ports stream both ways on two io threads: turns waiting in the
    bulk lane are resumed, see their port stopping and end; serve exits 0 within its stop bound
    (the sanitizer build aborts on a coroutine resumed after its port or session was gone)."""
    ptys = [Pty() for _ in range(BUSY_PORTS)]
    floods, clients = [], []
    try:
        nums = free_ports(2 * BUSY_PORTS)
        local, command = nums[0::2], nums[1::2]
        cfg = make_config([tcp_server_port(i + 1, p.path, local[i], command[i])
                           for i, p in enumerate(ptys)], system={"io_threads": 2})
        proc = admin_gate.serve(config=cfg, wait_ports=local)
        for i, p in enumerate(ptys):
            c = connect_synced(local[i], p, str(i + 1))
            c.sock.setblocking(False)
            clients.append(c)
            floods.append(Flood(f"port {i + 1} net→serial", c.sock.send, writable(c.sock),
                                fd_reader(p.master)))
            floods.append(Flood(f"port {i + 1} serial→net",
                                lambda b, fd=p.master: os.write(fd, b), writable(p.master),
                                sock_reader(c.sock)))
        deadline = time.monotonic() + sgtest.IO_TIMEOUT
        while min(f.received for f in floods) < 4 * CHUNK and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(f.received > 0 for f in floods), [(f.name, f.received) for f in floods]
        admin_gate.stop(proc)  # exit code 0, within the stop bound
    finally:
        for f in floods:
            f.stop()
        for c in clients:
            c.close()
        for p in ptys:
            p.close()


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
