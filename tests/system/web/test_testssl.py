"""web/test_testssl.py: testssl.sh (Debian package testssl.sh, binary `testssl`) against the HTTPS
API (TLS-1..TLS-4, issue 4 "How it must be shown", issue 11 item 7): no finding above LOW, i.e.
none of severity MEDIUM, HIGH or CRITICAL. The run and the gate are in testssl_scan.py (shared
with test_testssl_serial.py, a serial port's Secure Connection), which says why the certificate
is a CA-issued one. The TLS profile is the same for every certificate (TLS-5); test_tls.py checks
it with the self-signed one.

Slow (about a minute): run once, JSON kept in tmp_path. LOW and WARN findings are printed (-s).
The server's cipher order is kept on purpose: testssl 3.0 rates its absence HIGH
(docs/adr/0007-tls-cipher-order.md).
"""

from api import API
from sgtest import LOOPBACK
from testssl_scan import above_low, assert_nothing_above_low, ca_issued_pair, scan

PW = "Web-Tssl-Pa55word-e3Nb"


def test_above_low_counts_medium():
    # The gate itself: MEDIUM fails it as HIGH and CRITICAL do; LOW, WARN, INFO, OK do not.
    sample = [{"id": s, "severity": s} for s in ("OK", "INFO", "LOW", "WARN", "MEDIUM", "HIGH",
                                                  "CRITICAL")]
    assert [f["id"] for f in above_low(sample)] == ["MEDIUM", "HIGH", "CRITICAL"]


def test_testssl_reports_nothing_above_low(web, tmp_path):
    w = web()
    w.setup("admin", PW)
    admin = w.login("admin", PW)
    ca, cert_pem, key_pem = ca_issued_pair(tmp_path)
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 200, r

    out = tmp_path / "testssl.json"
    findings = scan(f"{LOOPBACK}:{w.port}", ca, out)
    assert_nothing_above_low(findings, out)
