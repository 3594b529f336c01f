"""test_secure_defaults.py: until the first administrator exists no operation mode listens
(docs/cli.md, guide §3); `setup` run while serve is running turns the data plane on."""

import time

import sgtest
from sgtest import Client, connection_refused, make_config, tcp_server_port


def test_no_listener_before_first_admin_then_setup_turns_data_plane_on(gate, free_ports):
    local, command, rc_data, rc_command = free_ports(4)
    cfg = make_config([
        tcp_server_port(1, "sim:echo", local, command, alias="echo"),
        {"port": 2, "device": "sim:loopback",
         "mode": {"type": "real_com", "data_port": rc_data, "command_port": rc_command}},
    ])
    proc = gate.serve(config=cfg)

    # serve has made its decision once it logged it; it must still be running.
    gate.wait_event("system.data_plane_off", timeout=sgtest.START_TIMEOUT)
    assert proc.poll() is None, f"serve exited with {proc.returncode}\n{gate.stderr_text()}"
    assert gate.listening() == set(), (
        f"serve listens before any account exists: {sorted(gate.listening())}")
    assert connection_refused(local), f"port {local} accepted a connection before setup"

    # Still nothing a moment later (the decision is not a start-up race).
    time.sleep(1.0)
    assert proc.poll() is None, gate.stderr_text()
    assert gate.listening() == set()

    gate.setup_admin()  # a separate process writes the store; serve picks it up by itself
    gate.wait_listening([local], timeout=sgtest.APPLY_TIMEOUT)

    c = Client(local)
    c.send(b"secure-defaults")
    assert c.recv_exact(15) == b"secure-defaults"
    c.close()

    # With the data plane on, every listener comes up: Real COM's two ports and TCP Server's
    # ASPP command port too.
    gate.wait_listening([rc_data, rc_command, command], timeout=sgtest.APPLY_TIMEOUT)
    assert gate.events("--type", "security.account_created"), "setup logged no account_created"
    gate.stop()


def test_no_listener_without_config_or_admin(gate):
    """An empty installation: serve runs, logs that the data plane is off, and listens only on
    HTTPS — the one service the device enables by default (guide §3.1; IA-1, IA-3)."""
    proc = gate.serve()
    gate.wait_event("system.data_plane_off", timeout=sgtest.START_TIMEOUT)
    gate.wait_listening([gate.https_port])
    assert proc.poll() is None, gate.stderr_text()
    assert gate.listening() == {("tcp", gate.https_port)}, sorted(gate.listening())
    gate.stop()


def test_import_before_admin_does_not_listen(gate, free_ports):
    """A config committed by `config import` while no account exists still opens nothing."""
    local, command = free_ports(2)
    proc = gate.serve()
    gate.wait_event("system.data_plane_off", timeout=sgtest.START_TIMEOUT)
    gate.import_config(make_config([tcp_server_port(1, "sim:echo", local, command)]))
    gate.wait_event("maintenance.config_imported")
    time.sleep(1.5)  # "picked up within a second": give serve time to (wrongly) apply it
    assert proc.poll() is None, gate.stderr_text()
    # The imported document has HTTPS off: it takes effect at the next start, so only the
    # HTTPS port of this start listens — no data-plane port.
    assert gate.listening() == {("tcp", gate.https_port)}, sorted(gate.listening())
    assert connection_refused(local)
    gate.setup_admin()
    gate.wait_listening([local], timeout=sgtest.APPLY_TIMEOUT)
    gate.stop()
