"""sgtest.py: helpers for the system tests of the real `serialgate` binary (STYLE.md §4).

Hermetic by construction: every listener is on 127.0.0.1 and on a port the OS chose, every data
directory lives under pytest's tmp_path, serial lines are ptys or `sim:` devices, and every wait has
a generous deadline instead of a timed assertion. Only the standard library is used here; fixtures
that hand these objects to tests live in conftest.py.

Exit codes and the command line are fixed by docs/cli.md; the YAML schema by config/yaml.cpp.
"""

from __future__ import annotations

import errno
import json
import os
import random
import select
import signal
import socket
import subprocess
import threading
import time
import tty
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("SG_BINARY", str(REPO / "build" / "serialgate")))

# Exit codes (docs/cli.md).
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_INVALID, EXIT_STORE, EXIT_REFUSED = 0, 1, 2, 3, 4, 5

ADMIN_PASSWORD = "Corr3ct-Horse-Battery"  # meets every rule of the default password policy
LOOPBACK = "127.0.0.1"

# Generous bounds: ASan/TSan builds and loaded CI machines are slow. Never a timed assertion.
START_TIMEOUT = 15.0  # serve: until its listeners are up
STOP_TIMEOUT = 20.0  # serve: SIGTERM until exit
CMD_TIMEOUT = 60.0  # any one-shot subcommand
IO_TIMEOUT = 10.0  # a byte we expect to arrive
APPLY_TIMEOUT = 10.0  # a committed change picked up by a running serve ("within a second")

EVENT_TYPES = {
    "system.start", "system.stop", "system.config_changed", "system.config_rejected",
    "system.data_plane_off", "maintenance.config_imported", "security.account_created",
    "security.setup_refused", "serial.connected", "serial.disconnected", "serial.refused",
    "serial.mode_started", "serial.mode_stopped", "serial.mode_failed", "serial.device_failed",
}
CATEGORIES = {"System", "Network", "Security", "Maintenance", "Serial"}
SEVERITIES = ["Error", "Warning", "Notice", "Informational"]  # most severe first (1..4)


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- ports and sockets


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n):
    """`n` distinct TCP ports free on every local address now, picked at random BELOW the
    kernel's ephemeral range: ctest runs test files side by side, and a port from the ephemeral
    range may be handed to another test's outgoing connection between our pick and serve's bind
    ("Address already in use"). Outside that range only another test's own pick can collide, and
    the random draw over ~20,000 ports makes that rare."""
    low = _ephemeral_low()
    if low <= 12000:  # an unusual range: let the OS choose, as before
        return _os_ports(n)
    rng = random.SystemRandom()
    ports, socks = [], []
    try:
        while len(ports) < n:
            p = rng.randint(10000, low - 1)
            if p in ports:
                continue
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("0.0.0.0", p))  # free on every address, as a wildcard listener needs
            except OSError:
                s.close()
                continue
            socks.append(s)
            ports.append(p)
        return ports
    finally:
        for s in socks:
            s.close()


def _os_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def vm_rss_kib(pid):
    """VmRSS of process `pid` in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


class PeakRss:
    """`with PeakRss(pid) as rss:` samples VmRSS of `pid` every 50 ms while the block runs and once
    at its end: rss.before (KiB at the start), rss.peak, rss.growth."""

    def __init__(self, pid):
        self.pid = pid
        self.before = self.peak = vm_rss_kib(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._done.is_set():
            try:
                self.peak = max(self.peak, vm_rss_kib(self.pid))
            except (OSError, AssertionError):
                return  # the process ended: the test says so
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        try:
            self.peak = max(self.peak, vm_rss_kib(self.pid))
        except (OSError, AssertionError):
            pass
        return False

    @property
    def growth(self):
        return self.peak - self.before


# The ASan build (scripts/test) keeps freed blocks in a quarantine of up to 256 MiB, which counts
# in VmRSS under any churn; with a small one VmRSS tells what a process holds.
ASAN_SMALL_QUARANTINE = "quarantine_size_mb=4:thread_local_quarantine_size_kb=64"


def small_asan_quarantine(monkeypatch):
    """Processes started from now on in this test get a small ASan quarantine."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", f"{opts}:{ASAN_SMALL_QUARANTINE}" if opts
                       else ASAN_SMALL_QUARANTINE)


