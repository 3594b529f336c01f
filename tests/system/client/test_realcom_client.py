"""client/test_realcom_client.py: `serialgate realcom`, the host-side Real COM client
(docs/realcom-client.md), end to end against a SerialGate in Real COM mode.

The bench: the serve's port 1 runs Real COM on end A of `sim:null-modem:rc`; port 2 runs TCP
Server on end B, so the test sees the serial line from the far side through port 2's data port,
and the line settings in force on port 1 through `serialgate status --format json`. The client
under test runs `serialgate realcom --device 127.0.0.1 --port 1 --data-port D --command-port C
--link <tmp>/ttyR1`; the application is pyserial opening the link, as any program would.
"""

import os
import re
import signal
import subprocess
import termios
import time
import tty
from pathlib import Path

import pytest
import serial  # pyserial: an application we did not write

import sgtest
from sgtest import Client, make_config, monitor, serial_settings, tcp_server_port, wait_until

CONNECT_TIMEOUT = 20.0  # the client notices the application (≤ 0.1 s) and connects
RECONNECT_TIMEOUT = 60.0  # backoff doubles from 0.5 s; a restarted serve is found well within


def real_com_port(number, device, data_port, command_port, serial=None, **mode):
    m = {"type": "real_com", "data_port": data_port, "command_port": command_port}
    m.update(mode)
    return {"port": number, "device": device,
            "serial": serial if serial is not None else serial_settings(), "mode": m}


class Realcom:
    """A running `serialgate realcom`; its stderr goes to a file shown when a test fails."""

    def __init__(self, work, args, name="realcom"):
        self.err = Path(work) / f"{name}.stderr"
        with open(self.err, "wb") as ef:
            self.proc = subprocess.Popen(
                [str(sgtest.BINARY), "--log-level", "debug", "realcom", *map(str, args)],
                stdin=subprocess.DEVNULL, stdout=ef, stderr=subprocess.STDOUT, cwd=work)

    def log(self):
        return sgtest.tail(self.err, 400)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"realcom exited with {self.proc.returncode}\n{self.log()}")

    def wait_log(self, text, timeout=sgtest.IO_TIMEOUT):
        def seen():
            self.check_alive()
            return text in self.err.read_text(errors="replace")
        wait_until(seen, timeout, what=f"'{text}' in the realcom log")

    def status(self):
        """The status line(s) SIGUSR1 makes it log."""
        before = self.err.read_text(errors="replace").count("status: ")
        self.proc.send_signal(signal.SIGUSR1)

        def lines():
            self.check_alive()
            found = [ln for ln in self.err.read_text(errors="replace").splitlines()
                     if "status: " in ln]
            return found[before:] or None
        return wait_until(lines, sgtest.IO_TIMEOUT, what="a status line")

    def stop(self, expect=sgtest.EXIT_OK):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=sgtest.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"realcom did not stop on SIGTERM\n{self.log()}")
        assert rc == expect, f"realcom exited {rc}, expected {expect}\n{self.log()}"
        return rc


