"""modes/test_real_com.py: Real COM mode (shared/specs/realcom-aspp.md) and the ASPP command port
of TCP Server mode, driven byte by byte from Python.

The ASPP encoder and the reply parser below are written from the spec text, not from SerialGate's
C++ (a conformance client, spec §8). The port under test serves `sim:null-modem:<cable>`; port 2
serves the cable's other end in TCP Server mode, so the test sees what the line does from the far
side: its data port carries the bytes, its own ASPP command port (spec §1) drives and reads the far
end's lines, and `serialgate status --format json` shows line settings, modem lines and line
errors of both ends.

The alive-poll timing (40 s / 3 s) is shortened only through the hidden environment variable
SG_TEST_REALCOM_POLL_SCALE, set for the serve process of the poll tests.
"""

import json
import time

import pytest

import sgtest
from sgtest import Client, make_config, serial_settings, tcp_server_port, wait_until

QUIET = 0.4  # "nothing arrives within" windows; only ever used to assert absence

# ---------------------------------------------------------------- ASPP from the spec text

# Spec §3 opcodes.
IOCTL, FLOWCTRL, LINECTRL, LSTATUS, FLUSH, IQUEUE, OQUEUE, SETBAUD, XONXOFF = range(0x10, 0x19)
PORT_RESET, START_BREAK, STOP_BREAK, BREAK_SEND, START_NOTIFY, STOP_NOTIFY = range(0x20, 0x26)
NOTIFY, POLL, ALIVE = 0x26, 0x27, 0x28
LINK_NAME, PORT_INIT, RESENT_TIME, WAIT_OQUEUE = 0x2B, 0x2C, 0x2E, 0x2F
TX_FIFO, SET_COMM, DSR_SENSITIVITY, SETXON, SETXOFF = 0x30, 0x31, 0x32, 0x33, 0x34
FLUSH_START, FLUSH_STOP, BREAK_COUNT, DATA_STATUS = 0x35, 0x36, 0x37, 0x38

# Spec §4 baud indexes used here, and mode byte parts.
B9600, B19200, B38400, B115200, CUSTOM = 6, 7, 8, 10, 0xFF
DATA7, DATA8, STOP2, EVEN, ODD = 0x02, 0x03, 0x04, 0x08, 0x10


def msg(opcode, *payload):
    """`opcode length payload` (spec §2)."""
    body = bytes(payload)
    return bytes([opcode, len(body)]) + body


def ok(opcode):
    return bytes([opcode]) + b"OK"


def na(opcode):
    return bytes([opcode]) + b"NA"


def le32(v):
    return v.to_bytes(4, "little")


class Aspp:
    """One Real COM session as a driver opens it (spec §6: data channel, then command channel)."""

    def __init__(self, data_port, command_port, connect_data=True):
        self.data = Client(data_port) if connect_data else None
        self.cmd = Client(command_port)
        self.buf = b""

    def send(self, raw):
        self.cmd.send(raw)

    def _fill(self, n, timeout):
        while len(self.buf) < n:
            more = self.cmd.recv_exact(1, timeout=timeout)
            self.buf += more + self.cmd.recv_for(0.0)

    def message(self, timeout=sgtest.IO_TIMEOUT):
        """The next device → host message as raw bytes, framed per spec §2/§4."""
        self._fill(1, timeout)
        if self.buf[0] == NOTIFY:  # always 4 bytes, no length
            n = 4
        else:
            self._fill(2, timeout)
            n = 2 + self.buf[1]
            if self.buf[1] in (ord("O"), ord("N")):
                self._fill(3, timeout)
                if self.buf[1:3] in (b"OK", b"NA"):
                    n = 3
        self._fill(n, timeout)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self, timeout=sgtest.IO_TIMEOUT, skip_notify=True):
        """The next message that is not a NOTIFY (unless skip_notify is False)."""
        while True:
            m = self.message(timeout)
            if not (skip_notify and m[0] == NOTIFY):
                return m

    def request(self, raw):
        self.send(raw)
        return self.reply()

    def notify(self, timeout=sgtest.IO_TIMEOUT, want=lambda m: True):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching NOTIFY arrived")
            m = self.message(left)
            if m[0] == NOTIFY and want(m):
                return m

    def nothing_within(self, seconds):
        more = self.cmd.recv_for(seconds)
        return self.buf + more

    def close(self):
        if self.data:
            self.data.close()
        self.cmd.close()


