"""serial/test_sim_line_errors.py: line errors on the simulated null-modem cable. Two ports on the
two ends of `sim:null-modem:NAME` whose line settings disagree: the receiving UART samples garbage
(src/serial/sim_wire.h: a format mismatch garbles every byte as XOR 0xFF and counts it, as a
framing error when rate, data bits or stop bits differ, as a parity error when only parity does),
and the receiving port logs serial.line_error with the counters (port/port.cpp, at most one event a
second). Settings that agree deliver every byte intact and log nothing."""

import random
import re
import time

import pytest

import sgtest
from sgtest import Client, make_config, serial_settings, tcp_server_port

QUIET = 0.3
LINE_ERROR = re.compile(r"framing (\d+), parity (\d+), overrun (\d+), breaks (\d+)")


def garbled(data):
    return bytes(b ^ 0xFF for b in data)


def sync_pair(src, dst, timeout=sgtest.IO_TIMEOUT):
    """Pings src -> dst until dst's session receives (garbled or not), then drains late pings:
    both sessions run, so the next bytes reach dst whole."""
    deadline = time.monotonic() + timeout
    i = 0
    while not dst.recv_for(0.2):
        assert time.monotonic() < deadline, "no byte crossed the null-modem pair"
        src.send(b"<ping%d>" % i)
        i += 1
    while dst.recv_for(QUIET):
        pass


def line_errors(gate, port):
    return gate.events("--type", "serial.line_error", "--port", str(port))


def counters(event):
    m = LINE_ERROR.search(event["message"])
    assert m, f"serial.line_error without counters: {event}"
    return dict(zip(("framing", "parity", "overrun", "breaks"), map(int, m.groups())))


@pytest.fixture
def cable(admin_gate, free_ports):
    """start(settings of end 1, settings of end 2) -> (client of port 1, client of port 2)."""
    def start(serial1, serial2):
        l1, c1, l2, c2 = free_ports(4)
        admin_gate.serve(config=make_config([
            tcp_server_port(1, "sim:null-modem:x", l1, c1, serial=serial1),
            tcp_server_port(2, "sim:null-modem:x", l2, c2, serial=serial2),
        ]), wait_ports=[l1, l2])
        return Client(l1), Client(l2)
    return start


MISMATCHES = [
    # id, end 1, end 2, the counter that must grow (the other stays 0)
    ("baud", serial_settings(baud=9600), serial_settings(baud=19200), "framing"),
    ("stop-bits", serial_settings(stop_bits=1), serial_settings(stop_bits=2), "framing"),
    ("parity", serial_settings(parity="none"), serial_settings(parity="even"), "parity"),
]


@pytest.mark.parametrize("serial1,serial2,counter", [m[1:] for m in MISMATCHES],
                         ids=[m[0] for m in MISMATCHES])
def test_mismatched_ends_garble_and_log_line_errors(admin_gate, cable, serial1, serial2,
                                                    counter):
    one, two = cable(serial1, serial2)
    other = "parity" if counter == "framing" else "framing"

    sync_pair(one, two)
    data = random.Random(5).randbytes(2048)
    one.send(data)
    got = two.recv_exact(len(data))
    assert got != data, "bytes crossed a mismatched line intact"
    assert got == garbled(data), "the simulated UART garbles every byte as XOR 0xFF"
    [event, *_] = admin_gate.wait_event("serial.line_error", lambda e: e["port"] == 2)
    assert event["severity"] == "Warning" and event["category"] == "Serial", event
    n = counters(event)
    assert n[counter] > 0 and n[other] == 0, f"expected {counter} errors only: {event['message']}"
    assert line_errors(admin_gate, 1) == [], "port 1 received nothing, yet logged a line error"

    # The other way round: now port 1's receiver sees the mismatch.
    sync_pair(two, one)
    back = random.Random(6).randbytes(2048)
    two.send(back)
    assert one.recv_exact(len(back)) == garbled(back)
    [event1, *_] = admin_gate.wait_event("serial.line_error", lambda e: e["port"] == 1)
    assert counters(event1)[counter] > 0, event1["message"]


def test_matching_ends_log_no_line_error(admin_gate, cable):
    one, two = cable(serial_settings(baud=9600), serial_settings(baud=9600))
    sync_pair(one, two)
    sync_pair(two, one)
    data = random.Random(7).randbytes(2048)
    one.send(data)
    assert two.recv_exact(len(data)) == data
    two.send(data)
    assert one.recv_exact(len(data)) == data
    time.sleep(QUIET)  # events are written by the store's writer thread
    assert line_errors(admin_gate, 1) == [] and line_errors(admin_gate, 2) == [], \
        "a line with matching settings logged line errors"
