"""web/test_device_allowlist.py: which files a port may open (issue 14 item 12).

A port's `device` must match `system.allowed_devices` (globs an Administrator sets) and resolve to
a serial line of the tty class; anything else is refused, in the same words whether or not the
path exists, and never opened. "Never opened" is proved with inotify: the kernel reports IN_OPEN
for every open(2) of the watched inode, even one closed at once (stat, realpath and sysfs reads do
not count), and the same watch does see the open once the path is allowed (a positive control in
each test).
"""

import ctypes
import os
import stat
import struct
import termios

import pytest

import sgtest
from api import API
from sgtest import (EXIT_INVALID, DEFAULT_ALLOWED_DEVICES, connect_synced, free_ports, make_config,
                    monitor, tcp_server_port, wait_until)

OP_PW = "Op-Devices-Pa55word-q7Lx"

IN_OPEN = 0x20
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC


class OpenWatch:
    """Counts open(2)s of one path (inotify IN_OPEN), by anyone, from now on."""

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        assert self.fd >= 0, f"inotify_init1: {os.strerror(ctypes.get_errno())}"
        wd = libc.inotify_add_watch(self.fd, os.fsencode(str(path)), IN_OPEN)
        assert wd >= 0, f"inotify_add_watch {path}: {os.strerror(ctypes.get_errno())}"
        self.path = path
        self.count = 0

    def opens(self):
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return self.count
            i = 0
            while i < len(data):
                _wd, mask, _cookie, length = struct.unpack_from("iIII", data, i)
                i += 16 + length
                if mask & IN_OPEN:
                    self.count += 1

    def close(self):
        os.close(self.fd)


def refusal(path):
    return f"{path} is not allowed by system.allowed_devices"


def test_config_validate_and_import_refuse_paths_outside_the_list_alike(gate, pty, tmp_path):
    """config validate / import: a pty, /etc/passwd, /dev/watchdog, the console and a path that
    does not exist are refused with one sentence each that differs only by the path; nothing is
    opened and nothing committed."""
    gate.setup_admin()
    watch = OpenWatch(pty.path)
    before = termios.tcgetattr(pty.slave)
    local, command = free_ports(2)
    devices = [pty.path, "/etc/passwd", "/dev/watchdog", "/dev/console",
               str(tmp_path / "no-such-device"), "/dev/ttyS0/../../etc/shadow"]
    shapes = set()
    for dev in devices:
        cfg = make_config([tcp_server_port(1, dev, local, command)],
                          system={"allowed_devices": DEFAULT_ALLOWED_DEVICES})
        path = gate.write_config(cfg, name="device.yaml")
        for cmd in (["config", "validate", path],
                    ["config", "import", "--data-dir", gate.data_dir, path]):
            r = gate.run(*cmd)
            assert r.returncode == EXIT_INVALID, sgtest.describe(r)
            assert f"ports[0].device: {refusal(dev)}" in r.stderr, sgtest.describe(r)
            shapes.add((cmd[1], r.stdout, r.stderr.replace(dev, "PATH")))
    assert len(shapes) == 2, f"the refusal depends on the path: {sorted(shapes)}"
    assert f"device: {pty.path}" not in gate.export()
    assert watch.opens() == 0, f"{pty.path} was opened"
    assert termios.tcgetattr(pty.slave) == before, "the pty's line settings were changed"

    # Positive control: allowed, the same document is taken, and serve opens the pty.
    cfg = make_config([tcp_server_port(1, pty.path, local, command)],
                      system={"allowed_devices": DEFAULT_ALLOWED_DEVICES + ["/dev/pts/*"]})
    gate.serve(cfg, wait_ports=[local])
    wait_until(lambda: watch.opens() > 0, sgtest.APPLY_TIMEOUT, what=f"serve to open {pty.path}")
    watch.close()


