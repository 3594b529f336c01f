"""serial/test_virtual_lines.py: a device without modem lines (a pty: TIOCMGET/TIOCMSET fail)
keeps the output lines a client asks for as virtual state, and every mode answers what was asked
(issue 12 item 5). pyserial's rfc2217:// client used to raise "remote rejected value for option
'control'" on `s.rts = False` (RFC 2217 answered the unchanged state while Real COM acknowledged).
The port monitor shows such lines as "virtual (device has no modem lines)"; a simulated line,
which models the lines, still shows the real ones (its RTS loops back to its CTS)."""

import json

import pytest
import serial as pyserial  # python3-serial: a client we did not write

import sgtest
from sgtest import Client, make_config, monitor, serial_settings, tcp_server_port, wait_until

NOTE = "virtual (device has no modem lines)"

LINECTRL = 0x12  # ASPP (shared/specs/realcom-aspp.md §3): LINECTRL dtr rts


def rfc2217_port(number, device, local):
    return {"port": number, "device": device, "serial": serial_settings(),
            "mode": {"type": "rfc2217", "local_port": local}}


def real_com_port(number, device, data, command):
    return {"port": number, "device": device, "serial": serial_settings(),
            "mode": {"type": "real_com", "data_port": data, "command_port": command}}


def wait_modem(gate, number, **want):
    def match():
        m = monitor(gate, number)["modem"]
        return m if m and all(m.get(k) == v for k, v in want.items()) else None
    try:
        return wait_until(match, sgtest.APPLY_TIMEOUT, interval=0.1,
                          what=f"port {number} modem {want}")
    except AssertionError as e:
        raise AssertionError(f"{e}; it is {monitor(gate, number)['modem']}") from None


@pytest.fixture
def opened():
    ports = []

    def open_(url, **kw):
        s = pyserial.serial_for_url(url, baudrate=115200, timeout=sgtest.IO_TIMEOUT, **kw)
        ports.append(s)
        return s
    yield open_
    for s in ports:
        s.close()


def test_rfc2217_client_toggles_rts_and_dtr_on_a_pty(admin_gate, pty, free_ports, opened):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([rfc2217_port(1, pty.path, local)]), wait_ports=[local])
    s = opened(f"rfc2217://127.0.0.1:{local}")
    # Each assignment waits for the server's answer and raises unless it is the value asked for.
    for rts, dtr in ((False, True), (False, False), (True, False), (True, True), (False, False)):
        s.rts = rts
        s.dtr = dtr
        assert (s.rts, s.dtr) == (rts, dtr)
        m = wait_modem(admin_gate, 1, rts=rts, dtr=dtr)
        assert m["virtual"] is True and m["note"] == NOTE
        assert (m["cts"], m["dsr"], m["dcd"], m["ri"]) == (None, None, None, None), \
            "no input is known on a line without modem lines"
    # Data still flows.
    s.write(b"ping")
    assert pty.read_exact(4) == b"ping"


def test_real_com_line_control_on_a_pty_shows_in_status(admin_gate, pty, free_ports):
    data, command = free_ports(2)
    admin_gate.serve(config=make_config([real_com_port(1, pty.path, data, command)]),
                     wait_ports=[data, command])
    d = Client(data)
    c = Client(command)
    for dtr, rts in ((0, 1), (1, 0), (0, 0), (1, 1)):
        c.send(bytes([LINECTRL, 2, dtr, rts]))
        assert c.recv_exact(3) == bytes([LINECTRL]) + b"OK"
        wait_modem(admin_gate, 1, rts=bool(rts), dtr=bool(dtr), virtual=True, note=NOTE)
    c.send(bytes([LINECTRL, 2, 0, 0]))
    assert c.recv_exact(3) == bytes([LINECTRL]) + b"OK"
    wait_modem(admin_gate, 1, rts=False, dtr=False)
    # The session ends: the lines return to what they were before it (on, as after an open).
    c.close()
    d.close()
    wait_modem(admin_gate, 1, rts=True, dtr=True, virtual=True)


def test_status_text_says_virtual(admin_gate, pty, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, pty.path, local, command)]),
                     wait_ports=[local])
    r = sgtest.assert_rc(admin_gate.run("status", "--data-dir", admin_gate.data_dir),
                         sgtest.EXIT_OK)
    assert f"modem RTS on DTR on — {NOTE}" in r.stdout, r.stdout
    j = json.loads(sgtest.assert_rc(admin_gate.run("status", "--data-dir", admin_gate.data_dir,
                                                   "--format", "json"), sgtest.EXIT_OK).stdout)
    assert j["ports"][0]["modem"]["virtual"] is True


def test_the_simulated_line_still_shows_real_line_changes(admin_gate, free_ports, opened):
    """sim:loopback models the lines: RTS drives CTS, DTR drives DSR and DCD."""
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([rfc2217_port(1, "sim:loopback", local)]),
                     wait_ports=[local])
    s = opened(f"rfc2217://127.0.0.1:{local}")
    s.rts = False
    wait_modem(admin_gate, 1, rts=False, cts=False, dtr=True, dsr=True, virtual=False)
    wait_until(lambda: not s.cts, sgtest.IO_TIMEOUT, what="the client seeing CTS off")
    s.dtr = False
    wait_modem(admin_gate, 1, rts=False, cts=False, dtr=False, dsr=False, dcd=False)
    s.rts = True
    wait_modem(admin_gate, 1, rts=True, cts=True, virtual=False)
    assert "note" not in monitor(admin_gate, 1)["modem"]