# ---------------------------------------------------------------- fixtures


def real_com_port(number, device, data_port, command_port, serial=None, **mode):
    m = {"type": "real_com", "data_port": data_port, "command_port": command_port}
    m.update(mode)
    return {"port": number, "device": device,
            "serial": serial if serial is not None else serial_settings(), "mode": m}


def port_status(gate, number):
    """Port `number` as `serialgate status --format json` shows it (the port monitor)."""
    r = sgtest.assert_rc(gate.run("status", "--data-dir", gate.data_dir, "--format", "json"),
                         sgtest.EXIT_OK)
    return {p["number"]: p for p in json.loads(r.stdout)["ports"]}[number]


def wait_status(gate, number, part, **want):
    def match():
        got = port_status(gate, number)[part]
        return got if got and all(got[k] == v for k, v in want.items()) else None
    return wait_until(match, sgtest.APPLY_TIMEOUT, interval=0.1, what=f"port {number} {want}")


class Bench:
    """Port 1: Real COM on one end of a null-modem cable; port 2: TCP Server on the other end."""

    def __init__(self, gate, free_ports, serial=None, peer_serial=None, **mode):
        self.gate = gate
        self.data, self.command, self.peer_data, self.peer_command = free_ports(4)
        self.configured = serial if serial is not None else serial_settings()
        gate.serve(config=make_config([
            real_com_port(1, "sim:null-modem:rc", self.data, self.command, serial=self.configured,
                          **mode),
            tcp_server_port(2, "sim:null-modem:rc", self.peer_data, self.peer_command,
                            serial=peer_serial)]),
            wait_ports=[self.data, self.command, self.peer_data, self.peer_command])
        self._peer_cmd = None

    def session(self, connect_data=True):
        return Aspp(self.data, self.command, connect_data)

    def status(self, number=1):
        return port_status(self.gate, number)

    def serial(self, number=1):
        return self.status(number)["serial"]

    def wait_serial(self, number=1, **want):
        return wait_status(self.gate, number, "serial", **want)

    def wait_modem(self, number=1, **want):
        return wait_status(self.gate, number, "modem", **want)

    def peer_client(self):
        """A client of the far end's data port, known to be served: TCP Server drops the line's
        bytes while it has no client, and connect() returns before serve has taken the client."""
        return sgtest.served_client(self.gate, 2, self.peer_data)

    def peer(self):
        """ASPP on the far end's TCP Server command port (max connections 1: line control)."""
        if self._peer_cmd is None:
            self._peer_cmd = Aspp(None, self.peer_command, connect_data=False)
        return self._peer_cmd

    def peer_lines(self, dtr, rts):
        assert self.peer().request(msg(LINECTRL, dtr, rts)) == ok(LINECTRL)


@pytest.fixture
def bench(admin_gate, free_ports):
    made = []

    def make(**kw):
        b = Bench(admin_gate, free_ports, **kw)
        made.append(b)
        return b
    return make


# ---------------------------------------------------------------- line settings


def test_ioctl_sets_baud_data_bits_stop_bits_and_parity(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(IOCTL, B9600, DATA7 | STOP2 | EVEN)) == ok(IOCTL)
    b.wait_serial(baud=9600, data_bits=7, stop_bits="2", parity="even")
    assert s.request(msg(IOCTL, B38400, DATA8 | ODD)) == ok(IOCTL)
    b.wait_serial(baud=38400, data_bits=8, stop_bits="1", parity="odd")
    assert s.request(msg(IOCTL, 0, 0x00 | STOP2)) == ok(IOCTL)  # 5 data bits: 1.5 stop bits
    b.wait_serial(baud=300, data_bits=5, stop_bits="1.5", parity="none")
    assert s.request(msg(IOCTL, 42, DATA8 | 0x18)) == ok(IOCTL)  # unknown index → 38400; mark
    b.wait_serial(baud=38400, parity="mark")
    assert s.request(msg(IOCTL, B115200, DATA8 | 0x20)) == ok(IOCTL)
    b.wait_serial(baud=115200, parity="space")


