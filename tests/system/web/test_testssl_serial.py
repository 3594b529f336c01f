"""web/test_testssl_serial.py: testssl.sh against a serial port's Secure Connection (issue 11 item
7, TLS-5: one TLS profile for every listener): a TCP Server port at `security: encrypted` on a pty
gets the same gate as the HTTPS API in test_testssl.py — no finding above LOW, TLS 1.2/1.3 only,
the server's cipher order — with the same CA-issued device certificate (testssl_scan.py says why).

The port speaks no HTTP (its bytes go to the serial line), so testssl skips its HTTP checks
(asserted: it found no HTTP service). testssl opens a few hundred connections, each with a full
handshake, from 127.0.0.1 within a minute or two: the port's per-source DoS bounds (serial_dos,
10 handshakes/s by default, tested in test_serial_dos.py) are raised for this run so that the scan
sees the TLS configuration, not the rate limit.

Slow (one to four minutes) and heavy (tests/CMakeLists.txt): one run, JSON kept in tmp_path.
"""

from api import API
from sgtest import LOOPBACK, tcp_server_port
from testssl_scan import assert_nothing_above_low, ca_issued_pair, scan


def test_testssl_reports_nothing_above_low_on_an_encrypted_serial_port(web_admin, pty,
                                                                      free_ports, tmp_path):
    local, command = free_ports(2)
    w, admin = web_admin(
        ports=[tcp_server_port(1, pty.path, local, command, max_connections=8,
                               security="encrypted")],
        serial_dos={"connections_per_second_per_source": 1000,
                    "connection_burst_per_source": 10000,
                    "handshakes_per_second_per_source": 1000,
                    "handshake_burst_per_source": 10000})
    w.gate.wait_listening([local])
    ca, cert_pem, key_pem = ca_issued_pair(tmp_path)
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 200, r

    out = tmp_path / "testssl.json"
    findings = scan(f"{LOOPBACK}:{local}", ca, out)
    by_id = assert_nothing_above_low(findings, out)
    service = by_id.get("service", {}).get("finding", "")
    assert "skipping all HTTP checks" in service, by_id.get("service")
