"""modes/test_rfc2217.py: RFC 2217 mode (device ref. §3; RFC 854/855/2217) against peers we did not
write: pyserial's rfc2217:// client, gensio's `gensiot` with telnet(rfc2217), and a plain socket
speaking the RFC byte by byte where a client library hides the wire.

Every effect is checked on the other end of a simulated null-modem cable (src/serial/sim_device.h):
port 1 runs RFC 2217 on one end, port 2 serves the other end (TCP Server, or RFC 2217 for the
modem lines). The simulated UART garbles every byte (XOR 0xFF) while the two ends' rate, data bits,
parity or stop bits disagree, so "intact after the change, garbled before" proves a setting reached
the line; `serialgate status` shows the settings and modem lines in force."""

import json
import random
import subprocess
import threading
import time

import pytest
import serial  # python3-serial

import sgtest
from sgtest import Client, make_config, serial_settings, tcp_server_port, wait_until

QUIET = 0.3  # "nothing arrives within" windows: short, and only ever asserting absence

IAC, SB, SE, WILL, WONT, DO, DONT = 255, 250, 240, 251, 252, 253, 254
BINARY, ECHO, SGA, COM_PORT = 0, 1, 3, 44


def rfc2217_port(number, device, local_port, serial=None, **mode):
    m = {"type": "rfc2217", "local_port": local_port}
    m.update(mode)
    return {"port": number, "device": device,
            "serial": serial if serial is not None else serial_settings(), "mode": m}


def port_status(gate, number):
    r = sgtest.assert_rc(gate.run("status", "--data-dir", gate.data_dir, "--format", "json"),
                         sgtest.EXIT_OK)
    for p in json.loads(r.stdout)["ports"]:
        if p["number"] == number:
            return p
    raise AssertionError(f"port {number} not in status: {r.stdout[:300]}")


def garbled(data):
    return bytes(b ^ 0xFF for b in data)


# ---------------------------------------------------------------- a Telnet peer from the RFCs