def test_setbaud_custom_rate_and_refusal(bench):
    b = bench()
    s = b.session()
    # PORT_INIT with index 0xFF then SETBAUD in the same segment, as a driver opens at 200 baud.
    s.send(msg(PORT_INIT, CUSTOM, DATA8, 1, 1, 0, 0, 0, 0) + msg(SETBAUD, *le32(123457)))
    init = s.reply()
    assert init[:2] == bytes([PORT_INIT, 3])
    assert s.reply() == ok(SETBAUD)
    b.wait_serial(baud=123457, data_bits=8)
    assert s.request(msg(SETBAUD, *le32(49))) == na(SETBAUD)
    assert s.request(msg(SETBAUD, *le32(921601))) == na(SETBAUD)
    assert s.request(msg(SETBAUD, *le32(38400))) == ok(SETBAUD)  # bytes above 0x7F
    b.wait_serial(baud=38400)
    assert s.request(msg(IOCTL, CUSTOM, DATA7)) == ok(IOCTL)  # 0xFF keeps the rate
    b.wait_serial(baud=38400, data_bits=7)


def test_flowctrl(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(FLOWCTRL, 1, 1, 0, 0)) == ok(FLOWCTRL)
    b.wait_serial(flow_control="rts_cts")
    assert s.request(msg(FLOWCTRL, 0, 0, 1, 1)) == ok(FLOWCTRL)
    b.wait_serial(flow_control="xon_xoff")
    assert s.request(msg(FLOWCTRL, 0, 0, 0, 0)) == ok(FLOWCTRL)
    b.wait_serial(flow_control="none")


def test_linectrl_is_seen_on_the_far_end_and_lstatus_reads_it_back(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(LINECTRL, 0, 0)) == ok(LINECTRL)
    b.wait_modem(1, dtr=False, rts=False)
    b.wait_modem(2, cts=False, dsr=False, dcd=False)  # crossed: our RTS → CTS, DTR → DSR+DCD
    assert s.request(msg(LINECTRL, 1, 0)) == ok(LINECTRL)
    b.wait_modem(2, cts=False, dsr=True, dcd=True)
    assert s.request(msg(LINECTRL, 0, 1)) == ok(LINECTRL)
    b.wait_modem(2, cts=True, dsr=False, dcd=False)

    # The far end drives our inputs; LSTATUS answers DSR CTS DCD.
    b.peer_lines(dtr=1, rts=0)
    b.wait_modem(1, dsr=True, cts=False)
    assert s.request(msg(LSTATUS)) == bytes([LSTATUS, 3, 1, 0, 1])
    b.peer_lines(dtr=0, rts=1)
    b.wait_modem(1, dsr=False, cts=True)
    assert s.request(msg(LSTATUS)) == bytes([LSTATUS, 3, 0, 1, 0])


def test_port_init_applies_everything_and_answers_the_lines(bench):
    b = bench()
    b.peer_lines(dtr=1, rts=1)
    s = b.session()
    assert s.request(msg(PORT_INIT, B19200, DATA7 | EVEN, 1, 0, 1, 1, 0, 0)) == \
        bytes([PORT_INIT, 3, 1, 1, 1])
    b.wait_serial(baud=19200, data_bits=7, parity="even", flow_control="rts_cts")
    b.wait_modem(1, dtr=True, rts=False)


def test_every_acknowledged_command_answers_ok(bench):
    b = bench()
    s = b.session()
    for raw, opcode in [
        (msg(XONXOFF, 0x11, 0x13), XONXOFF),
        (msg(PORT_RESET, *b"16a"), PORT_RESET),
        (msg(LINK_NAME, *b"host-a"), LINK_NAME),
        (msg(RESENT_TIME, *le32(500)), RESENT_TIME),
        (msg(TX_FIFO, 16), TX_FIFO),
        (msg(SET_COMM, 0, 16, 0, 16, 0, 0), SET_COMM),
        (msg(DSR_SENSITIVITY, 0), DSR_SENSITIVITY),
        (msg(STOP_NOTIFY), STOP_NOTIFY),
        (msg(FLUSH, 0), FLUSH),
        (msg(FLUSH_STOP), FLUSH_STOP),
    ]:
        assert s.request(raw) == ok(opcode), hex(opcode)
    assert s.request(msg(TX_FIFO, 1)) == ok(TX_FIFO)
    q = s.request(msg(IQUEUE))
    assert q[:2] == bytes([IQUEUE, 2])
    assert s.request(msg(FLUSH_START, 2, *le32(100))) == bytes([FLUSH_START, 4, 0, 0, 0, 0])


