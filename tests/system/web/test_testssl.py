"""web/test_testssl.py: testssl.sh (Debian package testssl.sh, binary `testssl`) against the HTTPS
API (TLS-1..TLS-4, issue 4 "How it must be shown", issue 11 item 7): no finding above LOW, i.e.
none of severity MEDIUM, HIGH or CRITICAL.

The device's own certificate is self-signed by design (CE-1), and testssl rightly rates a
certificate nobody can verify or revoke as CRITICAL ("chain of trust failed (self signed)") and
HIGH ("neither CRL nor OCSP URI provided"). Those say nothing about the TLS configuration, which is
what this test is about, so the run uses what an operator would deploy: an EC P-256 certificate
from a (test) CA with a CRL distribution point, imported through the API, and testssl is told the
CA (--add-ca). Every other finding counts. The TLS profile is the same for every certificate
(TLS-5); test_tls.py checks it with the self-signed one.

Slow (about a minute): run once, JSON kept in tmp_path. LOW and WARN findings are printed (-s).
The server's cipher order is kept on purpose: testssl 3.0 rates its absence HIGH
(docs/adr/0007-tls-cipher-order.md).
"""

import json
import shutil
import subprocess

import pytest

from api import API
from sgtest import LOOPBACK

TESTSSL_TIMEOUT = 600
PW = "Web-Tssl-Pa55word-e3Nb"


def ca_issued_pair(tmp):
    """CA + leaf (EC P-256, SAN 127.0.0.1, serverAuth, CRL URI) made with the openssl CLI."""
    def run(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)
    ca_key, ca_crt = tmp / "ca.key", tmp / "ca.crt"
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca_crt, "-subj", "/CN=SerialGate systest CA", "-days", "400")
    key, csr, crt, ext = tmp / "leaf.key", tmp / "leaf.csr", tmp / "leaf.crt", tmp / "leaf.ext"
    run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectAltName=IP:127.0.0.1\n"
                   "crlDistributionPoints=URI:http://127.0.0.1/systest-ca.crl\n")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "365", "-sha256", "-extfile", ext, "-out", crt)
    return ca_crt, crt.read_text(), key.read_text()


ABOVE_LOW = ("MEDIUM", "HIGH", "CRITICAL")


def above_low(findings):
    return [f for f in findings if f.get("severity") in ABOVE_LOW]


def test_above_low_counts_medium():
    # The gate itself: MEDIUM fails it as HIGH and CRITICAL do; LOW, WARN, INFO, OK do not.
    sample = [{"id": s, "severity": s} for s in ("OK", "INFO", "LOW", "WARN", "MEDIUM", "HIGH",
                                                  "CRITICAL")]
    assert [f["id"] for f in above_low(sample)] == ["MEDIUM", "HIGH", "CRITICAL"]


def test_testssl_reports_nothing_above_low(web, tmp_path):
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    if exe is None:
        pytest.fail("testssl not installed (scripts/bootstrap --test installs testssl.sh)")
    w = web()
    w.setup("admin", PW)
    admin = w.login("admin", PW)
    ca, cert_pem, key_pem = ca_issued_pair(tmp_path)
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 200, r

    out = tmp_path / "testssl.json"
    p = subprocess.run([exe, "--quiet", "--color", "0", "--warnings", "off", "--add-ca", str(ca),
                        "--jsonfile", str(out), f"{LOOPBACK}:{w.port}"],
                       capture_output=True, text=True, errors="replace", timeout=TESTSSL_TIMEOUT)
    assert out.exists(), (f"testssl wrote no JSON (exit {p.returncode})\n"
                          f"{p.stdout[-3000:]}\n{p.stderr}")
    findings = json.loads(out.read_text())
    assert isinstance(findings, list) and len(findings) > 50, (
        f"testssl produced only {len(findings) if isinstance(findings, list) else '?'} findings: "
        f"did it reach the server?\n{p.stdout[-3000:]}")
    by_id = {f["id"]: f for f in findings if "id" in f}
    # It did talk TLS to us, and saw what we think it saw.
    assert "not offered" in by_id["TLS1"]["finding"], by_id["TLS1"]
    assert "not offered" in by_id["TLS1_1"]["finding"], by_id["TLS1_1"]
    assert by_id["TLS1_2"]["finding"].startswith("offered"), by_id["TLS1_2"]
    assert by_id["TLS1_3"]["finding"].startswith("offered"), by_id["TLS1_3"]
    trust = by_id.get("cert_chain_of_trust", {}).get("finding", "")
    assert trust.startswith("passed"), f"the test CA was not taken: {trust}"

    # TLS-3: the server's order (ADR 0007); without it testssl 3.0 says HIGH "NOT a cipher order".
    assert by_id["cipher_order"]["severity"] in ("OK", "INFO"), by_id["cipher_order"]
    bad = above_low(findings)
    notable = [f for f in findings if f.get("severity") in ("LOW", "WARN")]
    for f in notable:
        print(f"testssl {f.get('severity')}: {f.get('id')}: {f.get('finding')}")
    assert not bad, "testssl findings above LOW (full JSON in " + str(out) + "):\n" + "\n".join(
        f"  {f.get('severity')} {f.get('id')}: {f.get('finding')}" for f in bad)