class TelnetPeer:
    """A client speaking RFC 854/2217 byte by byte over a plain socket. It records what the server
    sends: data (IAC IAC unescaped), negotiations and COM-PORT subnegotiations."""

    def __init__(self, port, negotiate=True):
        self.client = Client(port)
        self.data = bytearray()
        self.negotiations = []  # (verb, option)
        self.subnegotiations = []  # (code, value bytes)
        self._state = "data"
        self._sb = bytearray()
        if negotiate:
            self.send_raw(bytes([IAC, WILL, COM_PORT, IAC, WILL, BINARY, IAC, DO, BINARY]))
            self.wait_for(lambda: (DO, COM_PORT) in self.negotiations, "DO COM-PORT-OPTION")

    def send_raw(self, raw):
        self.client.send(raw)

    def write(self, data):
        self.send_raw(data.replace(b"\xff", b"\xff\xff"))

    def sb(self, code, value=b""):
        self.send_raw(bytes([IAC, SB, COM_PORT, code]) + value.replace(b"\xff", b"\xff\xff") +
                      bytes([IAC, SE]))

    def pump(self, timeout):
        chunk = self.client._recv(1 << 16, timeout)
        if chunk == b"":
            raise AssertionError("server closed the connection")
        for b in chunk or b"":
            self._byte(b)
        return chunk

    def _byte(self, b):
        s = self._state
        if s == "data":
            if b == IAC:
                self._state = "iac"
            else:
                self.data.append(b)
        elif s == "iac":
            if b == IAC:
                self.data.append(b)
                self._state = "data"
            elif b in (WILL, WONT, DO, DONT):
                self._verb = b
                self._state = "verb"
            elif b == SB:
                self._sb = bytearray()
                self._state = "sb"
            else:
                self._state = "data"
        elif s == "verb":
            self.negotiations.append((self._verb, b))
            self._state = "data"
        elif s == "sb":
            if b == IAC:
                self._state = "sbiac"
            else:
                self._sb.append(b)
        elif s == "sbiac":
            if b == IAC:
                self._sb.append(b)
                self._state = "sb"
            else:  # SE
                assert b == SE, f"IAC {b} inside a subnegotiation"
                assert self._sb[:1] == bytes([COM_PORT]), f"subnegotiation {bytes(self._sb)!r}"
                self.subnegotiations.append((self._sb[1], bytes(self._sb[2:])))
                self._state = "data"

    def wait_for(self, predicate, what, timeout=sgtest.IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            assert left > 0, (f"no {what} within {timeout} s; negotiations {self.negotiations}, "
                              f"subnegotiations {self.subnegotiations}, data {bytes(self.data)!r}")
            self.pump(min(left, 0.2))

    def answer(self, code, timeout=sgtest.IO_TIMEOUT):
        """Waits for the next subnegotiation with `code` and returns (and consumes) its value."""
        found = []

        def got():
            for i, (c, v) in enumerate(self.subnegotiations):
                if c == code:
                    found.append(v)
                    del self.subnegotiations[i]
                    return True
            return False
        self.wait_for(got, f"COM-PORT answer {code}", timeout)
        return found[0]

    def read(self, n, timeout=sgtest.IO_TIMEOUT):
        self.wait_for(lambda: len(self.data) >= n, f"{n} data bytes", timeout)
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def read_for(self, seconds):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.pump(left)
        out = bytes(self.data)
        self.data.clear()
        return out

    def close(self):
        self.client.close()


# ---------------------------------------------------------------- fixtures


def rfc2217_url(port, **options):
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"rfc2217://127.0.0.1:{port}" + (f"?{query}" if query else "")


@pytest.fixture
def cable(admin_gate, free_ports):
    """start(serial1, serial2, other="tcp_server", **mode1) -> (rfc2217 port, port of the other
    end). Port 1 speaks RFC 2217 on end A of sim:null-modem:x; port 2 serves end B."""
    def start(serial1=None, serial2=None, other="tcp_server", **mode1):
        l1, l2, c2 = free_ports(3)
        second = (tcp_server_port(2, "sim:null-modem:x", l2, c2, serial=serial2)
                  if other == "tcp_server" else
                  rfc2217_port(2, "sim:null-modem:x", l2, serial=serial2))
        admin_gate.serve(config=make_config([
            rfc2217_port(1, "sim:null-modem:x", l1, serial=serial1, **mode1), second,
        ]), wait_ports=[l1, l2])
        return l1, l2
    return start


@pytest.fixture
def opened():
    """open(url, **kwargs) -> a pyserial port closed at teardown."""
    ports = []

    def open_(url, **kwargs):
        kwargs.setdefault("timeout", sgtest.IO_TIMEOUT)
        s = serial.serial_for_url(url, **kwargs)
        ports.append(s)
        return s
    yield open_
    for s in ports:
        s.close()


def read_exact(s, n, what):
    got = s.read(n)
    assert len(got) == n, f"{what}: {len(got)} of {n} bytes: {got[:64]!r}"
    return got


def sync_to_tcp(send, tcp, timeout=sgtest.IO_TIMEOUT):
    """Pings through `send` until the TCP client of the other end receives (both sessions run),
    then drains late pings. Garbled pings count: this only proves the path exists."""
    deadline = time.monotonic() + timeout
    i = 0
    while not tcp.recv_for(0.2):
        assert time.monotonic() < deadline, "no byte crossed the null-modem cable"
        send(b"<ping%d>" % i)
        i += 1
    while tcp.recv_for(QUIET):
        pass


def wait_free(gate, number=1):
    """The port's client has gone (a closed pyserial port is seen by serve a moment later)."""
    wait_until(lambda: not port_status(gate, number)["peers"], sgtest.APPLY_TIMEOUT,
               what=f"port {number} free")


# ---------------------------------------------------------------- data


def test_pyserial_data_both_ways_with_every_byte_value(cable, opened):
    l1, l2 = cable()
    s = opened(rfc2217_url(l1), baudrate=115200)
    tcp = Client(l2)
    sync_to_tcp(s.write, tcp)
    data = bytes(range(256)) * 8 + random.Random(2217).randbytes(8192)  # 0xFF is IAC
    s.write(data)
    assert tcp.recv_exact(len(data)) == data, "client -> serial mangled (IAC escaping?)"
    back = bytes(range(255, -1, -1)) * 8 + random.Random(854).randbytes(8192)
    tcp.send(back)
    assert read_exact(s, len(back), "serial -> client") == back
    assert tcp.recv_for(QUIET) == b"", "extra bytes on the serial side"


def test_iac_is_escaped_on_the_wire(cable):
    """Byte by byte (RFC 854): the client sends 0xFF as IAC IAC and gets it the same way."""
    l1, l2 = cable()
    peer = TelnetPeer(l1)
    tcp = Client(l2)
    sync_to_tcp(peer.write, tcp)
    peer.send_raw(b"a\xff\xffb")
    assert tcp.recv_exact(3) == b"a\xffb"
    tcp.send(b"\xff\xffc\xff")
    peer.wait_for(lambda: len(peer.data) >= 4, "4 data bytes")
    # The recorder unescapes IAC IAC; a single unescaped 0xFF would have started a command.
    assert peer.read(4) == b"\xff\xffc\xff"
    assert peer.negotiations.count((DO, COM_PORT)) == 1


def test_negotiation_signature_and_first_modem_state(cable):
    l1, _ = cable()
    peer = TelnetPeer(l1, negotiate=False)
    peer.send_raw(bytes([IAC, DO, ECHO, IAC, WILL, 24]))  # echo and terminal type: refused
    peer.wait_for(lambda: {(WONT, ECHO), (DONT, 24)} <= set(peer.negotiations), "refusals")
    for wanted in [(WILL, BINARY), (DO, BINARY), (WILL, SGA), (DO, SGA), (DO, COM_PORT)]:
        assert wanted in peer.negotiations, f"server did not offer {wanted}: {peer.negotiations}"
    peer.send_raw(bytes([IAC, WILL, COM_PORT, IAC, DO, COM_PORT]))
    peer.wait_for(lambda: (WILL, COM_PORT) in peer.negotiations, "WILL COM-PORT-OPTION")
    # The other end is open (its DTR and RTS up): CD, DSR and CTS on.
    assert peer.answer(107) == bytes([0xB0])
    peer.sb(0)
    assert peer.answer(100) == b"SerialGate port 1"
    # Answering an answer would loop: a repeated WILL gets no reply.
    count = len(peer.negotiations)
    peer.send_raw(bytes([IAC, WILL, COM_PORT]))
    peer.read_for(QUIET)
    assert len(peer.negotiations) == count, peer.negotiations[count:]


# ---------------------------------------------------------------- line settings


SETTINGS = [
    # id, the other end's settings, the pyserial attribute and value that make them agree
    ("custom-baud", serial_settings(baud=250000), "baudrate", 250000),
    ("standard-baud", serial_settings(baud=19200), "baudrate", 19200),
    ("data-bits", serial_settings(data_bits=7), "bytesize", serial.SEVENBITS),
    ("parity", serial_settings(parity="even"), "parity", serial.PARITY_EVEN),
    ("stop-bits", serial_settings(stop_bits=2), "stopbits", serial.STOPBITS_TWO),
]


@pytest.mark.parametrize("serial2,attr,value", [s[1:] for s in SETTINGS],
                         ids=[s[0] for s in SETTINGS])
def test_pyserial_setting_reaches_the_line(cable, opened, admin_gate, serial2, attr, value):
    l1, l2 = cable(serial1=serial_settings(baud=115200), serial2=serial2)
    s = opened(rfc2217_url(l1), baudrate=115200)  # 8N1 at 115200: differs from port 2 in one way
    tcp = Client(l2)
    sync_to_tcp(s.write, tcp)
    text = b"The quick brown fox jumps over the lazy dog 0123456789"
    s.write(text)
    assert tcp.recv_exact(len(text)) != text, "bytes crossed a mismatched line intact"

    setattr(s, attr, value)  # pyserial waits for the server's answer and checks its value
    status = port_status(admin_gate, 1)["serial"]
    want = {"baudrate": ("baud", value), "bytesize": ("data_bits", 7),
            "parity": ("parity", "even"), "stopbits": ("stop_bits", "2")}[attr]
    assert status[want[0]] == want[1], status
    s.write(text)
    assert tcp.recv_exact(len(text)) == text, f"{attr}={value} did not reach the line"
    tcp.send(text)
    assert read_exact(s, len(text), "serial -> client") == text


def test_out_of_range_baud_is_answered_with_the_rate_in_force(cable, opened, admin_gate):
    l1, _ = cable(serial1=serial_settings(baud=9600))
    s = opened(rfc2217_url(l1), baudrate=9600)
    with pytest.raises(ValueError, match="baudrate"):
        s.baudrate = 1_000_000  # above 921600: pyserial sees the answer differ and refuses
    assert port_status(admin_gate, 1)["serial"]["baud"] == 9600

    s.close()
    wait_free(admin_gate)
    peer = TelnetPeer(l1)
    peer.sb(1, (1_000_000).to_bytes(4, "big"))
    assert peer.answer(101) == (9600).to_bytes(4, "big")
    peer.sb(1, (0).to_bytes(4, "big"))  # 0 asks for the current rate
    assert peer.answer(101) == (9600).to_bytes(4, "big")
    peer.sb(1, (921600).to_bytes(4, "big"))
    assert peer.answer(101) == (921600).to_bytes(4, "big")
    peer.sb(2, b"\x09")  # 9 data bits: answered with 8
    assert peer.answer(102) == b"\x08"
    peer.sb(3, b"\x00")
    assert peer.answer(103) == b"\x01"


def test_client_changes_last_for_its_connection(cable, opened, admin_gate):
    l1, _ = cable(serial1=serial_settings(baud=9600))
    s = opened(rfc2217_url(l1), baudrate=57600, parity=serial.PARITY_ODD)
    s.rts = False
    st = port_status(admin_gate, 1)
    assert (st["serial"]["baud"], st["serial"]["parity"], st["modem"]["rts"]) == (57600, "odd",
                                                                                  False)
    s.close()

    def restored():
        st = port_status(admin_gate, 1)
        return (st["serial"]["baud"], st["serial"]["parity"], st["modem"]["rts"],
                st["modem"]["dtr"]) == (9600, "none", True, True)
    wait_until(restored, sgtest.APPLY_TIMEOUT, what="the configured line back after disconnect")


# ---------------------------------------------------------------- modem lines, break


def test_rts_dtr_toggled_while_data_flows_reach_the_other_client(cable, opened):
    """Both ends speak RFC 2217: A's RTS is B's CTS, A's DTR is B's DSR and CD (null modem)."""
    l1, l2 = cable(other="rfc2217")
    a = opened(rfc2217_url(l1), baudrate=115200)
    b = opened(rfc2217_url(l2), baudrate=115200)
    assert (b.cts, b.dsr, b.cd, b.ri) == (True, True, True, False)

    data = random.Random(44).randbytes(256 * 1024)
    got = bytearray()
    errors = []

    def pump():
        try:
            deadline = time.monotonic() + 60
            while len(got) < len(data) and time.monotonic() < deadline:
                got.extend(b.read(min(4096, len(data) - len(got))))
        except Exception as e:  # reported below
            errors.append(e)
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    # Sync first: port 2's session exists, so no byte is dropped for want of a client.
    for i in range(3):
        a.rts = False
        wait_until(lambda: not b.cts, sgtest.IO_TIMEOUT, what="B's CTS off")
        a.write(data[i * len(data) // 3:(i + 1) * len(data) // 3])
        a.dtr = False
        wait_until(lambda: not b.dsr and not b.cd, sgtest.IO_TIMEOUT, what="B's DSR and CD off")
        a.rts = True
        wait_until(lambda: b.cts, sgtest.IO_TIMEOUT, what="B's CTS on")
        a.dtr = True
        wait_until(lambda: b.dsr and b.cd, sgtest.IO_TIMEOUT, what="B's DSR and CD on")
    reader.join(timeout=90)
    assert not errors, errors
    assert bytes(got) == data, f"{len(got)} of {len(data)} bytes, or mangled, across the toggles"

    b.rts = False
    wait_until(lambda: not a.cts, sgtest.IO_TIMEOUT, what="A's CTS off")
    assert a.ri is False


def test_break_reaches_the_line_and_comes_back_as_linestate(cable, opened, admin_gate):
    l1, l2 = cable(other="rfc2217")
    b = TelnetPeer(l2)
    b.sb(10, bytes([0x10]))  # SET-LINESTATE-MASK: break only
    assert b.answer(110) == bytes([0x10])
    a = opened(rfc2217_url(l1), baudrate=115200)
    a.send_break(duration=0.1)
    assert b.answer(106) == bytes([0x10]), "no NOTIFY-LINESTATE with break-detect"
    wait_until(lambda: port_status(admin_gate, 2)["line_errors"]["breaks"] >= 1,
               sgtest.APPLY_TIMEOUT, what="port 2's device counting the break")
    # A break held on and off by SET-CONTROL 5/6 is answered with its state.
    a.break_condition = True
    assert b.answer(106) == bytes([0x10])
    a.break_condition = False


def test_modem_state_mask_filters_notifications(cable, opened):
    l1, l2 = cable(other="rfc2217")
    b = TelnetPeer(l2)
    assert b.answer(107) == bytes([0xB0])  # first notification: CD, DSR, CTS
    b.sb(11, bytes([0x10]))  # CTS only
    assert b.answer(111) == bytes([0x10])
    a = opened(rfc2217_url(l1), baudrate=115200)
    a.dtr = False  # B's DSR and CD: masked out
    a.rts = False  # B's CTS: reported
    assert b.answer(107) == bytes([0x00]), "CTS off under mask 0x10"
    a.rts = True
    assert b.answer(107) == bytes([0x10])
    assert all(code != 107 for code, _ in b.subnegotiations), b.subnegotiations
    b.sb(7)  # a poll: the lines now, under the mask
    assert b.answer(107) == bytes([0x10])


# ---------------------------------------------------------------- purge, flow control


def test_reset_output_buffer_discards_bytes_held_by_flow_control(cable, opened):
    l1, l2 = cable(other="rfc2217")
    a = opened(rfc2217_url(l1), baudrate=115200, rtscts=True)  # port 1 honours CTS
    b = opened(rfc2217_url(l2), baudrate=115200)
    b.rts = False  # A's CTS off: port 1's device holds what it is given
    wait_until(lambda: not a.cts, sgtest.IO_TIMEOUT, what="A's CTS off")
    a.write(b"DISCARDED")
    a.reset_output_buffer()  # PURGE-DATA 2, answered 112 2
    b.rts = True
    wait_until(lambda: a.cts, sgtest.IO_TIMEOUT, what="A's CTS on")
    a.write(b"KEPT")
    assert read_exact(b, 4, "after the purge") == b"KEPT"
    b.timeout = QUIET
    assert b.read(64) == b"", "purged bytes reached the line"


def test_suspend_holds_data_and_purge_receive_drops_it(cable, admin_gate):
    l1, l2 = cable()
    peer = TelnetPeer(l1)
    tcp = Client(l2)
    sync_to_tcp(peer.write, tcp)
    tcp.send(b"sync")
    assert peer.read(4) == b"sync"

    peer.sb(8)  # FLOWCONTROL-SUSPEND: no data to us
    peer.sb(0)  # answers still come while suspended
    assert peer.answer(100) == b"SerialGate port 1"
    before = port_status(admin_gate, 1)["counters"]["serial_rx_bytes"]
    tcp.send(b"HELD")
    wait_until(lambda: port_status(admin_gate, 1)["counters"]["serial_rx_bytes"] >= before + 4,
               sgtest.APPLY_TIMEOUT, what="port 1 reading the held bytes")
    assert peer.read_for(QUIET) == b"", "data sent while suspended"
    peer.sb(9)  # FLOWCONTROL-RESUME
    assert peer.read(4) == b"HELD"

    peer.sb(8)
    peer.sb(0)  # answered once the SUSPEND before it is in force: the line's bytes come after
    assert peer.answer(100) == b"SerialGate port 1"
    tcp.send(b"DROPPED")
    wait_until(lambda: port_status(admin_gate, 1)["counters"]["serial_rx_bytes"] >= before + 11,
               sgtest.APPLY_TIMEOUT, what="port 1 reading the bytes to purge")
    peer.sb(12, b"\x01")  # PURGE-DATA receive buffer
    assert peer.answer(112) == b"\x01"
    peer.sb(9)
    tcp.send(b"FRESH")
    assert peer.read(5) == b"FRESH", "purged bytes were sent after all"


# ---------------------------------------------------------------- connections, packing


def test_second_client_is_refused_and_the_first_keeps_the_port(cable, opened, admin_gate):
    l1, l2 = cable()
    s = opened(rfc2217_url(l1), baudrate=115200)
    tcp = Client(l2)
    sync_to_tcp(s.write, tcp)
    second = Client(l1)
    assert second.wait_closed(), "a second client was not closed"
    peer = f"127.0.0.1:{second.local_port}"
    admin_gate.wait_event("serial.refused", lambda e: peer in f"{e['source']} {e['message']}")
    s.write(b"still mine")
    assert tcp.recv_exact(10) == b"still mine"
    s.close()
    wait_free(admin_gate)
    again = TelnetPeer(l1)  # the port is free again
    assert again.answer(107)


def test_delimiter_packing_applies_before_escaping(cable):
    l1, l2 = cable(delimiter_1=0xFF)
    peer = TelnetPeer(l1)
    tcp = Client(l2)
    sync_to_tcp(peer.write, tcp)
    tcp.send(b"abc")
    assert peer.read_for(QUIET) == b"", "a frame went out before its delimiter"
    tcp.send(b"\xff")
    assert peer.read(4) == b"abc\xff"


# ---------------------------------------------------------------- gensio


def test_gensiot_exchanges_data_and_sets_the_baud_rate(cable, admin_gate):
    l1, l2 = cable(serial1=serial_settings(baud=9600), serial2=serial_settings(baud=250000))
    tcp = Client(l2)
    g = subprocess.Popen(["gensiot", "-e", "1", "-i", "stdio(self)",
                          f"telnet(rfc2217),tcp,127.0.0.1,{l1}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = bytearray()

    def collect():
        while chunk := g.stdout.read1(4096):
            out.extend(chunk)
    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        wait_until(lambda: port_status(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
                   what="gensiot connected")
        # gensiot's escape character (here ^A): "s<rate>\r" sets the rate, "d" dumps the line.
        g.stdin.write(b"\x01s250000\r")
        g.stdin.flush()
        wait_until(lambda: port_status(admin_gate, 1)["serial"]["baud"] == 250000,
                   sgtest.IO_TIMEOUT, what="gensiot's SET-BAUDRATE applied")
        g.stdin.write(b"\x01d")
        g.stdin.flush()
        wait_until(lambda: b"Speed: 250000" in out, sgtest.IO_TIMEOUT,
                   what=f"gensiot reading the answer back: {bytes(out)!r}")

        def send(data):
            g.stdin.write(data)
            g.stdin.flush()
        sync_to_tcp(send, tcp)
        data = bytes(b for b in range(256) if b != 1) + b"end\n"  # 1 is gensiot's escape
        send(data)
        assert tcp.recv_exact(len(data)) == data
        out.clear()
        tcp.send(b"to gensiot \xff\x00\r\n")
        wait_until(lambda: out.endswith(b"to gensiot \xff\x00\r\n"), sgtest.IO_TIMEOUT,
                   what=f"data at gensiot: {bytes(out)!r}")
    finally:
        g.stdin.close()
        try:
            g.wait(timeout=2)
        except subprocess.TimeoutExpired:
            g.terminate()
            g.wait(timeout=sgtest.IO_TIMEOUT)


def test_pyserial_reset_input_buffer_drops_a_held_frame(cable, opened, admin_gate):
    l1, l2 = cable(delimiter_1=0x0A)  # frames end at "\n": a partial line waits in the packer
    s = opened(rfc2217_url(l1), baudrate=115200)
    tcp = Client(l2)
    sync_to_tcp(s.write, tcp)
    tcp.send(b"stale")
    wait_until(lambda: port_status(admin_gate, 1)["counters"]["serial_rx_bytes"] >= 5,
               sgtest.APPLY_TIMEOUT, what="port 1 holding the partial line")
    s.reset_input_buffer()  # PURGE-DATA 1: the server's receive buffer, held frame included
    tcp.send(b"fresh\n")
    assert read_exact(s, 6, "after the purge") == b"fresh\n"


def test_suspended_client_gets_everything_after_resume(cable, admin_gate):
    """FLOWCONTROL-SUSPEND with 1 MiB on its way: the queue is bounded (the serial side pauses,
    the sender's TCP window closes), and nothing is lost once the client resumes."""
    l1, l2 = cable()
    peer = TelnetPeer(l1)
    tcp = Client(l2)
    sync_to_tcp(peer.write, tcp)
    peer.sb(8)
    data = random.Random(8).randbytes(1 << 20)
    sender = threading.Thread(target=tcp.send, args=(data,), daemon=True)
    sender.start()
    assert peer.read_for(1.0) == b"", "data sent while suspended"
    held = port_status(admin_gate, 1)["counters"]["serial_rx_bytes"]
    assert held < 512 * 1024, f"port 1 read {held} bytes for a suspended client: unbounded"
    peer.sb(9)
    assert peer.read(len(data), timeout=60) == data
    sender.join(timeout=30)