# ---------------------------------------------------------------- queues and flow


def test_setxoff_holds_output_oqueue_wait_oqueue_flush_and_setxon(bench):
    b = bench()
    s = b.session()
    peer = b.peer_client()
    assert s.request(msg(SETXOFF)) == ok(SETXOFF)
    s.data.send(b"held back")
    # The bytes wait in the output queue (spec: OQUEUE) while TX is held.
    wait_until(lambda: s.request(msg(OQUEUE)) == bytes([OQUEUE, 2, 9, 0]), sgtest.IO_TIMEOUT,
               interval=0.05, what="OQUEUE 9")
    assert s.request(msg(WAIT_OQUEUE, *le32(200))) == bytes([WAIT_OQUEUE, 2, 9, 0])  # timed out
    assert peer.recv_for(QUIET) == b""
    # FLUSH tx drops them; SETXON resumes and nothing of them arrives.
    assert s.request(msg(FLUSH, 1)) == ok(FLUSH)
    assert s.request(msg(OQUEUE)) == bytes([OQUEUE, 2, 0, 0])
    assert s.request(msg(SETXON)) == ok(SETXON)
    s.data.send(b"fresh")
    assert peer.recv_exact(5) == b"fresh"
    # tcdrain(): answered once drained, with 0.
    assert s.request(msg(WAIT_OQUEUE, *le32(5000))) == bytes([WAIT_OQUEUE, 2, 0, 0])
    assert peer.recv_for(QUIET) == b""


def test_wait_oqueue_answers_when_held_output_drains(bench):
    b = bench()
    s = b.session()
    peer = b.peer_client()
    assert s.request(msg(SETXOFF)) == ok(SETXOFF)
    s.data.send(b"drain me")
    wait_until(lambda: s.request(msg(OQUEUE)) == bytes([OQUEUE, 2, 8, 0]), sgtest.IO_TIMEOUT,
               interval=0.05, what="OQUEUE 8")
    s.send(msg(WAIT_OQUEUE, *le32(20000)))
    assert s.nothing_within(QUIET) == b""  # not drained: no answer yet
    assert s.request(msg(SETXON)) == ok(SETXON)
    assert s.reply() == bytes([WAIT_OQUEUE, 2, 0, 0])
    assert peer.recv_exact(8) == b"drain me"


# ---------------------------------------------------------------- breaks and line errors


def test_breaks_start_stop_and_send_are_seen_by_the_far_end(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(START_BREAK)) == ok(START_BREAK)
    wait_until(lambda: b.status(2)["line_errors"]["breaks"] == 1, sgtest.APPLY_TIMEOUT,
               what="a break at the far end")
    assert s.request(msg(STOP_BREAK)) == ok(STOP_BREAK)
    assert s.request(msg(BREAK_SEND, 0x00, 0x64)) == ok(BREAK_SEND)  # 100 ms, big-endian
    wait_until(lambda: b.status(2)["line_errors"]["breaks"] == 2, sgtest.APPLY_TIMEOUT,
               what="a second break at the far end")
    # Out of 10..1000 ms: ignored unanswered, as the device does; the next reply is LSTATUS's.
    s.send(msg(BREAK_SEND, 0x00, 0x05))
    assert s.request(msg(LSTATUS))[0] == LSTATUS


def test_break_count_and_data_status(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(BREAK_COUNT)) == bytes([BREAK_COUNT, 2, 0, 0])
    assert b.peer().request(msg(BREAK_SEND, 0x00, 0x0A)) == ok(BREAK_SEND)
    wait_until(lambda: b.status(1)["line_errors"]["breaks"] == 1, sgtest.APPLY_TIMEOUT,
               what="a break received")
    assert s.request(msg(BREAK_COUNT)) == bytes([BREAK_COUNT, 2, 0, 1])
    assert s.request(msg(BREAK_COUNT)) == bytes([BREAK_COUNT, 2, 0, 0])  # reset by the read
    # Parity only differs: the far end's bytes arrive with parity errors.
    assert s.request(msg(IOCTL, B115200, DATA8 | EVEN)) == ok(IOCTL)
    b.wait_serial(parity="even")
    Client(b.peer_data).send(b"xyz")
    wait_until(lambda: b.status(1)["line_errors"]["parity"] > 0, sgtest.APPLY_TIMEOUT,
               what="parity errors")
    assert s.request(msg(DATA_STATUS)) == bytes([DATA_STATUS, 1, 0x01])
    assert s.request(msg(DATA_STATUS)) == bytes([DATA_STATUS, 1, 0x00])