def _socket_inodes(pid):
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _proc_net(kind):
    """(local_port, state, inode) of each socket in /proc/net/<kind>."""
    rows = []
    try:
        with open(f"/proc/net/{kind}") as f:
            next(f)
            for line in f:
                fields = line.split()
                port = int(fields[1].rsplit(":", 1)[1], 16)
                rows.append((port, fields[3], fields[9]))
    except FileNotFoundError:  # no IPv6 in this kernel
        pass
    return rows


def listening_sockets(pid):
    """{("tcp"|"udp", port)} that process `pid` listens on (TCP LISTEN, or a bound UDP socket)."""
    inodes = _socket_inodes(pid)
    out = set()
    for kind in ("tcp", "tcp6"):
        for port, state, inode in _proc_net(kind):
            if inode in inodes and state == "0A":  # TCP_LISTEN
                out.add(("tcp", port))
    for kind in ("udp", "udp6"):
        for port, _state, inode in _proc_net(kind):
            if inode in inodes and port != 0:
                out.add(("udp", port))
    return out


class Client:
    """A TCP client of a data-plane listener. Every read has a deadline."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local_port = self.sock.getsockname()[1]

    def send(self, data):
        self.sock.settimeout(IO_TIMEOUT * 3)
        self.sock.sendall(data)

    def _recv(self, n, timeout):
        """Up to n bytes; b"" when closed (EOF or reset); None when nothing came within timeout."""
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return None
        try:
            return self.sock.recv(n)
        except (ConnectionResetError, ConnectionAbortedError):
            return b""

    def recv_exact(self, n, timeout=IO_TIMEOUT):
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while len(buf) < n:
            chunk = self._recv(min(n - len(buf), 1 << 16), deadline - time.monotonic())
            if chunk is None:
                raise AssertionError(f"received {len(buf)} of {n} bytes within {timeout} s: "
                                     f"{bytes(buf[:64])!r}")
            if chunk == b"":
                raise AssertionError(f"connection closed after {len(buf)} of {n} bytes: "
                                     f"{bytes(buf[:64])!r}")
            buf += chunk
        return bytes(buf)

    def recv_for(self, seconds):
        """Whatever arrives within `seconds` (stops early at EOF)."""
        buf = bytearray()
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = self._recv(1 << 16, left)
            if not chunk:
                break
            buf += chunk
        return bytes(buf)

    def wait_closed(self, timeout=IO_TIMEOUT):
        """True when the peer closed (EOF or reset) within `timeout`; data before is dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            chunk = self._recv(1 << 16, left)
            if chunk == b"":
                return True

    def close(self):
        self.sock.close()


def connection_refused(port):
    try:
        socket.create_connection((LOOPBACK, port), timeout=IO_TIMEOUT).close()
    except ConnectionRefusedError:
        return True
    return False


# ---------------------------------------------------------------- ptys


