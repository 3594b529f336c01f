"""test_stop_after_mode_change.py: a port switched to (or started in) mode `disabled` must not
wedge serve. Reported as "serve hangs on SIGTERM after an unreachable tcp_client or pair_master
port was switched to disabled"; the cause was any disabled port, whatever it ran before: its Port
ends run() at once, and Port::stop() then never called back, so port::Manager waited forever for
it — on SIGTERM, and on every later configuration change that touched that port (so a disabled
port could never be enabled again, and nothing in that change was applied).

Since the HTTPS API has its own thread (ADR 0004) nothing else keeps serve's main loop busy at
SIGTERM, and a stuck Manager shows as "the change is never applied" rather than as a hang; the
SIGTERM tests therefore also switch the port back on. HTTPS stays on (loopback, a free port) so that
the original hang shows too if the main loop ever holds other work again.

The changes go through `config import` and through SIGHUP re-reading --config (docs/cli.md)."""

import signal

import pytest

import sgtest
from sgtest import Client, make_config, monitor, serial_settings, tcp_server_port

HTTPS = {"enabled": True, "listen_address": sgtest.LOOPBACK}


def unreachable_port(kind, closed):
    """Port 1 connecting out to 127.0.0.1:`closed`, where nothing listens."""
    if kind == "tcp_client":
        mode = {"type": "tcp_client", "destinations": [{"host": sgtest.LOOPBACK, "port": closed}]}
    else:
        mode = {"type": "pair_master", "host": sgtest.LOOPBACK, "port": closed}
    return {"port": 1, "device": "sim:loopback", "serial": serial_settings(), "mode": mode}


def disabled_port():
    return {"port": 1, "device": "sim:loopback", "serial": serial_settings(),
            "mode": {"type": "disabled"}}


def runs(gate, number, mode):
    """Whether port `number` runs `mode` now: a disabled port reports state "disabled", another
    mode a mode_state. (The monitor's "mode" is the configured one; a port the Manager has not
    started, or is still stopping, has neither.)"""
    for p in monitor(gate)["ports"]:
        if p["number"] == number and p["mode"] == mode:
            return p["state"] == "disabled" if mode == "disabled" else "mode_state" in p
    return False


def wait_runs(gate, number, mode):
    sgtest.wait_until(lambda: runs(gate, number, mode), sgtest.APPLY_TIMEOUT,
                      what=f"port {number} to run mode {mode}")


def change(gate, cfg, how, path):
    if how == "import":
        gate.import_config(cfg)
    else:
        gate.write_config(cfg, path.name)
        gate.signal(signal.SIGHUP)


def serve_with_https(gate, cfg, wait_ports=()):
    path = gate.write_config(cfg, "serve.yaml")
    gate.serve(config=path)
    # HTTPS on, as in the report: while it shared serve's main loop, its listener kept a serve
    # whose port manager never finished stopping from exiting.
    gate.wait_listening([gate.https_port, *wait_ports])
    return path


@pytest.mark.parametrize("how", ["import", "sighup"])
@pytest.mark.parametrize("kind", ["tcp_client", "pair_master"])
def test_sigterm_after_an_unreachable_port_is_disabled(admin_gate, free_ports, kind, how):
    closed, local, command = free_ports(3)
    other = tcp_server_port(2, "sim:echo", local, command)
    path = serve_with_https(admin_gate, make_config([unreachable_port(kind, closed), other],
                                                    https=HTTPS), wait_ports=[local])
    admin_gate.wait_event("serial.unreachable", lambda e: str(closed) in e["source"])

    def switch(port1, want):
        change(admin_gate, make_config([port1, other], https=HTTPS), how, path)
        wait_runs(admin_gate, 1, want)

    switch(disabled_port(), "disabled")
    # Back on (the disabled port must report its own stop for this to be applied) ...
    switch(unreachable_port(kind, closed), kind)
    admin_gate.wait_event("serial.unreachable", lambda e: str(closed) in e["source"], count=2)
    # ... and off again, as in the report, then SIGTERM: exit 0 within STOP_TIMEOUT.
    switch(disabled_port(), "disabled")
    admin_gate.stop()


def test_sigterm_with_a_port_disabled_from_the_start(admin_gate, free_ports):
    """The smallest form of the report (it hung while HTTPS shared serve's main loop)."""
    local, command = free_ports(2)
    serve_with_https(admin_gate, make_config(
        [disabled_port(), tcp_server_port(2, "sim:echo", local, command)], https=HTTPS),
        wait_ports=[local])
    wait_runs(admin_gate, 1, "disabled")
    admin_gate.stop()


@pytest.mark.parametrize("how", ["import", "sighup"])
def test_a_disabled_port_is_enabled_again_at_runtime(admin_gate, free_ports, how):
    """tcp_client (unreachable) → disabled → tcp_server: the last change must be applied, and it
    is applied only once the disabled port has reported its stop."""
    closed, local, command = free_ports(3)
    path = admin_gate.write_config(make_config([unreachable_port("tcp_client", closed)]),
                                   "serve.yaml")
    admin_gate.serve(config=path)
    admin_gate.wait_event("serial.unreachable", lambda e: str(closed) in e["source"])

    change(admin_gate, make_config([disabled_port()]), how, path)
    wait_runs(admin_gate, 1, "disabled")

    change(admin_gate, make_config([tcp_server_port(1, "sim:loopback", local, command)]), how,
           path)
    admin_gate.wait_listening([local], timeout=sgtest.APPLY_TIMEOUT)
    c = Client(local)
    c.send(b"back again")
    assert c.recv_exact(10) == b"back again"  # sim:loopback: what the line sends comes back
    c.close()
    admin_gate.stop()