# ---------------------------------------------------------------- framing of the stream


def test_unknown_opcodes_are_skipped_by_length(bench):
    b = bench()
    s = b.session()
    # 0x19 (wrongly SETXON in one client), 0x7F with a payload that looks like commands, and a
    # known opcode with a wrong length: none is answered; LSTATUS after them is.
    s.send(msg(0x19) + msg(0x7F, LSTATUS, 0, LSTATUS, 0) + bytes([IOCTL, 1, 6]) + msg(LSTATUS))
    assert s.message()[:2] == bytes([LSTATUS, 3])
    assert s.nothing_within(QUIET) == b""


def test_messages_split_at_every_byte_and_coalesced(bench):
    b = bench()
    s = b.session()
    wire = msg(IOCTL, B9600, DATA8) + msg(SETBAUD, *le32(4800)) + msg(LSTATUS)
    for byte in wire:
        s.send(bytes([byte]))
        time.sleep(0.01)
    assert s.reply() == ok(IOCTL)
    assert s.reply() == ok(SETBAUD)
    assert s.reply()[:2] == bytes([LSTATUS, 3])
    b.wait_serial(baud=4800)
    s.send(msg(IOCTL, B19200, DATA8) + msg(FLOWCTRL, 0, 0, 0, 0) + msg(OQUEUE))
    assert [s.reply(), s.reply(), s.reply()] == [ok(IOCTL), ok(FLOWCTRL), bytes([OQUEUE, 2, 0, 0])]


# ---------------------------------------------------------------- NOTIFY


def test_notify_reports_modem_line_changes_with_deltas(bench):
    b = bench()
    b.peer_lines(dtr=0, rts=0)
    b.wait_modem(1, cts=False, dsr=False, dcd=False)
    s = b.session()
    assert s.request(msg(START_NOTIFY)) == ok(START_NOTIFY)
    assert s.nothing_within(QUIET) == b""  # nothing changed yet: no NOTIFY
    b.peer_lines(dtr=0, rts=1)  # our CTS on
    assert s.notify() == bytes([NOTIFY, 0x20, 0x10 | 0x01, 0x80])
    b.peer_lines(dtr=1, rts=1)  # our DSR and DCD on
    assert s.notify() == bytes([NOTIFY, 0x20, 0x10 | 0x20 | 0x80 | 0x02 | 0x08, 0x80])
    b.peer_lines(dtr=0, rts=1)  # DSR and DCD off again
    assert s.notify() == bytes([NOTIFY, 0x20, 0x10 | 0x02 | 0x08, 0x80])
    # Off: changes are not reported; on again: what is pending comes at once.
    assert s.request(msg(STOP_NOTIFY)) == ok(STOP_NOTIFY)
    b.peer_lines(dtr=0, rts=0)
    b.wait_modem(1, cts=False)
    assert s.nothing_within(QUIET) == b""
    assert s.request(msg(START_NOTIFY)) == ok(START_NOTIFY)
    assert s.notify() == bytes([NOTIFY, 0x20, 0x01, 0x80])


def test_notify_reports_hold_by_cts_with_rts_cts_flow(bench):
    b = bench()
    b.peer_lines(dtr=1, rts=1)
    s = b.session()
    assert s.request(msg(PORT_INIT, B115200, DATA8, 1, 1, 1, 1, 0, 0)) == \
        bytes([PORT_INIT, 3, 1, 1, 1])
    b.peer_lines(dtr=1, rts=0)  # CTS off while flow is rts_cts: TX held by CTS
    m = s.notify()
    assert m[1] & 0x20 and m[2] == 0x20 | 0x80 | 0x01 and m[3] == 0x80 | 0x01


