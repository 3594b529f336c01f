"""test_payload_never_logged.py: SD-5 / AU-6 — serial payload never reaches a log. For every
operation mode a unique marker goes through the real binary in both directions (network → serial
line and serial line → network, the network side being an outside peer: a Python socket, or for
Pair Connection a second SerialGate port), with the most verbose logging the binary offers
(`--log-level trace`, every event type switched on). Then the marker — as bytes and as hex — is
looked for in everything serve wrote: its stdout/stderr, every file under the gate's work and data
directories (the SQLite event store with its WAL, any log file) and `serialgate log show` in each
format. It must be nowhere.

Adding a mode or a security level is one row in MODES: a name, the `mode:` block(s) and an
exchange function; the Secure Connection rows wrap a plain row's blocks with secure()."""

import re
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import sgtest
from sgtest import LOOPBACK, IO_TIMEOUT, make_config, serial_settings

CATALOG = sgtest.REPO / "src" / "events" / "catalog.h"


def every_event_type():
    """event_log.types with every type of the catalog on (some are off by default)."""
    keys = re.findall(r'Type k\w+\{"([a-z0-9_]+\.[a-z0-9_]+)"', CATALOG.read_text())
    assert len(keys) > 20, f"catalog.h parsed to {keys}"
    return {k: True for k in keys}


def recv_until(sock, wanted, timeout=IO_TIMEOUT):
    """Reads from a TCP socket until `wanted` is among what arrived (protocol bytes around it,
    e.g. Telnet negotiation, are ignored)."""
    got = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.2)
    while wanted not in got:
        if time.monotonic() > deadline:
            raise AssertionError(f"{wanted!r} did not arrive; got {got[-200:]!r}")
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError(f"closed before {wanted!r} arrived; got {got[-200:]!r}")
        got += chunk
    return got


def read_until(pty, wanted, timeout=IO_TIMEOUT):
    got = b""
    deadline = time.monotonic() + timeout
    while wanted not in got:
        if time.monotonic() > deadline:
            raise AssertionError(f"{wanted!r} did not reach the serial line; got {got[-200:]!r}")
        got += pty.read_for(0.1)
    return got


# ---------------------------------------------------------------- the modes, one row each


@dataclass
class Link:
    """What an exchange gets: the serial lines (ptys) and the ports it may use."""
    ptys: list
    tcp: list  # free TCP ports, reserved for this row
    udp: int   # a free UDP port for the peer


def tcp_server_ports(link):
    return [{"type": "tcp_server", "local_port": link.tcp[0], "command_port": link.tcp[1]}]


def real_com_ports(link):
    return [{"type": "real_com", "data_port": link.tcp[0], "command_port": link.tcp[1]}]


def rfc2217_ports(link):
    return [{"type": "rfc2217", "local_port": link.tcp[0]}]


def tcp_client_ports(link):
    return [{"type": "tcp_client", "destinations": [{"host": LOOPBACK, "port": link.tcp[0]}]}]


def udp_ports(link):
    return [{"type": "udp", "local_port": link.tcp[1],
             "destinations": [{"begin": LOOPBACK, "end": LOOPBACK, "port": link.udp}]}]


def pair_ports(link):
    return [{"type": "pair_slave", "local_port": link.tcp[0]},
            {"type": "pair_master", "host": LOOPBACK, "port": link.tcp[0]}]


def secure(ports_of):
    """The same mode blocks with Secure Connection `encrypted` (a Pair master does not check the
    slave's self-signed certificate: `verify: false`, itself a logged Warning)."""
    def ports(link):
        blocks = ports_of(link)
        for b in blocks:
            b["security"] = "encrypted"
            if b["type"] == "pair_master":
                b["verify"] = False
        return blocks
    return ports


def both_ways(sock, pty, to_serial, to_net):
    sock.sendall(to_serial)
    read_until(pty, to_serial)
    pty.write(to_net)
    recv_until(sock, to_net)


def exchange_connecting(link, to_serial, to_net):
    """The peer connects to the mode's first TCP port (TCP Server, Real COM data, RFC 2217)."""
    with socket.create_connection((LOOPBACK, link.tcp[0]), timeout=IO_TIMEOUT) as s:
        both_ways(s, link.ptys[0], to_serial, to_net)