class Bench:
    def __init__(self, gate, free_ports, tmp_path):
        self.gate = gate
        self.tmp = tmp_path
        self.data, self.command, self.far_data, self.far_command = free_ports(4)
        self.config = make_config([
            real_com_port(1, "sim:null-modem:rc", self.data, self.command),
            tcp_server_port(2, "sim:null-modem:rc", self.far_data, self.far_command)])
        self.serve()
        self.link = tmp_path / "ttyR1"
        self.clients = []
        self.ports = []
        self.sg_gates = [self]  # conftest.py attaches diagnostics() to a failed test's report

    def serve(self):
        self.gate.serve(config=self.config,
                        wait_ports=[self.data, self.command, self.far_data, self.far_command])

    def realcom(self, *extra, link=None):
        c = Realcom(self.tmp, ["--device", sgtest.LOOPBACK, "--port", 1, "--data-port", self.data,
                               "--command-port", self.command, "--link", link or self.link,
                               *extra], name=f"realcom-{len(self.clients) + 1}")
        self.clients.append(c)
        c.wait_log("waiting for an application", timeout=sgtest.START_TIMEOUT)  # link in place
        return c

    def open(self, **kw):
        kw.setdefault("baudrate", 115200)
        kw.setdefault("timeout", sgtest.IO_TIMEOUT)
        kw.setdefault("write_timeout", sgtest.IO_TIMEOUT * 3)
        p = serial.Serial(str(self.link), **kw)
        self.ports.append(p)
        return p

    def session_up(self, timeout=CONNECT_TIMEOUT):
        """Until port 1 shows a connected driver session."""
        def up():
            self.gate.check_alive()
            for c in self.clients:
                c.check_alive()
            return monitor(self.gate, 1)["peers"]
        return wait_until(up, timeout, interval=0.1, what="the client's session on port 1")

    def wait_serial(self, **want):
        def match():
            got = monitor(self.gate, 1)["serial"]
            return got if got and all(got[k] == v for k, v in want.items()) else None
        try:
            return wait_until(match, sgtest.APPLY_TIMEOUT, interval=0.1, what=f"port 1 {want}")
        except AssertionError as e:
            raise AssertionError(f"{e}; port 1 serial is {monitor(self.gate, 1)['serial']}\n"
                                 f"{self.clients[-1].log()}")

    def far(self, port):
        """The far end (port 2's TCP client), synced: a marker from the application arrives."""
        far = Client(self.far_data)
        marker = b"<sync>"
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while True:  # port 2 drops serial data until its client session runs: repeat the marker
            port.write(marker)
            got = far.recv_for(0.5)
            if marker in got:
                return far
            if time.monotonic() > deadline:
                raise AssertionError(f"sync marker never reached the far end: {got!r}")

    def diagnostics(self):
        return [(c.err.name, c.log()) for c in self.clients]

    def close(self):
        for p in self.ports:
            try:
                p.close()
            except OSError:
                pass
        problems = []
        for c in self.clients:
            try:
                c.stop()
            except AssertionError as e:
                problems.append(str(e))
        if problems:
            raise AssertionError("\n".join(problems))


@pytest.fixture
def bench(admin_gate, free_ports, tmp_path):
    b = Bench(admin_gate, free_ports, tmp_path)
    yield b
    b.close()


def exchange(port, far, payload):
    """payload from the application to the far end and back, byte for byte."""
    port.write(payload)
    assert far.recv_exact(len(payload), timeout=sgtest.IO_TIMEOUT * 3) == payload
    far.send(payload)
    got = port.read(len(payload))
    assert got == payload, f"application read {len(got)} of {len(payload)} bytes: {got[:64]!r}"


# ---------------------------------------------------------------- the link


def test_link_points_at_a_pty_and_is_removed_on_sigterm(bench):
    c = bench.realcom()
    target = os.readlink(bench.link)
    assert target.startswith("/dev/pts/"), target
    assert os.path.exists(target)
    c.stop()
    assert not os.path.lexists(bench.link)


def test_a_stale_link_is_replaced_and_a_regular_file_refused(bench, tmp_path):
    os.symlink("/dev/pts/9999", bench.link)
    c = bench.realcom()
    assert os.readlink(bench.link) != "/dev/pts/9999"
    c.stop()

    precious = tmp_path / "precious"
    precious.write_text("keep")
    r = sgtest.run("realcom", "--device", sgtest.LOOPBACK, "--port", 1, "--link", precious)
    sgtest.assert_rc(r, sgtest.EXIT_RUNTIME)
    assert "not a symlink" in r.stderr
    assert precious.read_text() == "keep"


def test_usage_and_invalid_config_exit_codes(tmp_path):
    sgtest.assert_rc(sgtest.run("realcom", "--device", "h", "--port", 1), sgtest.EXIT_USAGE)
    sgtest.assert_rc(sgtest.run("realcom", "--device", "h", "--port", 1, "--link", "x",
                                "--parity", "sideways"), sgtest.EXIT_USAGE)
    bad = tmp_path / "ports.yaml"
    bad.write_text("- device: h\n  port: 1\n  link: x\n  baud: 9600\n")
    r = sgtest.assert_rc(sgtest.run("realcom", "--config", bad), sgtest.EXIT_INVALID)
    assert f"{bad}:4:3: [0].baud: unknown setting" in r.stderr


# ---------------------------------------------------------------- data