def test_notify_reports_line_errors_and_breaks(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(PORT_INIT, B115200, DATA8 | EVEN, 1, 1, 0, 0, 0, 0))[0] == PORT_INIT
    Client(b.peer_data).send(b"parity")  # the far end sends without parity
    assert s.notify(want=lambda m: m[1] & 0x01)[3] & 0x80
    assert s.request(msg(IOCTL, B9600, DATA8)) == ok(IOCTL)  # now the rate differs
    Client(b.peer_data).send(b"framing")
    s.notify(want=lambda m: m[1] & 0x02)
    assert b.peer().request(msg(BREAK_SEND, 0x00, 0x0A)) == ok(BREAK_SEND)
    s.notify(want=lambda m: m[1] & 0x10)


# ---------------------------------------------------------------- alive poll (spec §5)


@pytest.fixture
def fast_polls(monkeypatch):
    # 40 s → 2 s idle, 3 s → 150 ms repeat (SG_TEST_REALCOM_POLL_SCALE, read by serve at start).
    monkeypatch.setenv("SG_TEST_REALCOM_POLL_SCALE", "0.05")


def test_silent_session_is_closed_after_unanswered_polls(fast_polls, bench):
    b = bench()
    s = b.session()
    assert s.request(msg(START_NOTIFY)) == ok(START_NOTIFY)
    ids = []
    while True:  # the polls, until the device gives up and closes
        try:
            m = s.message(timeout=15)
        except AssertionError as e:
            assert "closed" in str(e), e
            break
        assert m[:2] == bytes([POLL, 1]) and m[2] != 0
        ids.append(m[2])
    assert len(ids) == 4, ids  # more than 3 unanswered: closed at the 5th due time
    assert len(set(ids)) == 4
    assert s.data.wait_closed()  # the data connection goes with it


def test_answered_polls_keep_the_session_open(fast_polls, bench):
    b = bench()
    s = b.session()
    peer = b.peer_client()
    assert s.request(msg(START_NOTIFY)) == ok(START_NOTIFY)
    answered = 0
    deadline = time.monotonic() + 8  # 4 idle periods: a silent session would be closed twice
    while time.monotonic() < deadline:
        m = s.cmd.recv_for(0.05)
        s.buf += m
        while len(s.buf) >= 3 and s.buf[0] == POLL:
            assert s.buf[1] == 1, s.buf
            s.send(msg(ALIVE, s.buf[2]))
            s.buf = s.buf[3:]
            answered += 1
        assert not s.buf or s.buf[0] == POLL, s.buf
    assert answered >= 2
    s.data.send(b"still here")
    assert peer.recv_exact(10) == b"still here"


def test_no_polls_while_notifications_are_off(fast_polls, bench):
    b = bench()
    s = b.session()
    assert s.nothing_within(3.0) == b""  # past the 2 s idle time
    assert s.request(msg(LSTATUS))[0] == LSTATUS


# ---------------------------------------------------------------- sessions


def test_data_both_ways(bench):
    b = bench()
    s = b.session()
    peer = b.peer_client()
    s.data.send(b"to the line")
    assert peer.recv_exact(11) == b"to the line"
    peer.send(b"from the line")
    assert s.data.recv_exact(13) == b"from the line"


def test_shared_mode_fans_out_and_ignores_line_settings(bench):
    b = bench(max_connections=2)
    s1, s2 = b.session(), b.session()
    peer = b.peer_client()
    assert s1.request(msg(IOCTL, B9600, DATA7 | EVEN)) == ok(IOCTL)
    assert s2.request(msg(SETBAUD, *le32(1200))) == ok(SETBAUD)  # acknowledged ...
    assert s1.request(msg(LINECTRL, 0, 0)) == ok(LINECTRL)
    assert s1.request(msg(PORT_INIT, B19200, DATA7, 0, 0, 1, 1, 0, 0))[0] == PORT_INIT
    time.sleep(QUIET)
    serial = b.serial()  # ... and ignored
    assert (serial["baud"], serial["data_bits"], serial["parity"], serial["flow_control"]) == \
        (115200, 8, "none", "none")
    assert b.status()["modem"]["dtr"] and b.status()["modem"]["rts"]
    # WAIT_OQUEUE and FLUSH_START are answered at once in shared mode.
    assert s2.request(msg(WAIT_OQUEUE, *le32(5000))) == bytes([WAIT_OQUEUE, 2, 0, 0])
    # Serial input reaches both sessions; both may write.
    peer.send(b"fan-out")
    assert s1.data.recv_exact(7) == b"fan-out"
    assert s2.data.recv_exact(7) == b"fan-out"
    s1.data.send(b"one,")
    assert peer.recv_exact(4) == b"one,"
    s2.data.send(b"two")
    assert peer.recv_exact(3) == b"two"
    # A third host is refused: accepted and closed.
    extra = Client(b.data)
    assert extra.wait_closed()
    extra_cmd = Client(b.command)
    assert extra_cmd.wait_closed()


