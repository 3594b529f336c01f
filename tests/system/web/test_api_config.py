"""web/test_api_config.py: configuration through the API (issue 4 §3) reaches the running data
plane and the one store: a port moved by PUT serves echo on its new TCP port, an invalid value is
refused with its path and changes nothing, identity follows the system section, the whole document
round-trips, `serialgate config export` sees API changes; and IA-3 (no data plane before setup).
"""

import subprocess
import xml.etree.ElementTree as ET

import sgtest
from api import API
from sgtest import Client, connection_refused, free_ports, tcp_server_port

PW = "Web-Conf-Pa55word-t5Lp"


def echo(port, payload):
    c = Client(port)
    try:
        c.send(payload)
        return c.recv_exact(len(payload))
    finally:
        c.close()


def test_put_port_moves_tcp_server_and_invalid_value_changes_nothing(gate, web_admin):
    old, command, new, command2 = free_ports(4)
    w, admin = web_admin([tcp_server_port(1, "sim:echo", old, command, alias="echo")],
                         password=PW)
    gate.wait_listening([old])
    assert echo(old, b"before") == b"before"

    port1 = admin.get(f"{API}/ports/1").json()
    assert port1["mode"]["type"] == "tcp_server" and port1["mode"]["local_port"] == old, port1
    port1["mode"]["local_port"] = new
    port1["mode"]["command_port"] = command2
    r = admin.put(f"{API}/ports/1", port1)
    assert r.status == 200 and r.json().get("changed") is True, r
    sgtest.wait_until(lambda: new in gate.tcp_listening(), sgtest.APPLY_TIMEOUT,
                      what=f"port 1 listening on {new}")
    assert echo(new, b"hello through the API") == b"hello through the API"
    sgtest.wait_until(lambda: connection_refused(old), sgtest.APPLY_TIMEOUT,
                      what=f"old port {old} closed")

    bad = dict(port1, mode=dict(port1["mode"], max_connections=9))
    r = admin.put(f"{API}/ports/1", bad)
    assert r.status == 400 and r.error_code() == "invalid_config", r
    paths = [p["path"] for p in r.json()["problems"]]
    assert any("max_connections" in p for p in paths), f"problems name no path: {r.json()}"
    assert admin.get(f"{API}/ports/1").json()["mode"].get("max_connections") != 9
    assert echo(new, b"still serving") == b"still serving", "a refused change disturbed the port"

    # The same store as the CLI: `config export` shows the API's change.
    exported = gate.export()
    assert f"local_port: {new}" in exported, exported
    assert "max_connections: 9" not in exported
    def port1_change(evs):
        return any(e["account"] == "admin" and "port 1" in e["message"] for e in evs)
    changed = admin.events("type=system.config_changed", port1_change)
    assert port1_change(changed), changed


def test_system_identity_and_whole_document_round_trip(gate, web_admin):
    local, command = free_ports(2)
    w, admin = web_admin([tcp_server_port(1, "sim:echo", local, command)], password=PW)
    r = admin.put_section(f"{API}/system", device_name="Line-7-Gate")
    assert r.status == 200 and r.json().get("changed") is True, r
    ident = w.get(f"{API}/identity").json()  # public: no cookie
    assert ident["device_name"] == "Line-7-Gate", ident
    exported = gate.export()
    assert 'device_name: "Line-7-Gate"' in exported or "device_name: Line-7-Gate" in exported

    r = admin.put_section(f"{API}/system", device_name="x" * 40)  # <= 39 (device ref. §4)
    assert r.status == 400 and r.json()["problems"], r
    assert w.get(f"{API}/identity").json()["device_name"] == "Line-7-Gate"

    doc = admin.get(f"{API}/config").json()
    assert {"system", "ports", "login", "https", "password_policy"} <= set(doc), sorted(doc)
    r = admin.put(f"{API}/config", doc)
    assert r.status == 200 and r.json().get("changed") is False, f"round trip changed: {r}"
    assert admin.get(f"{API}/config").json() == doc
    # And it is the document `config export` prints: a value set through PUT /config shows up.
    doc["system"]["location"] = "Hall 3, rack B"
    r = admin.put(f"{API}/config", doc)
    assert r.status == 200 and r.json().get("changed") is True, r
    assert "Hall 3, rack B" in gate.export()
    assert echo(local, b"ok") == b"ok", "an unrelated change disturbed port 1"


def test_data_plane_off_until_setup_https_on_in_both_states(gate, web):
    """IA-3: before the first administrator no operation mode listens; HTTPS does."""
    local, command = free_ports(2)
    w = web([tcp_server_port(1, "sim:echo", local, command)])
    assert connection_refused(local), "IA-3: the data plane listens before setup"
    assert gate.tcp_listening() == {w.port}, gate.tcp_listening()
    assert nmap_states(local, command, w.port) == {local: "closed", command: "closed",
                                                   w.port: "open"}
    w.setup("admin", PW)
    gate.wait_listening([local], timeout=5)
    assert echo(local, b"on") == b"on"
    assert nmap_states(local, w.port) == {local: "open", w.port: "open"}
    w.wait_tls()
    assert w.get(f"{API}/identity").status == 200


def nmap_states(*ports):
    """{port: state} from `nmap -sT` (a TCP connect scan, the spec's IA-3 tool)."""
    p = subprocess.run(["nmap", "-sT", "-Pn", "-n", "-p", ",".join(map(str, ports)), "-oX", "-",
                        "127.0.0.1"], capture_output=True, text=True, timeout=60)
    root = ET.fromstring(p.stdout)
    return {int(e.get("portid")): e.find("state").get("state") for e in root.iter("port")}
