"""web/test_status_virtual_lines.py: GET /status and GET /status/ports/{n} show the output lines
of a device without modem lines (a pty) as "virtual (device has no modem lines)": RTS and DTR as a
client last set them, the inputs unknown (null), and a simulated line's real lines as they are
(issue 12 item 5)."""

import serial as pyserial  # python3-serial: a client we did not write

import api
import sgtest
from api import API

NOTE = "virtual (device has no modem lines)"


def test_status_shows_virtual_lines_of_a_pty(gate, pty):
    p1, p2 = sgtest.free_ports(2)
    web, admin = api.start_with_admin(gate, [
        {"port": 1, "device": pty.path, "serial": sgtest.serial_settings(),
         "mode": {"type": "rfc2217", "local_port": p1}},
        {"port": 2, "device": "sim:loopback", "serial": sgtest.serial_settings(),
         "mode": {"type": "rfc2217", "local_port": p2}}])
    gate.wait_listening([p1, p2])
    s = pyserial.serial_for_url(f"rfc2217://127.0.0.1:{p1}", timeout=sgtest.IO_TIMEOUT)
    try:
        s.rts = False  # raised "remote rejected value for option 'control'" before issue 12

        def shown():
            m = admin.ok("GET", f"{API}/status/ports/1")["modem"]
            return m if m["rts"] is False else None
        m = sgtest.wait_until(shown, sgtest.APPLY_TIMEOUT, what="RTS off in GET /status/ports/1")
        assert m == {"rts": False, "dtr": True, "cts": None, "dsr": None, "dcd": None,
                     "ri": None, "virtual": True, "note": NOTE}
    finally:
        s.close()
    ports = {p["number"]: p for p in admin.ok("GET", f"{API}/status")["ports"]}
    assert ports[1]["modem"]["virtual"] is True
    assert ports[2]["modem"] == {"rts": True, "dtr": True, "cts": True, "dsr": True, "dcd": True,
                                 "ri": False, "virtual": False}