def test_shared_mode_with_allow_driver_control_applies_line_settings(bench):
    b = bench(max_connections=2, allow_driver_control=True)
    s = b.session()
    assert s.request(msg(IOCTL, B9600, DATA7 | EVEN)) == ok(IOCTL)
    b.wait_serial(baud=9600, data_bits=7, parity="even")


def test_real_tty_refuses_a_second_session(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(LSTATUS))[0] == LSTATUS
    assert Client(b.data).wait_closed()
    ev = b.gate.wait_event("serial.refused")
    assert ev


def test_session_end_restores_settings_and_closes_the_command_connection(bench):
    b = bench()
    s = b.session()
    assert s.request(msg(IOCTL, B9600, DATA7 | EVEN)) == ok(IOCTL)
    assert s.request(msg(LINECTRL, 0, 0)) == ok(LINECTRL)
    b.wait_serial(baud=9600, data_bits=7, parity="even")
    b.wait_modem(1, dtr=False, rts=False)
    s.data.close()
    assert s.cmd.wait_closed()  # spec §1: the command connection goes with the data connection
    b.wait_serial(baud=115200, data_bits=8, parity="none")  # configured settings again
    b.wait_modem(1, dtr=True, rts=True)
    # A new session works as the first did.
    s2 = b.session()
    assert s2.request(msg(LSTATUS))[0] == LSTATUS


def test_command_connection_first_waits_for_its_data_connection(bench):
    b = bench()
    s = b.session(connect_data=False)
    assert s.request(msg(LSTATUS))[0] == LSTATUS  # commands work meanwhile
    # The far end's client first, known to be served: serial bytes with no client are dropped.
    peer = b.peer_client()
    s.data = Client(b.data)
    # The data session runs once its bytes reach the far end (then the line's bytes have a
    # client on this side too; without it "paired" could cross the line before the data
    # connection was paired — seen with the ports on two io threads under ThreadSanitizer).
    s.data.send(b"sync")
    assert peer.recv_exact(4) == b"sync"
    peer.send(b"paired")
    assert s.data.recv_exact(6) == b"paired"
    s.data.close()
    assert s.cmd.wait_closed()  # it was this session's command connection


# ---------------------------------------------------------------- TCP Server command port


def test_tcp_server_command_port_changes_the_line_with_one_connection(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command)]),
                     wait_ports=[local, command])
    c = Aspp(None, command, connect_data=False)
    assert c.request(msg(IOCTL, B9600, DATA7 | ODD)) == ok(IOCTL)
    wait_status(admin_gate, 1, "serial", baud=9600, data_bits=7, parity="odd")
    assert c.request(msg(SETBAUD, *le32(250000))) == ok(SETBAUD)
    wait_status(admin_gate, 1, "serial", baud=250000)
    assert c.request(msg(LSTATUS)) == bytes([LSTATUS, 3, 1, 1, 1])  # sim:echo asserts all
    # Alive polls and NOTIFY belong to Real COM only.
    assert c.request(msg(START_NOTIFY)) == ok(START_NOTIFY)
    assert c.request(msg(LINECTRL, 0, 0)) == ok(LINECTRL)
    assert c.nothing_within(QUIET) == b""
    # Data still flows on the data port.
    d = Client(local)
    d.send(b"echo")
    assert d.recv_exact(4) == b"echo"


