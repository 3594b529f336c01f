"""client/test_realcom_flood.py: `serialgate realcom` against a device that floods its command
channel with POLL and never reads the answers (issue 14 item 4). The device here is a plain
socket pair of listeners that accept the client's data and command connections; the client must
answer the polls of one read with one ALIVE and stop reading while 4 KiB of answers wait, so its
memory stays within a stated growth (VmRSS) and it sends back far less than it was sent."""

import os
import socket
import subprocess

import sgtest
from sgtest import wait_until

POLL = 0x27
FLOOD_BYTES = 32 << 20
RSS_GROWTH_LIMIT_KIB = 12 * 1024  # before the fix the client grew 1:1 with the flood


def listener():
    s = socket.socket()
    s.bind((sgtest.LOOPBACK, 0))
    s.listen(4)
    s.settimeout(sgtest.IO_TIMEOUT * 3)
    return s


def test_a_poll_flood_that_is_never_read_does_not_grow_the_client(tmp_path, sg_binary,
                                                                    monkeypatch):
    sgtest.small_asan_quarantine(monkeypatch)
    data_l, command_l = listener(), listener()
    link = tmp_path / "ttyR1"
    err = tmp_path / "realcom.stderr"
    with open(err, "wb") as ef:
        proc = subprocess.Popen(
            [str(sg_binary), "realcom", "--device", sgtest.LOOPBACK, "--port", "1",
             "--data-port", str(data_l.getsockname()[1]),
             "--command-port", str(command_l.getsockname()[1]), "--link", str(link)],
            stdin=subprocess.DEVNULL, stdout=ef, stderr=subprocess.STDOUT, cwd=tmp_path)
    app = None
    conns = []
    try:
        wait_until(lambda: link.is_symlink(), sgtest.START_TIMEOUT, what="the link")
        app = os.open(link, os.O_RDWR | os.O_NOCTTY)  # an application opens the port
        data, _ = data_l.accept()
        command, _ = command_l.accept()
        conns += [data, command]

        block = bytes([POLL, 1, 7]) * (65535 // 3)
        sent = 0
        command.settimeout(2.0)  # the client stopped reading for 2 s: the bound holds
        with sgtest.PeakRss(proc.pid) as rss:
            try:
                while sent < FLOOD_BYTES:
                    sent += command.send(block)
            except (socket.timeout, BlockingIOError):
                pass
        print(f"POLL flood: sent {sent} bytes; realcom VmRSS {rss.before} -> peak {rss.peak} KiB")
        assert proc.poll() is None, sgtest.tail(err)
        assert rss.growth < RSS_GROWTH_LIMIT_KIB, (
            f"realcom VmRSS grew by {rss.growth} KiB during the POLL flood")
        # The answers were coalesced: what the client sent back is far less than the flood.
        command.settimeout(0.5)
        answered = 0
        try:
            while chunk := command.recv(1 << 16):
                answered += len(chunk)
        except socket.timeout:
            pass
        assert answered < sent // 4, f"{answered} bytes of answers to {sent} bytes of POLLs"
    finally:
        if app is not None:
            os.close(app)
        for c in conns:
            c.close()
        proc.terminate()
        try:
            proc.wait(timeout=sgtest.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        data_l.close()
        command_l.close()