def exchange_connecting_tls(link, to_serial, to_net):
    """As exchange_connecting, over TLS (the payload crosses the wire encrypted; what matters here
    is that the plaintext is in no log either)."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE  # the device's certificate is tested elsewhere
    with socket.create_connection((LOOPBACK, link.tcp[0]), timeout=IO_TIMEOUT) as raw:
        with tls.wrap_socket(raw) as s:
            both_ways(s, link.ptys[0], to_serial, to_net)


def exchange_accepting(link, to_serial, to_net):
    """The mode connects to the peer (TCP Client)."""
    with socket.create_server((LOOPBACK, link.tcp[0])) as srv:
        srv.settimeout(IO_TIMEOUT * 2)
        s, _ = srv.accept()
        with s:
            both_ways(s, link.ptys[0], to_serial, to_net)


def exchange_udp(link, to_serial, to_net):
    pty = link.ptys[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOOPBACK, link.udp))
        s.settimeout(IO_TIMEOUT)
        deadline = time.monotonic() + IO_TIMEOUT
        # The socket binds a moment after serve starts: send until the line has it.
        got = b""
        while to_serial not in got:
            assert time.monotonic() < deadline, f"no datagram reached the line: {got!r}"
            s.sendto(to_serial, (LOOPBACK, link.tcp[1]))
            got += pty.read_for(0.3)
        pty.write(to_net)
        data = b""
        while to_net not in data:
            data += s.recvfrom(65536)[0]


def exchange_pair(link, to_serial, to_net):
    """Pair Connection: both ends are SerialGate ports; the 'network' is the link between them.
    The marker goes from the slave's line to the master's and back."""
    slave_line, master_line = link.ptys
    deadline = time.monotonic() + IO_TIMEOUT * 2
    got = b""
    while to_serial not in got:  # the master connects a moment after start
        assert time.monotonic() < deadline, f"pair never carried the marker: {got!r}"
        slave_line.write(to_serial)
        got += master_line.read_for(0.3)
    master_line.write(to_net)
    read_until(slave_line, to_net)


@dataclass
class Mode:
    name: str
    ports: Callable  # Link -> list of `mode:` blocks, one per serial port (each on its own pty)
    exchange: Callable  # (Link, to_serial, to_net) -> None; asserts both directions arrived


MODES = [
    Mode("tcp_server", tcp_server_ports, exchange_connecting),
    Mode("real_com", real_com_ports, exchange_connecting),
    Mode("rfc2217", rfc2217_ports, exchange_connecting),
    Mode("tcp_client", tcp_client_ports, exchange_accepting),
    Mode("udp", udp_ports, exchange_udp),
    Mode("pair", pair_ports, exchange_pair),
    Mode("tcp_server_tls", secure(tcp_server_ports), exchange_connecting_tls),
    Mode("real_com_tls", secure(real_com_ports), exchange_connecting_tls),
    Mode("rfc2217_tls", secure(rfc2217_ports), exchange_connecting_tls),
    Mode("pair_tls", secure(pair_ports), exchange_pair),
]


def everything_written(gate):
    """Every byte serve left behind: its output, every file under the work and data directories
    (the store with WAL and SHM, any log), and `log show` in each format."""
    texts = {}
    for path in sorted(Path(gate.work).rglob("*")):
        if path.is_file():
            texts[str(path)] = path.read_bytes()
    for fmt in ("text", "json", "csv"):
        r = gate.run("log", "show", "--data-dir", gate.data_dir, "--format", fmt)
        texts[f"log show --format {fmt}"] = (r.stdout + r.stderr).encode()
    r = gate.run("log", "status", "--data-dir", gate.data_dir)
    texts["log status"] = (r.stdout + r.stderr).encode()
    return texts


@pytest.mark.parametrize("mode", MODES, ids=[m.name for m in MODES])
def test_marker_never_reaches_a_log(admin_gate, pty_factory, mode):
    to_serial = f"SD5-net-{uuid.uuid4().hex}".encode()
    to_net = f"SD5-ser-{uuid.uuid4().hex}".encode()
    link = Link(ptys=[], tcp=sgtest.free_ports(2), udp=sgtest.free_ports(1)[0])
    blocks = mode.ports(link)
    ports = []
    for i, block in enumerate(blocks, start=1):
        p = pty_factory()
        link.ptys.append(p)
        ports.append({"port": i, "device": p.path, "serial": serial_settings(), "mode": block})
    cfg = make_config(ports, event_log={"types": every_event_type()})
    admin_gate.serve(config=cfg, args=["--log-level", "trace"])
    listening = [b["local_port"] for b in blocks if b["type"] in ("pair_slave", "rfc2217")]
    listening += [b[k] for b in blocks for k in ("data_port",) if k in b]
    listening += [b["local_port"] for b in blocks if b["type"] == "tcp_server"]
    if listening:
        admin_gate.wait_listening(listening)
    mode.exchange(link, to_serial, to_net)
    # The connection is seen by the log (the test would prove nothing if serve logged nothing).
    admin_gate.stop()  # flushes the store: every event written
    # The search itself is checked: a canary in a log file of the work directory is found.
    canary = f"SD5-canary-{uuid.uuid4().hex}".encode()
    (Path(admin_gate.work) / "canary.log").write_bytes(b"line\n" + canary + b"\n")
    written = everything_written(admin_gate)
    assert any(canary in t for t in written.values()), "the search does not read the log files"
    assert any(b"serial." in t for t in written.values()), "no serial event was logged at all"
    for marker in (to_serial, to_net):
        for form in (marker, marker.hex().encode(), marker.hex().upper().encode()):
            for where, text in written.items():
                assert form not in text, f"serial payload {form[:24]!r}... found in {where}"
