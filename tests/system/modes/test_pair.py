"""modes/test_pair.py: Pair Connection master and slave (device ref. §3; issue 5 §6;
docs/pair-protocol.md). The slave is driven by a master written here from the protocol document,
byte by byte; the master and slave are also run against each other as two serve instances, with
ptys for the data and simulated null-modem cables to drive and observe RTS/CTS and DTR/DSR across
the pair."""

import socket

import pytest

import sgtest
from sgtest import PairPeer, make_config, monitor, serial_settings

QUIET = 0.3  # only ever used to assert absence


def slave_port(number, device, local_port, **mode):
    m = {"type": "pair_slave", "local_port": local_port}
    m.update(mode)
    return {"port": number, "device": device, "serial": serial_settings(), "mode": m}


def master_port(number, device, port, host=sgtest.LOOPBACK, **mode):
    m = {"type": "pair_master", "host": host, "port": port}
    m.update(mode)
    return {"port": number, "device": device, "serial": serial_settings(), "mode": m}


def established(peer):
    """A master peer whose session is up on the SerialGate side (its HELLO came back)."""
    assert peer.wait_hello() == b"SGPC\x01\x01", "the slave's HELLO is not the documented one"
    return peer


# ---------------------------------------------------------------- the slave, byte by byte


def test_slave_hello_and_data_both_ways(admin_gate, pty, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    peer = established(PairPeer.connect(local))
    peer.send_data(b"to the serial line")
    assert pty.read_exact(18) == b"to the serial line"
    pty.write(b"from the serial line")
    assert peer.recv_data(20) == b"from the serial line"
    # Serial data is framed: the raw stream holds DATA frames, never bare bytes.
    assert peer.inbox == b"", f"a partial frame is left over: {bytes(peer.inbox)!r}"
    admin_gate.wait_event("serial.connected", lambda e: str(peer.local_port) in e["source"])


def test_slave_sends_nothing_of_the_line_before_hello(admin_gate, pty, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    peer = PairPeer.connect(local, hello=False)
    assert peer.wait_hello() == b"SGPC\x01\x01"
    pty.write(b"secret")
    peer.pump(QUIET)
    assert peer.data == b"", "serial data reached a peer that never said HELLO"
    peer.send(sgtest.pair_hello("master"))
    sgtest.wait_until(lambda: monitor(admin_gate, 1)["peers"], sgtest.IO_TIMEOUT,
                      what="the master to be established")
    pty.write(b"now")
    assert peer.recv_data(3) == b"now"


def test_slave_refuses_a_second_master(admin_gate, pty, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    first = established(PairPeer.connect(local))
    second = PairPeer.connect(local)
    assert second.wait_closed(), "a second master was not closed"
    admin_gate.wait_event("serial.refused", lambda e: str(second.local_port) in e["source"])
    pty.write(b"still paired")
    assert first.recv_data(12) == b"still paired"
    assert monitor(admin_gate, 1)["counters"]["refused"] >= 1


@pytest.mark.parametrize("junk", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                  sgtest.pair_hello("slave"),  # a slave is not a master
                                  sgtest.pair_frame(0x01, b"data before hello")],
                         ids=["http", "wrong-role", "data-first"])
def test_slave_closes_a_peer_that_does_not_speak_the_protocol(admin_gate, pty, free_ports, junk):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    peer = PairPeer.connect(local, hello=False)
    peer.send(junk)
    assert peer.wait_closed(), "a peer speaking something else was not closed"
    assert pty.read_for(QUIET) == b"", "bytes of a refused peer reached the serial line"
    admin_gate.wait_event("serial.refused", lambda e: str(peer.local_port) in e["source"])
    # The slot is free again for a real master.
    peer2 = established(PairPeer.connect(local))
    peer2.send_data(b"ok")
    assert pty.read_exact(2) == b"ok"


def test_malformed_frame_after_hello_ends_the_session(admin_gate, pty, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    peer = established(PairPeer.connect(local))
    peer.send_data(b"fine")
    assert pty.read_exact(4) == b"fine"
    peer.send(bytes([0x01, 0xFF, 0xFF]))  # a DATA header announcing 65535 bytes (max 4096)
    assert peer.wait_closed(), "a DATA frame longer than 4096 bytes was accepted"
    admin_gate.wait_event("serial.protocol_error", lambda e: str(peer.local_port) in e["source"])


def test_slave_hello_deadline(admin_gate, pty, free_ports):
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    silent = PairPeer.connect(local, hello=False)
    # kHelloTimeout is 10 s; the bound here is generous, never a timing assertion.
    assert silent.wait_closed(timeout=30), "a peer that never said HELLO kept the slot"
    admin_gate.wait_event("serial.refused",
                          lambda e: str(silent.local_port) in e["source"] and "HELLO" in
                          e["message"])


# ---------------------------------------------------------------- modem lines across


def test_lines_drive_the_far_outputs(admin_gate, free_ports):
    """Two slaves on the two ends of a simulated null-modem cable, each with a master written
    here. RTS of port 2 is port 1's CTS, DTR of port 2 is port 1's DSR and DCD."""
    l1, l2 = free_ports(2)
    admin_gate.serve(config=make_config([slave_port(1, "sim:null-modem:pair", l1),
                                         slave_port(2, "sim:null-modem:pair", l2)]),
                     wait_ports=[l1, l2])
    # No master anywhere: both ports hold RTS and DTR off (the far cable end is unplugged).
    m2 = monitor(admin_gate, 2)["modem"]
    assert (m2["rts"], m2["dtr"]) == (False, False), m2

    one = established(PairPeer.connect(l1))
    one.wait_lines(cts=False, dsr=False, dcd=False)  # reported once the pair is up
    two = established(PairPeer.connect(l2))

    two.send_lines(cts=True)  # port 2 drives RTS = remote CTS
    assert one.wait_lines(cts=True, dsr=False) == {"cts": True, "dsr": False, "dcd": False,
                                                  "ri": False}
    m2 = monitor(admin_gate, 2)["modem"]
    assert (m2["rts"], m2["dtr"]) == (True, False), m2

    two.send_lines(cts=True, dsr=True)  # and DTR = remote DSR (DSR and DCD on the far side)
    one.wait_lines(cts=True, dsr=True, dcd=True)
    two.send_lines(cts=False, dsr=True)
    one.wait_lines(cts=False, dsr=True)

    # The lines go the other way too.
    one.send_lines(cts=True, dsr=False)
    two.wait_lines(cts=True, dsr=False)

    # The master of port 2 leaves: port 2 drops RTS and DTR, which port 1 reports.
    two.close()
    one.wait_lines(cts=False, dsr=False, dcd=False)
    admin_gate.wait_event("serial.disconnected", lambda e: str(two.local_port) in e["source"])


# ---------------------------------------------------------------- master and slave, two serves


def wait_paired(master_gate, slave_gate):
    master_gate.wait_event("serial.connected", lambda e: e["port"] == 1)
    slave_gate.wait_event("serial.connected", lambda e: e["port"] == 1)


def test_master_and_slave_carry_data_both_ways(gate_factory, pty_factory, free_ports):
    (local,) = free_ports(1)
    slave, master = gate_factory("slave"), gate_factory("master")
    pty_s, pty_m = pty_factory(), pty_factory()
    for g in (slave, master):
        g.setup_admin()
    slave.serve(config=make_config([slave_port(1, pty_s.path, local)]), wait_ports=[local])
    master.serve(config=make_config([master_port(1, pty_m.path, local)]))
    wait_paired(master, slave)

    pty_m.write(b"master to slave")
    assert pty_s.read_exact(15) == b"master to slave"
    pty_s.write(b"slave to master")
    assert pty_m.read_exact(15) == b"slave to master"
    big = bytes(range(256)) * 512  # 128 KiB, several DATA frames and reads
    pty_m.write(big)
    assert pty_s.read_exact(len(big), timeout=30) == big


def test_master_and_slave_carry_lines(gate_factory, free_ports):
    """Master serve: port 1 pair_master on cable "m" end A, port 2 pair_slave on end B (driven by
    a master written here). Slave serve likewise with cable "s". A line set at the master serve's
    port 2 crosses cable m, the pair, and cable s, and comes out at the slave serve's port 2."""
    l_pair, l_drive_s = free_ports(2)
    l_drive_m = free_ports(1)[0]
    slave, master = gate_factory("slave"), gate_factory("master")
    for g in (slave, master):
        g.setup_admin()
    slave.serve(config=make_config([slave_port(1, "sim:null-modem:s", l_pair),
                                    slave_port(2, "sim:null-modem:s", l_drive_s)]),
                wait_ports=[l_pair, l_drive_s])
    master.serve(config=make_config([master_port(1, "sim:null-modem:m", l_pair),
                                     slave_port(2, "sim:null-modem:m", l_drive_m)]),
                 wait_ports=[l_drive_m])
    wait_paired(master, slave)
    at_master = established(PairPeer.connect(l_drive_m))
    at_slave = established(PairPeer.connect(l_drive_s))

    at_master.send_lines(cts=True)  # master port 2 RTS → master port 1 CTS → slave port 1 RTS
    at_slave.wait_lines(cts=True, dsr=False)
    at_master.send_lines(cts=False, dsr=True)  # ... DTR → DSR → DTR → DSR
    at_slave.wait_lines(cts=False, dsr=True, dcd=True)
    at_slave.send_lines(cts=True, dsr=False)  # and back the other way
    at_master.wait_lines(cts=True, dsr=False)

    # Data crosses the same chain.
    at_master.send_data(b"end to end")
    assert at_slave.recv_data(10) == b"end to end"


def test_master_retries_until_the_slave_is_up(gate_factory, pty_factory, free_ports):
    (local,) = free_ports(1)
    slave, master = gate_factory("slave"), gate_factory("master")
    pty_s, pty_m = pty_factory(), pty_factory()
    for g in (slave, master):
        g.setup_admin()
    master.serve(config=make_config([master_port(1, pty_m.path, local)]))
    master.wait_event("serial.unreachable", lambda e: str(local) in e["source"])
    slave.serve(config=make_config([slave_port(1, pty_s.path, local)]), wait_ports=[local])
    wait_paired(master, slave)
    assert len(master.events("--type", "serial.unreachable")) == 1, "outage logged per retry"
    pty_s.write(b"late but there")
    assert pty_m.read_exact(14) == b"late but there"

    # The slave restarts: the master comes back by itself.
    slave.stop()
    master.wait_event("serial.disconnected", lambda e: e["port"] == 1)
    slave.serve(config=make_config([slave_port(1, pty_s.path, local)]), wait_ports=[local])
    slave.wait_event("serial.connected", lambda e: e["port"] == 1, count=2)
    pty_m.write(b"again")
    assert pty_s.read_exact(5) == b"again"


def test_pair_ports_must_not_speak_raw_tcp(admin_gate, pty, free_ports):
    """A plain TCP client gets no serial data from a pair slave (it is not a TCP Server)."""
    (local,) = free_ports(1)
    admin_gate.serve(config=make_config([slave_port(1, pty.path, local)]), wait_ports=[local])
    s = socket.create_connection((sgtest.LOOPBACK, local), timeout=sgtest.IO_TIMEOUT)
    pty.write(b"not for you")
    s.settimeout(QUIET)
    got = b""
    try:
        got = s.recv(100)
    except socket.timeout:
        pass
    s.close()
    assert b"not for you" not in got, "serial data sent to a peer that never said HELLO"