class Pty:
    """A pseudo-terminal standing in for a serial device: serve opens `path` (the slave), the test
    talks through `master`. The slave fd stays open in the test until close(): when every slave fd
    is closed the master reports EIO/HUP."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no line discipline between the bytes and the test
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def write(self, data, timeout=IO_TIMEOUT * 3):
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"pty write stalled with {len(view)} bytes left")
            _, w, _ = select.select([], [self.master], [], left)
            if not w:
                continue
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def _read(self, n, timeout):
        r, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not r:
            return None
        try:
            return os.read(self.master, n)
        except BlockingIOError:
            return None
        except OSError as e:
            if e.errno == errno.EIO:
                return b""
            raise

    def read_exact(self, n, timeout=IO_TIMEOUT):
        buf = bytearray()
        deadline = time.monotonic() + timeout
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"serial side got {len(buf)} of {n} bytes within {timeout} s: "
                                     f"{bytes(buf[:64])!r}")
            chunk = self._read(min(n - len(buf), 1 << 16), left)
            if chunk == b"":
                raise AssertionError("pty master: EIO (no slave open)")
            if chunk:
                buf += chunk
        return bytes(buf)

    def read_for(self, seconds):
        buf = bytearray()
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = self._read(1 << 16, left)
            if chunk == b"":
                break
            if chunk:
                buf += chunk
        return bytes(buf)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def connect_synced(port, pty, tag):
    """A client whose session is known to be running: its bytes reached the serial side."""
    c = Client(port)
    marker = b"<sync:" + tag.encode() + b">"
    c.send(marker)
    got = pty.read_exact(len(marker))
    assert got == marker, f"sync marker mangled on the way to the serial side: {got!r}"
    return c


# ---------------------------------------------------------------- configuration documents


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (no YAML library outside the stdlib)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(to_yaml(v, indent + 2))
            elif isinstance(v, (dict, list)):
                lines.append(f"{pad}{k}: {'{}' if isinstance(v, dict) else '[]'}")
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2).split("\n")
                body[0] = f"{pad}- " + body[0][indent + 2:]
                lines.extend(body)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(obj))
    return "\n".join(lines)


def serial_settings(**overrides):
    # flow_control none: the device default is rts_cts, which means nothing on a pty or sim port.
    s = {"baud": 115200, "data_bits": 8, "parity": "none", "stop_bits": 1, "flow_control": "none"}
    s.update(overrides)
    return s


def tcp_server_port(number, device, local_port, command_port, alias=None, serial=None, **mode):
    m = {"type": "tcp_server", "local_port": local_port, "command_port": command_port}
    m.update(mode)
    p = {"port": number}
    if alias is not None:
        p["alias"] = alias
    p["device"] = device
    p["serial"] = serial if serial is not None else serial_settings()
    p["mode"] = m
    return p


# system.allowed_devices (docs/configuration.md): serve opens no other path. The tests use ptys as
# serial lines, so make_config() adds /dev/pts/* to the defaults; tests of the list itself
# (web/test_device_allowlist.py) pass system={"allowed_devices": ...}.
DEFAULT_ALLOWED_DEVICES = ["/dev/ttyS*", "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/ttyAMA*",
                           "/dev/serial/by-id/*"]
TEST_ALLOWED_DEVICES = DEFAULT_ALLOWED_DEVICES + ["/dev/pts/*"]


def make_config(ports, **sections):
    cfg = {
        "system": {"device_name": "SerialGate", "listen_address": LOOPBACK,
                   "allowed_devices": list(TEST_ALLOWED_DEVICES)},
        "event_log": {"types": {"serial.connected": True, "serial.disconnected": True,
                                "serial.refused": True}},
        # The HTTPS API listens on 443 by default; data-plane tests switch it off, API tests
        # (tests/system/web/) turn it on with a free port.
        "https": {"enabled": False},
        "ports": ports,
    }
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


# ---------------------------------------------------------------- the binary


def describe(r):
    return (f"$ {' '.join(map(str, r.args))}\nexit code {r.returncode}\n"
            f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}")


def assert_rc(r, expected):
    assert r.returncode == expected, f"expected exit code {expected}\n{describe(r)}"
    return r


def run(*args, input=None, timeout=CMD_TIMEOUT, cwd=None, umask=-1):
    """Runs `serialgate args...` to completion (text mode). Never in the source tree."""
    return subprocess.run([str(BINARY), *map(str, args)], input=input, capture_output=True,
                          text=True, errors="replace", timeout=timeout,
                          cwd=cwd or os.environ.get("TMPDIR", "/tmp"), umask=umask)


def tail(path, lines=200):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<{e}>"
    return "\n".join(text.splitlines()[-lines:])


class Gate:
    """One SerialGate installation: a data directory, its config files and `serve` processes.

    `work` is a private temp directory (pytest's tmp_path); the data directory `work/data` does not
    exist until the binary creates it. Each serve's stderr goes to work/serve-N.stderr; conftest.py
    attaches those files to the report of a failed test.
    """

    def __init__(self, work, name="data"):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.work / name
        self.procs = []  # (Popen, stderr path)
        self.proc = None
        self.https_port = None  # the --https-port of the last serve
        self._ended = set()  # serve processes stopped or killed on purpose
        self._files = 0

    # ---- one-shot commands

    def run(self, *args, **kw):
        kw.setdefault("cwd", self.work)
        return run(*args, **kw)

    def setup_admin(self, name="admin", password=ADMIN_PASSWORD, expect=EXIT_OK):
        r = self.run("setup", "--data-dir", self.data_dir, "--admin", name, "--password-stdin",
                     input=password + "\n")
        return assert_rc(r, expect) if expect is not None else r

    def write_config(self, cfg, name=None):
        if name is None:
            self._files += 1
            name = f"config-{self._files}.yaml"
        path = self.work / name
        path.write_text(cfg if isinstance(cfg, str) else to_yaml(cfg) + "\n")
        return path

    def import_config(self, cfg, expect=EXIT_OK):
        path = cfg if isinstance(cfg, Path) else self.write_config(cfg)
        r = self.run("config", "import", "--data-dir", self.data_dir, path)
        return assert_rc(r, expect) if expect is not None else r

    def export(self):
        return assert_rc(self.run("config", "export", "--data-dir", self.data_dir), EXIT_OK).stdout

    def events(self, *args):
        """The event log as a list of dicts (`log show --format json`), filters as extra args."""
        r = assert_rc(self.run("log", "show", "--data-dir", self.data_dir, "--format", "json",
                               *args), EXIT_OK)
        try:
            data = json.loads(r.stdout)
        except ValueError as e:
            raise AssertionError(f"log show --format json printed no JSON ({e})\n{describe(r)}")
        assert isinstance(data, list), f"log show --format json is not an array: {r.stdout[:200]}"
        return data

    def wait_event(self, type_, predicate=lambda e: True, count=1, timeout=APPLY_TIMEOUT):
        def found():
            self.check_alive()
            hits = [e for e in self.events("--type", type_) if predicate(e)]
            return hits if len(hits) >= count else None
        return wait_until(found, timeout, interval=0.2, what=f"{count} event(s) {type_}")

    # ---- serve

    def check_alive(self):
        """Fails at once when the current serve exited although no one stopped it."""
        p = self.proc
        if p is not None and p not in self._ended and p.poll() is not None:
            self._ended.add(p)
            raise AssertionError(f"serve exited unexpectedly with code {p.returncode}\n"
                                 f"{self.stderr_text(p)}")

    def serve(self, config=None, wait_ports=(), args=(), umask=-1):
        """Starts serve (with --config when given a dict, text or Path) and waits until every port
        in `wait_ports` is listening. Returns the Popen."""
        cmd = [str(BINARY), "serve", "--data-dir", str(self.data_dir)]
        if config is not None:
            path = config if isinstance(config, Path) else self.write_config(config)
            cmd += ["--config", str(path)]
        cmd += [str(a) for a in args]
        if "--https-port" not in cmd:
            # Never the real 443: a stored configuration (no --config) has HTTPS on by default.
            (self.https_port,) = free_ports(1)
            cmd += ["--https-port", str(self.https_port)]
        else:
            self.https_port = int(cmd[cmd.index("--https-port") + 1])
        err = self.work / f"serve-{len(self.procs) + 1}.stderr"
        with open(err, "wb") as ef:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=ef,
                                    stderr=subprocess.STDOUT, cwd=self.work, umask=umask)
        self.procs.append((proc, err))
        self.proc = proc
        if wait_ports:
            self.wait_listening(wait_ports)
        return proc

    def stderr_text(self, proc=None):
        proc = proc or self.proc
        for p, err in self.procs:
            if p is proc:
                return tail(err)
        return ""

    def listening(self, proc=None):
        proc = proc or self.proc
        try:
            return listening_sockets(proc.pid)
        except FileNotFoundError:
            return set()

    def tcp_listening(self, proc=None):
        return {port for kind, port in self.listening(proc) if kind == "tcp"}

    def wait_listening(self, ports, timeout=START_TIMEOUT, proc=None):
        proc = proc or self.proc
        want = set(ports)

        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with code {proc.returncode} before listening "
                                     f"on {sorted(want)}\n{self.stderr_text(proc)}")
            return want <= self.tcp_listening(proc)
        wait_until(ready, timeout, what=f"serve to listen on {sorted(want)}")

    def signal(self, sig, proc=None):
        (proc or self.proc).send_signal(sig)

    def stop(self, proc=None, expect=EXIT_OK, timeout=STOP_TIMEOUT):
        """SIGTERM, wait, and check the exit code (docs/cli.md: graceful stop exits 0)."""
        proc = proc or self.proc
        self._ended.add(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"serve did not stop within {timeout} s of SIGTERM\n"
                                 f"{self.stderr_text(proc)}")
        if expect is not None:
            assert rc == expect, (f"serve exited with {rc} after SIGTERM, expected {expect}\n"
                                  f"{self.stderr_text(proc)}")
        return rc

    def wait_exit(self, proc=None, timeout=START_TIMEOUT):
        """For a serve expected to exit by itself: its exit code (killed after `timeout`)."""
        proc = proc or self.proc
        self._ended.add(proc)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"serve kept running for {timeout} s; expected it to exit\n"
                                 f"{self.stderr_text(proc)}")

    def kill9(self, proc=None):
        proc = proc or self.proc
        self._ended.add(proc)
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def close(self):
        """Teardown: stops what still runs; a serve that does not stop cleanly fails the test."""
        problems = []
        for proc, _ in self.procs:
            if proc.poll() is None:
                try:
                    self.stop(proc)
                except AssertionError as e:
                    problems.append(str(e))
            elif proc not in self._ended:
                self._ended.add(proc)
                problems.append(f"serve (pid {proc.pid}) exited unexpectedly with code "
                                f"{proc.returncode}\n{self.stderr_text(proc)}")
        if problems:
            raise AssertionError("\n".join(problems))

    def diagnostics(self):
        return [(f"{err.name} (pid {p.pid}, exit {p.returncode})", tail(err))
                for p, err in self.procs]


# ---------------------------------------------------------------- port monitor and pair protocol


def monitor(gate, number=None):
    """`serialgate status --format json` of the gate's running serve: the whole document, or the
    entry of port `number`."""
    r = assert_rc(gate.run("status", "--data-dir", gate.data_dir, "--format", "json"), EXIT_OK)
    doc = json.loads(r.stdout)
    if number is None:
        return doc
    for p in doc["ports"]:
        if p["number"] == number:
            return p
    raise AssertionError(f"port {number} not in the monitor: {r.stdout[:400]}")


def wait_peers(gate, number, n=1, address=None, timeout=APPLY_TIMEOUT):
    """Waits until `serialgate status` lists at least `n` peers on port `number` (or, with
    `address` "host:port", that very peer); returns the peers. Use it before sending a client
    the line's bytes: connect() (and a listener's accept) returns when the kernel has completed
    the handshake, before serve has taken the connection, and a TCP Server (Real COM, RFC 2217,
    TCP Client) drops the line's bytes while it has no client — a test that writes to the line at
    once loses them now and then (CI: test_real_com.py::test_data_both_ways)."""
    def listed():
        peers = monitor(gate, number)["peers"]
        if address is not None:
            return peers if any(p["address"] == address for p in peers) else None
        return peers if len(peers) >= n else None
    what = f"port {number} serving {address or f'{n} peer(s)'}"
    return wait_until(listed, timeout, interval=0.05, what=what)


def served_client(gate, number, port, timeout=IO_TIMEOUT):
    """A Client of `port` (a listener of port `number`) once serve lists it among the port's
    peers (wait_peers): the line's bytes sent from now on reach it."""
    c = Client(port, timeout=timeout)
    try:
        wait_peers(gate, number, address=f"{LOOPBACK}:{c.local_port}")
    except BaseException:
        c.close()
        raise
    return c


