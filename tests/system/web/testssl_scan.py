"""testssl_scan.py (web/): testssl.sh (Debian package testssl.sh, binary `testssl`) run against one
TLS listener of serve, and the gate every such test applies: no finding above LOW (severity MEDIUM,
HIGH or CRITICAL), TLS 1.0/1.1 not offered, 1.2/1.3 offered, the test CA taken, the server's
cipher order kept (docs/adr/0007-tls-cipher-order.md). Used by test_testssl.py (HTTPS API) and
test_testssl_serial.py (a serial port's Secure Connection).

The device's own certificate is self-signed by design (CE-1), and testssl rightly rates a
certificate nobody can verify or revoke as CRITICAL ("chain of trust failed (self signed)") and
HIGH ("neither CRL nor OCSP URI provided"). Those say nothing about the TLS configuration, which is
what the tests are about, so they use what an operator would deploy: an EC P-256 certificate from
a (test) CA with a CRL distribution point (ca_issued_pair), imported through the API, and testssl
is told the CA (--add-ca). Every other finding counts.
"""

import json
import shutil
import subprocess

import pytest

TESTSSL_TIMEOUT = 600
ABOVE_LOW = ("MEDIUM", "HIGH", "CRITICAL")


def ca_issued_pair(tmp):
    """CA + leaf (EC P-256, SAN 127.0.0.1, serverAuth, CRL URI) made with the openssl CLI:
    (CA certificate path, leaf certificate PEM, leaf key PEM)."""
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


def above_low(findings):
    return [f for f in findings if f.get("severity") in ABOVE_LOW]


def scan(target, ca, out, *options):
    """Runs testssl against target ("127.0.0.1:PORT") trusting the CA file `ca`, JSON to `out`;
    the findings, by id, after checking that testssl reached a TLS server at all."""
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    if exe is None:
        pytest.fail("testssl not installed (scripts/bootstrap --test installs testssl.sh)")
    p = subprocess.run([exe, "--quiet", "--color", "0", "--warnings", "off", "--add-ca", str(ca),
                        *options, "--jsonfile", str(out), target],
                       capture_output=True, text=True, errors="replace", timeout=TESTSSL_TIMEOUT)
    assert out.exists(), (f"testssl wrote no JSON (exit {p.returncode})\n"
                          f"{p.stdout[-3000:]}\n{p.stderr}")
    findings = json.loads(out.read_text())
    assert isinstance(findings, list) and len(findings) > 50, (
        f"testssl produced only {len(findings) if isinstance(findings, list) else '?'} findings: "
        f"did it reach the server?\n{p.stdout[-3000:]}")
    return findings


def assert_nothing_above_low(findings, out):
    """The gate: TLS 1.2/1.3 only, the test CA taken, the server's cipher order, and no finding
    above LOW (LOW and WARN ones are printed: run pytest with -s to see them)."""
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
    for f in findings:
        if f.get("severity") in ("LOW", "WARN"):
            print(f"testssl {f.get('severity')}: {f.get('id')}: {f.get('finding')}")
    bad = above_low(findings)
    assert not bad, "testssl findings above LOW (full JSON in " + str(out) + "):\n" + "\n".join(
        f"  {f.get('severity')} {f.get('id')}: {f.get('finding')}" for f in bad)
    return by_id
