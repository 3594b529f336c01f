"""test_status.py: the port monitor (issue 5 §8, device ref. §11) — `serialgate status` reads a
running serve through DATA_DIR/control.sock: line settings in force, modem lines, line errors,
counters and peers per port."""

import json
import os
import stat

import sgtest
from sgtest import Client, connect_synced, make_config, tcp_server_port


def status(gate):
    r = sgtest.assert_rc(gate.run("status", "--data-dir", gate.data_dir, "--format", "json"),
                         sgtest.EXIT_OK)
    return json.loads(r.stdout)


def test_no_serve_running_exits_1(gate):
    gate.setup_admin()
    r = gate.run("status", "--data-dir", gate.data_dir)
    assert r.returncode == sgtest.EXIT_RUNTIME, sgtest.describe(r)
    assert "no serve is running" in r.stderr


def test_before_first_account_ports_are_reported_off(gate, free_ports):
    local, command = free_ports(2)
    gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command)]))
    sgtest.wait_until(lambda: (gate.data_dir / "control.sock").exists(), 10, what="control.sock")
    s = status(gate)
    assert s["data_plane"] == "off"
    assert s["ports"][0]["state"].startswith("off")
    assert s["ports"][0]["counters"] is None


def test_counters_peers_and_line_settings(admin_gate, pty, free_ports):
    local, command, local2, command2 = free_ports(4)
    serial = sgtest.serial_settings(baud=57600, stop_bits=2)
    admin_gate.serve(config=make_config([
        tcp_server_port(1, pty.path, local, command, alias="meter", serial=serial),
        tcp_server_port(2, "sim:loopback", local2, command2)]), wait_ports=[local, local2])
    sock = admin_gate.data_dir / "control.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) & 0o077 == 0, "control socket open to others"

    c = connect_synced(local, pty, "status")  # 13 bytes client → serial
    pty.write(b"0123456789")
    assert c.recv_exact(10) == b"0123456789"

    def settled():
        s = status(admin_gate)
        p1 = s["ports"][0]
        return s if p1["counters"]["serial_rx_bytes"] == 10 else None
    s = sgtest.wait_until(settled, 10, what="counters to settle")
    p1, p2 = s["ports"]
    assert p1["alias"] == "meter" and p1["mode"] == "tcp_server"
    assert p1["state"] == "running"
    assert p1["counters"]["serial_tx_bytes"] == len(b"<sync:status>")
    assert p1["counters"]["net_tx_bytes"] == 10
    assert p1["counters"]["connections"] == 1
    assert p1["serial"]["baud"] == 57600 and p1["serial"]["stop_bits"] == "2"
    # A pty has no modem lines: RTS and DTR are virtual (on, as after an open), inputs unknown.
    assert p1["modem"] == {"rts": True, "dtr": True, "cts": None, "dsr": None, "dcd": None,
                           "ri": None, "virtual": True,
                           "note": "virtual (device has no modem lines)"}
    assert len(p1["peers"]) == 1
    assert p1["peers"][0]["address"] == f"127.0.0.1:{c.local_port}"
    assert p1["peers"][0]["connected_at"].endswith("Z")
    # The simulated loopback plug has modem lines: RTS and DTR are driven on open and loop back.
    m = p2["modem"]
    assert m == {"rts": True, "dtr": True, "cts": True, "dsr": True, "dcd": True, "ri": False,
                 "virtual": False}
    assert p2["line_errors"] == {"framing": 0, "parity": 0, "overrun": 0, "breaks": 0}
    c.close()

    def gone():
        return status(admin_gate)["ports"][0]["peers"] == []
    sgtest.wait_until(gone, 10, what="the peer to leave the monitor")


def test_text_format(admin_gate, free_ports):
    local, command = free_ports(2)
    admin_gate.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command)]),
                     wait_ports=[local])
    r = sgtest.assert_rc(admin_gate.run("status", "--data-dir", admin_gate.data_dir),
                         sgtest.EXIT_OK)
    assert "port 1" in r.stdout and "tcp_server" in r.stdout and "modem RTS on" in r.stdout