def test_tcp_server_command_port_ignores_line_settings_when_shared(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command,
                                                         max_connections=2)]),
                     wait_ports=[local, command])
    c = Aspp(None, command, connect_data=False)
    assert c.request(msg(IOCTL, B9600, DATA7 | ODD)) == ok(IOCTL)
    assert c.request(msg(SETBAUD, *le32(1200))) == ok(SETBAUD)
    time.sleep(QUIET)
    serial = port_status(admin_gate, 1)["serial"]
    assert (serial["baud"], serial["data_bits"], serial["parity"]) == (115200, 8, "none")


def test_tcp_server_serves_data_when_its_command_port_is_taken(admin_gate, free_ports):
    import socket
    local, = free_ports(1)
    taken = socket.socket()
    taken.bind((sgtest.LOOPBACK, 0))
    taken.listen()
    command = taken.getsockname()[1]
    try:
        admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command)]),
                         wait_ports=[local])
        d = Client(local)
        d.send(b"echo")
        assert d.recv_exact(4) == b"echo"
        admin_gate.wait_event("serial.mode_failed", lambda e: "command port" in e["message"])
    finally:
        taken.close()


# ---------------------------------------------------------------- a real tty (spec §8)


def termios2(fd):
    """(iflag, cflag, cc, ospeed) of the tty behind fd, through TCGETS2 (any baud rate)."""
    import fcntl
    import struct
    layout = struct.Struct("IIIIB19sII")  # iflag oflag cflag lflag line cc[19] ispeed ospeed
    buf = bytearray(layout.size)
    fcntl.ioctl(fd, 0x802C542A, buf)  # TCGETS2 = _IOR('T', 0x2A, struct termios2)
    iflag, _oflag, cflag, _lflag, _line, cc, _ispeed, ospeed = layout.unpack(buf)
    return iflag, cflag, cc, ospeed


def test_commands_change_the_termios_of_a_pty(admin_gate, pty, free_ports):
    # A pty keeps speed, CSTOPB, CRTSCTS, IXON/IXOFF and the control characters it is given (it
    # forces CS8 and no parity, so those are checked on the sim ports above).
    import termios
    data, command = free_ports(2)
    admin_gate.serve(config=make_config([real_com_port(1, pty.path, data, command)]),
                     wait_ports=[data, command])
    s = Aspp(data, command)

    def tty(pred, what):
        return wait_until(lambda: pred(*termios2(pty.slave)), sgtest.APPLY_TIMEOUT, what=what)

    assert s.request(msg(PORT_INIT, B9600, DATA8 | STOP2, 1, 1, 1, 1, 0, 0))[:2] == \
        bytes([PORT_INIT, 3])  # a pty has no modem lines: what it answers is not checked
    tty(lambda i, c, cc, speed: speed == 9600 and c & termios.CSTOPB and c & termios.CRTSCTS,
        "9600 baud, 2 stop bits, CRTSCTS")
    assert s.request(msg(SETBAUD, *le32(250000))) == ok(SETBAUD)
    tty(lambda i, c, cc, speed: speed == 250000, "250000 baud")
    assert s.request(msg(XONXOFF, 0x01, 0x02)) == ok(XONXOFF)
    assert s.request(msg(FLOWCTRL, 0, 0, 1, 1)) == ok(FLOWCTRL)
    tty(lambda i, c, cc, speed: (i & (termios.IXON | termios.IXOFF)) ==
        (termios.IXON | termios.IXOFF) and not c & termios.CRTSCTS and
        cc[termios.VSTART] == 0x01 and cc[termios.VSTOP] == 0x02, "XON/XOFF with chars 1/2")
    assert s.request(msg(IOCTL, B19200, DATA8)) == ok(IOCTL)
    tty(lambda i, c, cc, speed: speed == 19200 and not c & termios.CSTOPB, "19200, 1 stop bit")
    # Data both ways through the tty.
    s.data.send(b"to tty")
    assert pty.read_exact(6) == b"to tty"
    pty.write(b"from tty")
    assert s.data.recv_exact(8) == b"from tty"
    # The session ends: configured settings (115200, no flow control, default XON/XOFF) return.
    s.data.close()
    assert s.cmd.wait_closed()
    tty(lambda i, c, cc, speed: speed == 115200 and not i & termios.IXON and
        cc[termios.VSTART] == 0x11 and cc[termios.VSTOP] == 0x13, "configured settings again")
