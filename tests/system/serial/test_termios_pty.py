"""serial/test_termios_pty.py: the termios backend applies a port's line settings to the device and
makes it raw (device ref. §2). Checked on a pty through TCGETS2. A pty keeps the speed, CSTOPB,
CRTSCTS and the iflag/lflag/oflag bits it is given, but forces CS8 and clears PARENB, so data bits
and parity cannot be observed here (unit tests of serial/termios2.cpp cover those)."""

import fcntl
import struct
import subprocess
import termios

import pytest

import sgtest
from sgtest import make_config, serial_settings, tcp_server_port, wait_until

TCGETS2 = 0x802C542A  # _IOR('T', 0x2A, struct termios2), 44 bytes on Linux
BOTHER = 0o010000
CBAUD = 0o010017
TERMIOS2 = struct.Struct("IIIIB19sII")  # iflag oflag cflag lflag line cc[19] ispeed ospeed

BAUD_CODES = {getattr(termios, f"B{n}"): n for n in (
    50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600,
    115200, 230400, 460800, 500000, 576000, 921600) if hasattr(termios, f"B{n}")}


def line_settings(fd):
    """(iflag, oflag, cflag, lflag, output speed in bit/s) of the tty behind fd."""
    buf = bytearray(TERMIOS2.size)
    fcntl.ioctl(fd, TCGETS2, buf)
    iflag, oflag, cflag, lflag, _line, _cc, _ispeed, ospeed = TERMIOS2.unpack(buf)
    code = cflag & CBAUD
    speed = ospeed if code == BOTHER or code not in BAUD_CODES else BAUD_CODES[code]
    return iflag, oflag, cflag, lflag, speed


def cook(fd):
    """A terminal as a login shell leaves it, so that serve visibly makes it raw."""
    a = termios.tcgetattr(fd)
    a[0] |= termios.ICRNL | termios.IXON
    a[1] |= termios.OPOST | termios.ONLCR
    a[3] |= termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN
    a[4] = a[5] = termios.B38400
    termios.tcsetattr(fd, termios.TCSANOW, a)


CASES = [
    ("9600-2stop-rtscts", dict(baud=9600, stop_bits=2, flow_control="rts_cts"),
     dict(speed=9600, cstopb=True, crtscts=True, xonxoff=False)),
    ("115200-none", dict(baud=115200, flow_control="none"),
     dict(speed=115200, cstopb=False, crtscts=False, xonxoff=False)),
    ("250000-custom-xonxoff", dict(baud=250000, flow_control="xon_xoff"),
     dict(speed=250000, cstopb=False, crtscts=False, xonxoff=True)),
    ("921600-5bits-1.5stop", dict(baud=921600, data_bits=5, stop_bits="1.5"),
     dict(speed=921600, cstopb=True, crtscts=False, xonxoff=False)),
]


@pytest.mark.parametrize("serial,want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_line_settings_reach_the_device(admin_gate, pty, free_ports, serial, want):
    cook(pty.slave)
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, pty.path, local, command,
                                                         serial=serial_settings(**serial))]),
                     wait_ports=[local])
    iflag, oflag, cflag, lflag, speed = line_settings(pty.slave)
    assert speed == want["speed"]
    assert bool(cflag & termios.CSTOPB) == want["cstopb"], f"cflag {cflag:o}"
    assert bool(cflag & termios.CRTSCTS) == want["crtscts"], f"cflag {cflag:o}"
    xon = iflag & (termios.IXON | termios.IXOFF)
    assert xon == ((termios.IXON | termios.IXOFF) if want["xonxoff"] else 0), f"iflag {iflag:o}"
    # Raw: no line editing, echo, signals or CR/LF translation between the line and the network.
    assert lflag & (termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN) == 0, \
        f"lflag {lflag:o}"
    assert oflag & termios.OPOST == 0, f"oflag {oflag:o}"
    assert iflag & (termios.ICRNL | termios.INLCR | termios.IGNCR | termios.ISTRIP) == 0, \
        f"iflag {iflag:o}"


def test_changed_baud_is_applied_while_running(admin_gate, pty, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, pty.path, local, command,
                                                         serial=serial_settings(baud=9600))]),
                     wait_ports=[local])
    assert line_settings(pty.slave)[4] == 9600
    admin_gate.import_config(make_config([tcp_server_port(1, pty.path, local, command,
                                                          serial=serial_settings(baud=57600))]))
    wait_until(lambda: line_settings(pty.slave)[4] == 57600, sgtest.APPLY_TIMEOUT,
               what="the imported baud rate on the device")
    admin_gate.wait_listening([local])
    c = sgtest.connect_synced(local, pty, "after-change")
    pty.write(b"new-baud")
    assert c.recv_exact(8) == b"new-baud"


def stty_speed(fd):
    """The speed `stty` reports for the tty behind fd (run on our open fd: serve holds the tty
    exclusively, TIOCEXCL, so a second open would need root)."""
    r = subprocess.run(["stty", "-a"], stdin=fd, capture_output=True, text=True,
                       timeout=sgtest.CMD_TIMEOUT)
    assert r.returncode == 0, r.stderr
    return r.stdout.split(";")[0].strip()  # "speed 115200 baud"