def test_operator_cannot_point_a_port_at_a_pty_or_file_nor_widen_the_list(web_admin, pty,
                                                                          tmp_path):
    """The attack: an Operator (Serial write) attaches port 1 to another user's pty, a file, a FIFO
    and the console through PUT /api/v1/ports/1, then tries to widen system.allowed_devices through
    PUT /api/v1/system. Every attempt is refused, nothing is opened, nothing changes."""
    w, admin = web_admin([], system={"allowed_devices": DEFAULT_ALLOWED_DEVICES})
    admin.create_account("op", OP_PW)
    op = w.login("op", OP_PW)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    watches = [OpenWatch(pty.path), OpenWatch(fifo)]
    before = termios.tcgetattr(pty.slave)
    local, command = free_ports(2)

    answers = set()
    for dev in (pty.path, "/etc/passwd", str(fifo), str(tmp_path / "absent"), "/dev/console"):
        r = op.put(f"{API}/ports/1", tcp_server_port(1, dev, local, command))
        assert r.status == 400 and r.error_code() == "invalid_config", f"{dev}: {r}"
        assert r.json()["problems"] == [{"path": "ports[0].device", "message": refusal(dev)}], r
        answers.add(r.body.decode().replace(dev, "PATH"))
    assert len(answers) == 1, f"the refusal tells paths apart: {answers}"
    assert op.get(f"{API}/ports").json() == []

    # Widening the list is the Administrator's: System write (which the Operator has) is not
    # enough, through any route.
    r = op.put_section(f"{API}/system", allowed_devices=DEFAULT_ALLOWED_DEVICES + ["/dev/pts/*"])
    assert r.status == 403 and r.error_code() == "forbidden", r
    assert "system.allowed_devices" in r.json().get("message", ""), r
    whole = admin.get(f"{API}/config").json()
    whole["system"]["allowed_devices"] = ["/dev/*"]
    r = op.put(f"{API}/config", whole)
    assert r.status == 403 and r.error_code() == "forbidden", r
    assert admin.get(f"{API}/system").json()["allowed_devices"] == DEFAULT_ALLOWED_DEVICES
    # The rest of the section stays the Operator's (the list sent back unchanged).
    r = op.put_section(f"{API}/system", location="hall 2")
    assert r.status == 200 and r.json()["changed"] is True, r
    denied = admin.events("type=security.access_denied",
                          until=lambda ev: any("/api/v1/system" in e["message"] for e in ev))
    assert any("/api/v1/system" in e["message"] for e in denied), denied

    assert [wt.opens() for wt in watches] == [0, 0], "a refused path was opened"
    assert termios.tcgetattr(pty.slave) == before, "the pty's line settings were changed"

    # Positive control: the Administrator (password proved by the login just now) allows ptys;
    # then the Operator's same request is taken and serve opens the pty, which the watch sees.
    r = admin.put_section(f"{API}/system",
                          allowed_devices=DEFAULT_ALLOWED_DEVICES + ["/dev/pts/*"])
    assert r.status == 200 and r.json()["changed"] is True, r
    r = op.put(f"{API}/ports/1", tcp_server_port(1, pty.path, local, command))
    assert r.status == 200, r
    wait_until(lambda: watches[0].opens() > 0, sgtest.APPLY_TIMEOUT,
               what=f"serve to open {pty.path}")
    assert watches[1].opens() == 0
    for wt in watches:
        wt.close()


def console_is_here():
    try:
        st = os.stat("/dev/console")
    except OSError:
        return False
    return stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (5, 1)


def test_serve_opens_only_serial_lines_of_the_tty_class(admin_gate, pty, tmp_path):
    """Defence in depth at open time: the list allows a directory of links (as it allows
    /dev/serial/by-id/*), but serve resolves each path and opens only a character device of the
    tty class that is no console. A FIFO, a link to it and a regular file are refused without an
    open; a link to a pty is resolved and carries data."""
    links = tmp_path / "links"
    links.mkdir()
    fifo = links / "fifo"
    os.mkfifo(fifo)
    (links / "to-fifo").symlink_to(fifo)
    (links / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (links / "to-pty").symlink_to(pty.path)
    watch = OpenWatch(fifo)
    ports = free_ports(10)
    devices = {1: str(fifo), 2: str(links / "to-fifo"), 3: str(links / "passwd"),
               4: str(links / "to-pty")}
    allowed = [f"{links}/*"]
    if console_is_here():
        devices[5] = "/dev/console"
        allowed.append("/dev/console")
    cfg = make_config([tcp_server_port(n, d, ports[2 * n - 2], ports[2 * n - 1])
                       for n, d in devices.items()], system={"allowed_devices": allowed})
    admin_gate.serve(cfg, wait_ports=[ports[6]])

    c = connect_synced(ports[6], pty, "via-link")  # port 4: the link was followed to the pty
    c.close()
    want = {1: "not a character device", 2: "not a character device",
            3: "not a character device", 5: "a console or controlling terminal"}
    for n, words in want.items():
        if n not in devices:
            continue
        state = wait_until(
            lambda n=n: (s := monitor(admin_gate, n)["state"]).startswith("device unavailable")
            and s, sgtest.APPLY_TIMEOUT, what=f"port {n} refused")
        assert state == f"device unavailable: open {devices[n]}: {words}" + (
            ", never a serial line" if n == 5 else ""), state
        assert ports[2 * n - 2] not in admin_gate.tcp_listening(), f"port {n} listens"
    assert watch.opens() == 0, "serve opened the FIFO"
    watch.close()


@pytest.mark.parametrize("pattern", ["ttyUSB*", "/dev/../etc/*", "/dev//tty*", "sim:*"])
def test_bad_patterns_are_refused(gate, pattern):
    cfg = make_config([], system={"allowed_devices": [pattern]})
    r = gate.run("config", "validate", gate.write_config(cfg))
    assert r.returncode == EXIT_INVALID, sgtest.describe(r)
    assert "system.allowed_devices[0]: " in r.stderr, sgtest.describe(r)
