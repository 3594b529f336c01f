"""port/test_device_loss.py: a serial device that goes away under a running port (a USB adapter
unplugged; here a pty whose master is closed, so the slave is hung up). port/port.cpp: the port
logs serial.device_failed once per failure streak, stops its mode (the client is closed), and
retries the open with backoff (0.5 s doubling to 10 s) without disturbing other ports; when the
device is back, the mode starts again.

The port's device is a symlink under tmp_path, so the test decides what the path names: the pty,
then nothing (ENOENT, and no stranger's pty that reuses the number), then a new pty."""

import os
import time

import sgtest
from sgtest import Client, Pty, connect_synced, make_config, tcp_server_port

BACK_TIMEOUT = 20.0  # device back -> port serving again: one backoff step (<= 10 s) and the open


def point(link, target):
    """Makes `link` a symlink to `target`, atomically (serve may open it at any moment)."""
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def allowing(tmp_path):
    """system: the test ptys and the links under tmp_path that stand for a USB adapter
    (system.allowed_devices matches the configured path; serve opens its tty-class target)."""
    return {"allowed_devices": sgtest.TEST_ALLOWED_DEVICES + [str(tmp_path / "ttyUSB*")]}


def echo_ok(client, tag):
    client.send(tag)
    assert client.recv_exact(len(tag)) == tag


def test_lost_device_is_reported_retried_and_recovered(admin_gate, pty_factory, free_ports,
                                                       tmp_path):
    g = admin_gate
    first = pty_factory()
    link = tmp_path / "ttyUSB0"
    point(link, first.path)
    l1, c1, l2, c2 = free_ports(4)
    g.serve(config=make_config([tcp_server_port(1, str(link), l1, c1),
                                tcp_server_port(2, "sim:echo", l2, c2)],
                               system=allowing(tmp_path)),
            wait_ports=[l1, l2])
    one = connect_synced(l1, first, "one")
    two = Client(l2)
    echo_ok(two, b"before")

    # Unplug: the path leads nowhere from now on, and the pty goes away.
    point(link, tmp_path / "unplugged")
    first.close()
    failed = g.wait_event("serial.device_failed", lambda e: e["port"] == 1)[0]
    assert str(link) in failed["message"], failed
    assert failed["severity"] == "Error", failed
    assert one.wait_closed(), "the client of a port whose device failed was not disconnected"

    # The port retries (0.5 s, 1 s, 2 s ...) against a missing path: serve runs on, the other
    # port serves its client all along, and the failure is logged once, not once per attempt.
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        g.check_alive()
        echo_ok(two, b"meanwhile")
        time.sleep(0.25)
    assert len(g.events("--type", "serial.device_failed", "--port", "1")) == 1, \
        "one failure streak must log serial.device_failed once"
    assert g.events("--type", "serial.device_failed", "--port", "2") == []

    # Plug in again: the next retry opens it and the mode starts.
    second = pty_factory()
    point(link, second.path)
    g.wait_event("serial.device_opened", lambda e: e["port"] == 1, count=2, timeout=BACK_TIMEOUT)
    g.wait_listening([l1], timeout=BACK_TIMEOUT)
    again = connect_synced(l1, second, "again")
    second.write(b"back")
    assert again.recv_exact(4) == b"back"
    echo_ok(two, b"after")  # port 2's client of before is still connected
    assert len(g.events("--type", "serial.mode_started", "--port", "2")) == 1, \
        "port 2 was restarted because port 1's device failed"


def test_device_missing_at_start_is_retried(admin_gate, free_ports, tmp_path):
    """A device absent at start is the same failure streak: logged once, retried, picked up."""
    g = admin_gate
    link = tmp_path / "ttyUSB1"
    point(link, tmp_path / "not-yet")
    l1, c1 = free_ports(2)
    g.serve(config=make_config([tcp_server_port(1, str(link), l1, c1)],
                               system=allowing(tmp_path)))
    failed = g.wait_event("serial.device_failed", lambda e: e["port"] == 1,
                          timeout=sgtest.START_TIMEOUT)[0]
    assert str(link) in failed["message"], failed
    assert l1 not in g.tcp_listening(), "the port listens although it has no device"

    pty = Pty()
    try:
        point(link, pty.path)
        g.wait_listening([l1], timeout=BACK_TIMEOUT)
        c = connect_synced(l1, pty, "late")
        pty.write(b"hello")
        assert c.recv_exact(5) == b"hello"
        assert len(g.events("--type", "serial.device_failed", "--port", "1")) == 1
    finally:
        g.stop()  # before the pty goes: a closing pty would be one more device failure
        pty.close()