@pytest.mark.parametrize("baud", [9600, 57600, 115200, 921600])
def test_stty_sees_a_standard_rate_set_by_the_configuration(admin_gate, pty, free_ports, baud):
    """Issue 12: a standard rate is set by its Bxxx code, as every other tool reads it (it was
    BOTHER, and stty showed "speed 0 baud")."""
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, pty.path, local, command,
                                                         serial=serial_settings(baud=baud))]),
                     wait_ports=[local])
    wait_until(lambda: stty_speed(pty.slave) == f"speed {baud} baud", sgtest.APPLY_TIMEOUT,
               what=f"stty showing {baud} baud")
    assert termios.tcgetattr(pty.slave)[5] == getattr(termios, f"B{baud}")  # the classic API


def test_stty_sees_the_rates_an_rfc2217_client_sets(admin_gate, pty, free_ports):
    import serial as pyserial  # python3-serial: a client we did not write
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([{"port": 1, "device": pty.path,
                                          "serial": serial_settings(),
                                          "mode": {"type": "rfc2217", "local_port": local}}]),
                     wait_ports=[local])
    s = pyserial.serial_for_url(f"rfc2217://127.0.0.1:{local}", baudrate=9600,
                                timeout=sgtest.IO_TIMEOUT)
    try:
        for baud in (9600, 57600, 115200, 921600):
            s.baudrate = baud
            wait_until(lambda: stty_speed(pty.slave) == f"speed {baud} baud",
                       sgtest.APPLY_TIMEOUT, what=f"stty showing {baud} baud")
        s.baudrate = 250000  # no Bxxx code: BOTHER, the driver's exact rate (TCGETS2)
        wait_until(lambda: line_settings(pty.slave)[4] == 250000, sgtest.APPLY_TIMEOUT,
                   what="250000 baud through TCGETS2")
    finally:
        s.close()


# ---------------------------------------------------------------- every mode (issue 12 item 5)

CUSTOM = 250000  # no Bxxx code: BOTHER, read back through TCGETS2 (coreutils 9.1's stty shows 0)


def wait_rate(fd, baud):
    """Until the tty behind fd runs at `baud`: stty's word for a standard rate, TCGETS2's for a
    custom one (stty reads only the Bxxx code, and a custom rate has none)."""
    if baud == CUSTOM:
        wait_until(lambda: line_settings(fd)[4] == baud, sgtest.APPLY_TIMEOUT,
                   what=f"{baud} baud through TCGETS2")
    else:
        wait_until(lambda: stty_speed(fd) == f"speed {baud} baud", sgtest.APPLY_TIMEOUT,
                   what=f"stty showing {baud} baud")


def tcp_client_mode(local):
    # A destination nobody listens on: the port keeps trying, the line is set up all the same.
    return {"type": "tcp_client", "destinations": [{"host": sgtest.LOOPBACK, "port": local}]}


def udp_mode(local):
    return {"type": "udp", "local_port": local,
            "destinations": [{"begin": sgtest.LOOPBACK, "end": sgtest.LOOPBACK, "port": local}]}


@pytest.mark.parametrize("baud", [9600, 57600, 115200, 921600, CUSTOM])
@pytest.mark.parametrize("mode", [tcp_client_mode, udp_mode], ids=["tcp_client", "udp"])
def test_stty_sees_the_configured_rate_in_tcp_client_and_udp(admin_gate, pty, free_ports, mode,
                                                             baud):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([{"port": 1, "device": pty.path,
                                          "serial": serial_settings(baud=baud),
                                          "mode": mode(local)}]))
    wait_rate(pty.slave, baud)


def test_stty_sees_the_rates_a_real_com_application_sets(admin_gate, pty, free_ports, tmp_path):
    """pyserial on the host side of `serialgate realcom` sets each rate on its local pty; the
    client carries it over ASPP (IOCTL, SETBAUD for a custom rate) to the port's tty."""
    import serial as pyserial
    data, command = free_ports(2)
    admin_gate.serve(config=make_config([{"port": 1, "device": pty.path,
                                          "serial": serial_settings(),
                                          "mode": {"type": "real_com", "data_port": data,
                                                   "command_port": command}}]),
                     wait_ports=[data, command])
    link = tmp_path / "ttyR1"
    log = tmp_path / "realcom.stderr"
    with open(log, "wb") as err:
        client = subprocess.Popen(
            [str(sgtest.BINARY), "realcom", "--device", sgtest.LOOPBACK, "--port", "1",
             "--data-port", str(data), "--command-port", str(command), "--link", str(link)],
            stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
    try:
        wait_until(link.exists, sgtest.START_TIMEOUT, what="the realcom link")
        s = pyserial.Serial(str(link), baudrate=9600, timeout=sgtest.IO_TIMEOUT)
        try:
            for baud in (9600, 57600, 115200, 921600, CUSTOM):
                s.baudrate = baud
                try:
                    wait_rate(pty.slave, baud)
                except AssertionError as e:
                    raise AssertionError(f"{e}\n{sgtest.tail(log)}") from None
        finally:
            s.close()
    finally:
        client.terminate()
        client.wait(timeout=sgtest.STOP_TIMEOUT)