def pair_frame(type_, payload=b""):
    """One frame of docs/pair-protocol.md: type, 16-bit big-endian length, payload."""
    return bytes([type_, len(payload) >> 8, len(payload) & 0xFF]) + bytes(payload)


def pair_hello(role):
    return pair_frame(0x00, b"SGPC" + bytes([1, 0 if role == "master" else 1]))


def pair_lines(cts=False, dsr=False, dcd=False, ri=False):
    return pair_frame(0x02, bytes([cts | dsr << 1 | dcd << 2 | ri << 3]))


class PairPeer(Client):
    """A Pair Connection master or slave written from docs/pair-protocol.md byte by byte, to drive
    and observe a SerialGate pair port. Received frames are parsed into `hello` (the payload),
    `data` (DATA payloads, concatenated) and `lines` (a dict per LINES frame, in order)."""

    def __init__(self, sock, role):
        self.sock = sock
        self.local_port = sock.getsockname()[1]
        self.role = role
        self.inbox = bytearray()
        self.hello = None
        self.data = bytearray()
        self.lines = []
        self.closed = False

    @classmethod
    def connect(cls, port, role="master", hello=True):
        c = Client(port)
        peer = cls(c.sock, role)
        if hello:
            peer.send(pair_hello(role))
        return peer

    def send_data(self, payload):
        self.send(pair_frame(0x01, payload))

    def send_lines(self, **lines):
        self.send(pair_lines(**lines))

    def pump(self, timeout):
        """Reads what arrives within `timeout` (at least one chunk) and parses whole frames."""
        chunk = self._recv(1 << 16, timeout)
        if chunk == b"":
            self.closed = True
        elif chunk:
            self.inbox += chunk
        while len(self.inbox) >= 3:
            n = (self.inbox[1] << 8) | self.inbox[2]
            if len(self.inbox) < 3 + n:
                break
            t, payload = self.inbox[0], bytes(self.inbox[3:3 + n])
            del self.inbox[:3 + n]
            if t == 0x00:
                assert self.hello is None, "second HELLO from SerialGate"
                self.hello = payload
            elif t == 0x01:
                self.data += payload
            elif t == 0x02:
                b = payload[0]
                self.lines.append({"cts": bool(b & 1), "dsr": bool(b & 2), "dcd": bool(b & 4),
                                   "ri": bool(b & 8)})
            else:
                raise AssertionError(f"unknown frame type {t:#x} from SerialGate")

    def wait(self, predicate, what, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise AssertionError(f"{'connection closed' if self.closed else 'timed out'} "
                                     f"waiting for {what}; hello={self.hello!r} "
                                     f"data={bytes(self.data[:64])!r} lines={self.lines[-3:]}")
            self.pump(min(left, 0.5))

    def wait_hello(self, timeout=IO_TIMEOUT):
        self.wait(lambda: self.hello is not None, "HELLO", timeout)
        return self.hello

    def recv_data(self, n, timeout=IO_TIMEOUT):
        """The next n bytes of DATA payload."""
        self.wait(lambda: len(self.data) >= n, f"{n} bytes of DATA", timeout)
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def wait_lines(self, timeout=IO_TIMEOUT, **want):
        """Until the latest LINES frame has every line in `want` as given; returns it."""
        def ok():
            return self.lines and all(self.lines[-1][k] == v for k, v in want.items())
        self.wait(ok, f"LINES {want}", timeout)
        return self.lines[-1]


# ---------------------------------------------------------------- socat, an outside peer


class Socat:
    """`socat STDIO ADDRESS`: a peer we did not write (Debian's socat). What the test sends goes
    to its stdin, what reaches ADDRESS comes out of its stdout; its stderr is kept for failures."""

    def __init__(self, address, *options):
        self.proc = subprocess.Popen(["socat", *options, "STDIO", address],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buf = bytearray()

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_exact(self, n, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"socat got {len(self.buf)} of {n} bytes: "
                                     f"{bytes(self.buf[:64])!r}; {self.errors()}")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise AssertionError(f"socat ended: {self.errors()}")
                self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def errors(self):
        if self.proc.poll() is None:
            return "socat still running"
        return f"socat exited {self.proc.returncode}: {self.proc.stderr.read().decode()[-400:]}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:  # stdin: a broken pipe on the flush of what it never read
                pass