def test_data_both_ways_every_byte_value(bench):
    bench.realcom()
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, bytes(range(256)) * 4)
    big = os.urandom(200_000)  # more than every queue on the way: backpressure, not loss
    port.write(big)
    assert far.recv_exact(len(big), timeout=60) == big


def test_a_second_application_after_the_first_closed(bench):
    c = bench.realcom()
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, b"first")
    port.close()
    c.wait_log("session closed", timeout=CONNECT_TIMEOUT)
    far.close()
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, b"second")


def test_a_quick_open_write_close_still_delivers(bench):
    # `stty -F link 115200 raw; echo hi > link`: the writer is gone before the client noticed
    # it. The bytes wait in the client, a session carries them, WAIT_OQUEUE lets the device send
    # them before the session closes (it flushes its buffers when the data connection goes).
    c = bench.realcom()
    far = sgtest.served_client(bench.gate, 2, bench.far_data)
    fd = os.open(bench.link, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = termios.B115200  # port 2 runs at 115200
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    os.close(fd)
    fd = os.open(bench.link, os.O_WRONLY | os.O_NOCTTY)
    os.write(fd, b"hello, far end")
    os.close(fd)
    assert far.recv_exact(14) == b"hello, far end"
    c.wait_log("session closed", timeout=CONNECT_TIMEOUT)


# ---------------------------------------------------------------- line settings


def test_baud_stop_bits_and_flow_control_from_the_application_reach_the_port(bench):
    bench.realcom()
    port = bench.open(baudrate=19200)
    bench.session_up()
    bench.wait_serial(baud=19200, data_bits=8, parity="none", stop_bits="1", flow_control="none")
    port.baudrate = 57600
    bench.wait_serial(baud=57600)
    port.baudrate = 123457  # not in the ASPP table: index 0xFF + SETBAUD
    bench.wait_serial(baud=123457)
    port.stopbits = serial.STOPBITS_TWO
    bench.wait_serial(baud=123457, stop_bits="2")
    port.rtscts = True
    bench.wait_serial(flow_control="rts_cts")
    port.rtscts = False
    port.xonxoff = True
    bench.wait_serial(flow_control="xon_xoff")
    port.xonxoff = False
    bench.wait_serial(flow_control="none", baud=123457, stop_bits="2")


def test_data_bits_and_parity_come_from_the_command_line(bench):
    # A Linux pty forces CS8 and clears PARENB (docs/realcom-client.md): the framing the
    # application cannot pass through the pty is given to the client instead.
    bench.realcom("--data-bits", 7, "--parity", "even")
    port = bench.open(baudrate=9600)
    bench.session_up()
    bench.wait_serial(baud=9600, data_bits=7, parity="even", stop_bits="1")
    port.stopbits = serial.STOPBITS_TWO
    bench.wait_serial(data_bits=7, parity="even", stop_bits="2")


def test_bytes_written_after_a_rate_change_follow_it(bench):
    # The simulated cable garbles bytes when its two ends run at different rates (framing
    # errors), so "after" arrives intact only if port 1 already runs at the new rate: the client
    # sent IOCTL and waited for its acknowledgement before the data.
    bench.realcom()
    port = bench.open(baudrate=115200)  # port 2 is configured at 115200
    bench.session_up()
    far = bench.far(port)
    far_cmd = Client(bench.far_command)  # port 2's ASPP command port (TCP Server, spec §1)
    far_cmd.send(bytes([0x10, 2, 8, 0x03]))  # IOCTL 38400 8N1
    assert far_cmd.recv_exact(3) == b"\x10OK"
    port.baudrate = 38400
    port.write(b"after")
    assert far.recv_exact(5) == b"after"
    far.send(b"back")
    assert port.read(4) == b"back"
    assert monitor(bench.gate, 1)["serial"]["baud"] == 38400


# ---------------------------------------------------------------- status and reconnect


def test_status_line_on_sigusr1(bench):
    c = bench.realcom()
    assert "idle (no application has the link open)" in c.status()[0]
    port = bench.open(baudrate=4800)
    bench.session_up()
    line = c.status()[0]
    assert f"{bench.link} → /dev/pts/" in line, line
    assert f"connected to {sgtest.LOOPBACK} (data {bench.data}, command {bench.command})" in line
    assert "application open" in line
    assert "4800 8N1" in line
    assert "device lines DSR" in line, "PORT_INIT's reply reports DSR/CTS/DCD"
    port.close()


def dropped(client):
    m = re.search(r"dropped (\d+) B", client.status()[0])
    return int(m.group(1)) if m else 0


def test_reconnects_after_the_device_restarts_and_the_link_stays(bench):
    c = bench.realcom()
    target = os.readlink(bench.link)
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, b"before")
    far.close()

    bench.gate.stop()
    c.wait_log("reconnecting", timeout=CONNECT_TIMEOUT)
    assert os.readlink(bench.link) == target
    # While the device is unreachable the application is not blocked: 16 KiB are held for the
    # next session, the rest is dropped and counted.
    port.write(b"x" * 40000)
    wait_until(lambda: dropped(c) > 0, sgtest.IO_TIMEOUT, interval=0.2, what="dropped bytes")

    bench.serve()
    bench.session_up(timeout=RECONNECT_TIMEOUT)
    assert os.readlink(bench.link) == target
    far = bench.far(port)
    exchange(port, far, bytes(range(256)))
    assert c.status()[0].endswith("sessions 2")


