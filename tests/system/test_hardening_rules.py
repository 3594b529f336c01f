"""test_hardening_rules.py: the host side of the DoS defense (guide §3.7; NE-7).
`serialgate hardening-rules` prints an nftables ruleset for the ports of a configuration (a file
with --config, or a data directory's store with --data-dir) that `nft -c -f` (the real nftables
parser, check mode: nothing is installed) accepts; serve warns at start when SYN cookies are off,
checked in a network namespace of the test's own (unshare -n) where net.ipv4.tcp_syncookies is
set to 0 without touching the host's."""

import os
import shutil
import subprocess

import pytest

import sgtest
from sgtest import EXIT_OK, EXIT_USAGE, EXIT_INVALID, make_config, tcp_server_port


def config(ts, cmd, udp):
    return make_config(
        [tcp_server_port(1, "sim:echo", ts, cmd),
         {"port": 2, "device": "sim:loopback", "serial": sgtest.serial_settings(),
          "mode": {"type": "udp", "local_port": udp}}],
        https={"enabled": True, "port": 8443},
        serial_dos={"connections_per_second_per_source": 7, "connection_burst_per_source": 9})


def nft_check(gate, text):
    path = gate.work / "rules.nft"
    path.write_text(text)
    return subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True,
                          timeout=60)


def test_rules_for_a_file_name_every_port_and_nft_accepts_them(gate):
    cfg = gate.write_config(config(4101, 4102, 4103))
    r = sgtest.assert_rc(gate.run("hardening-rules", "--config", cfg), EXIT_OK)
    text = r.stdout
    assert "table inet serialgate_hardening {" in text
    assert "tcp dport { 8443 }" in text and "limit rate over 20/second burst 40" in text, text
    assert "tcp dport { 4101, 4102 }" in text and "limit rate over 7/second burst 9" in text, text
    assert "udp dport { 4103 }" in text, text
    assert "icmp type echo-request limit rate over" in text, text
    assert "tcp flags & (fin|syn|rst|psh|ack|urg) == 0x0" in text, text  # NULL scan
    # nftables is a test package of scripts/bootstrap: missing, the environment is broken.
    assert shutil.which("nft") is not None, "nft not installed (scripts/bootstrap --test)"
    p = nft_check(gate, text)
    assert p.returncode == 0, f"nft -c refused the ruleset: {p.stderr}\n{text}"
    # The check is real: a broken ruleset is refused.
    p = nft_check(gate, text.replace("limit rate over", "limit rate beyond", 1))
    assert p.returncode != 0


def test_rules_from_the_store_and_usage_errors(gate):
    gate.import_config(config(4201, 4202, 4203))
    r = sgtest.assert_rc(gate.run("hardening-rules", "--data-dir", gate.data_dir), EXIT_OK)
    assert "tcp dport { 4201, 4202 }" in r.stdout, r.stdout
    if shutil.which("nft") is not None:
        p = nft_check(gate, r.stdout)
        assert p.returncode == 0, p.stderr
    sgtest.assert_rc(gate.run("hardening-rules"), EXIT_USAGE)
    sgtest.assert_rc(gate.run("hardening-rules", "--data-dir", gate.data_dir, "--config", "x"),
                     EXIT_USAGE)
    bad = gate.write_config("serial_dos: {max_connections_per_source: 0}\n")
    r = sgtest.assert_rc(gate.run("hardening-rules", "--config", bad), EXIT_INVALID)
    assert "serial_dos.max_connections_per_source" in r.stderr, r.stderr


def unshare_works():
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="needs root and unshare -n")
@pytest.mark.parametrize("cookies, warned", [("0", True), ("1", False)])
def test_serve_warns_when_syn_cookies_are_off(gate, cookies, warned):
    gate.setup_admin()
    cfg = gate.write_config(make_config([]))
    script = (f"ip link set lo up; echo {cookies} > /proc/sys/net/ipv4/tcp_syncookies; "
              f'exec "$0" serve --data-dir "$1" --config "$2"')
    err = gate.work / f"serve-netns-{cookies}.stderr"
    with open(err, "wb") as ef:
        proc = subprocess.Popen(["unshare", "-n", "sh", "-c", script, str(sgtest.BINARY),
                                 str(gate.data_dir), str(cfg)], stdout=ef,
                                stderr=subprocess.STDOUT)
    try:
        # The check runs first in serve's run(), before the control socket is made.
        sgtest.wait_until(lambda: (gate.data_dir / "control.sock").exists()
                          or proc.poll() is not None, sgtest.START_TIMEOUT,
                          what="serve started in the namespace")
        assert proc.poll() is None, err.read_text()
    finally:
        proc.terminate()
        assert proc.wait(timeout=sgtest.STOP_TIMEOUT) == 0, err.read_text()
    events = gate.events("--type", "security.syn_cookies_off")
    if warned:
        assert len(events) == 1, events
        assert events[0]["severity"] == "Warning" and events[0]["category"] == "Security"
        assert "tcp_syncookies" in events[0]["message"]
    else:
        assert events == [], events