@pytest.fixture
def fast_polls(monkeypatch):
    # The serve's alive polls (spec §5: 40 s idle, then every 3 s) × 0.05, read at its start.
    monkeypatch.setenv("SG_TEST_REALCOM_POLL_SCALE", "0.05")


def test_alive_polls_are_answered_and_the_idle_session_stays(fast_polls, bench):
    c = bench.realcom()
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    # Idle: polls after 2 s, every 150 ms; unanswered, the device would close the session
    # after the fourth (~2.6 s). Three idle windows pass.
    c.wait_log("→ ALIVE", timeout=sgtest.IO_TIMEOUT)
    time.sleep(8)
    log = c.log()
    assert log.count("→ ALIVE") >= 2, log
    assert "reconnecting" not in log, log
    exchange(port, far, b"still here")
    assert c.status()[0].endswith("sessions 1")


def test_application_flushes_become_flush_commands(bench):
    c = bench.realcom()
    port = bench.open()
    bench.session_up()
    c.wait_log("PORT_INIT reply")
    port.reset_output_buffer()  # tcflush(TCOFLUSH) → TIOCPKT_FLUSHWRITE → FLUSH 1 (tx)
    c.wait_log("application flushed its output buffer: FLUSH 1")
    port.reset_input_buffer()  # tcflush(TCIFLUSH) → FLUSH 0 (rx)
    c.wait_log("application flushed its input buffer: FLUSH 0")


def test_several_ports_from_one_config_file(bench, tmp_path):
    # Two links in one process: port 1 (Real COM) and port 2 (TCP Server, whose command port
    # speaks the same ASPP, spec §1) are the two ends of one simulated cable, so what one
    # application writes the other reads.
    links = [tmp_path / "ttyA", tmp_path / "ttyB"]
    cfg = tmp_path / "ports.yaml"
    cfg.write_text(sgtest.to_yaml([
        {"device": sgtest.LOOPBACK, "port": 1, "link": str(links[0]),
         "data_port": bench.data, "command_port": bench.command},
        {"device": sgtest.LOOPBACK, "port": 2, "link": str(links[1]),
         "data_port": bench.far_data, "command_port": bench.far_command},
    ]) + "\n")
    c = Realcom(tmp_path, ["--config", cfg])
    bench.clients.append(c)
    c.wait_log("waiting for an application", timeout=sgtest.START_TIMEOUT)
    assert all(os.path.islink(p) for p in links)
    a = serial.Serial(str(links[0]), baudrate=115200, timeout=sgtest.IO_TIMEOUT)
    b = serial.Serial(str(links[1]), baudrate=115200, timeout=sgtest.IO_TIMEOUT)
    bench.ports += [a, b]
    wait_until(lambda: monitor(bench.gate, 1)["peers"] and monitor(bench.gate, 2)["peers"],
               CONNECT_TIMEOUT, interval=0.1, what="both sessions")
    payload = bytes(range(256))
    a.write(payload)
    assert b.read(len(payload)) == payload
    b.write(payload[::-1])
    assert a.read(len(payload)) == payload[::-1]
    c.stop()
    assert not any(os.path.lexists(p) for p in links)
