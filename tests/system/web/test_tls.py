"""web/test_tls.py: the HTTPS server's TLS profile (TLS-1..TLS-4, CE-1, WS-9) seen by peers we did
not write: `openssl s_client`, `sslscan`, Python's ssl with python3-cryptography, a raw socket.

Debian's OpenSSL client refuses TLS 1.0/1.1 by itself (SECLEVEL=2 in openssl.cnf), which would make
"TLS 1.0 refused" pass against any server; every old-protocol probe therefore lowers the client's
level, and test_old_protocols_are_the_servers_refusal shows the same probe succeeding against a
permissive `openssl s_server`.
"""

import re
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest

import api
import sgtest
from api import negotiated, s_client
from sgtest import LOOPBACK

TLS12_SUITES = {  # TLS-2, in this order, nothing else
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
}
TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256"}  # TLS-3
LOW = "DEFAULT@SECLEVEL=0"  # lets our client offer what Debian's default forbids


@pytest.fixture
def https(web):
    return web()


def test_tls12_and_tls13_accepted(https):
    rc, out = s_client(https.port, "-tls1_2")
    proto, cipher = negotiated(out)
    assert rc == 0 and proto == "TLSv1.2", out
    assert cipher in TLS12_SUITES, f"TLS 1.2 negotiated {cipher}, not a TLS-2 suite"
    rc, out = s_client(https.port, "-tls1_3")
    proto, cipher = negotiated(out)
    assert rc == 0 and proto == "TLSv1.3", out
    assert cipher in TLS13_SUITES, f"TLS 1.3 negotiated {cipher}"


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls10_and_tls11_refused(https, version):
    rc, out = s_client(https.port, version, "-cipher", LOW)
    proto, cipher = negotiated(out)
    assert rc != 0 and cipher is None, f"{version} was accepted:\n{out}"
    # The server said no (protocol_version alert or no common version), not a local error.
    assert re.search(r"protocol version|unsupported protocol|wrong version", out, re.I), out


def test_old_protocols_are_the_servers_refusal(tmp_path):
    """Calibration: the very probes of test_tls10_and_tls11_refused do connect to a server that
    allows TLS 1.0/1.1, so their failure against SerialGate is SerialGate's doing."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-subj",
                    "/CN=calibration", "-days", "2"], check=True, capture_output=True)
    (port,) = sgtest.free_ports(1)
    srv = subprocess.Popen(["openssl", "s_server", "-accept", f"{LOOPBACK}:{port}", "-cert", cert,
                            "-key", key, "-min_protocol", "TLSv1", "-cipher", LOW, "-www"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        sgtest.wait_until(lambda: not sgtest.connection_refused(port), sgtest.START_TIMEOUT,
                          what="openssl s_server")
        for version, want in (("-tls1", "TLSv1.0"), ("-tls1_1", "TLSv1.1")):
            rc, out = s_client(port, version, "-cipher", LOW)
            assert negotiated(out)[0] == want and negotiated(out)[1], (
                f"calibration failed: our {version} probe cannot reach even a permissive "
                f"server, so the refusal test proves nothing\n{out}")
    finally:
        srv.kill()
        srv.wait()


@pytest.mark.parametrize("cipher", ["AES128-SHA", "DHE-RSA-AES128-GCM-SHA256",
                                    "ECDHE-ECDSA-AES128-SHA"])
def test_weak_tls12_ciphers_refused(https, cipher):
    rc, out = s_client(https.port, "-tls1_2", "-cipher", cipher)
    assert rc != 0 and negotiated(out)[1] is None, f"{cipher} accepted:\n{out}"


def test_ecdhe_ecdsa_gcm_accepted(https):
    rc, out = s_client(https.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert rc == 0 and negotiated(out) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"), out


def test_key_exchange_groups(https):
    rc, out = s_client(https.port, "-tls1_3", "-groups", "secp521r1")
    assert rc != 0 and negotiated(out)[1] is None, f"secp521r1 accepted on TLS 1.3:\n{out}"
    rc, out = s_client(https.port, "-tls1_3", "-groups", "X25519")
    assert rc == 0 and negotiated(out)[0] == "TLSv1.3", out
    assert re.search(r"Server Temp Key: X25519", out), out
    rc, out = s_client(https.port, "-tls1_2", "-groups", "secp521r1")
    assert rc != 0 and negotiated(out)[1] is None, f"secp521r1 accepted on TLS 1.2:\n{out}"


def test_no_compression_no_tickets_secure_renegotiation(https):
    rc, out = s_client(https.port, "-tls1_2")
    assert rc == 0, out
    assert re.search(r"^Compression: NONE", out, re.M), out
    assert "Secure Renegotiation IS supported" in out, out
    # TLS-4: session tickets off (a 1.2 ticket would be printed with its lifetime hint).
    assert "session ticket lifetime hint" not in out, out


def test_client_initiated_renegotiation_refused(https):
    """TLS-4: s_client's "R" command asks for a renegotiation; the server says no_renegotiation."""
    p = subprocess.run(["bash", "-c", f"(echo R; sleep 2) | openssl s_client -connect "
                        f"{LOOPBACK}:{https.port} -tls1_2"],
                       capture_output=True, text=True, errors="replace", timeout=30)
    out = p.stdout + p.stderr
    assert "RENEGOTIATING" in out, out
    assert "no renegotiation" in out, f"renegotiation was not refused:\n{out}"


def test_served_certificate_is_ecdsa_p256_with_loopback_san(gate, https):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    cert = x509.load_der_x509_certificate(api.served_certificate(https.port))
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey), type(key)
    assert key.curve.name == "secp256r1", key.curve.name
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    import ipaddress
    assert ipaddress.ip_address(LOOPBACK) in san.get_values_for_type(x509.IPAddress), san
    days = (cert.not_valid_after - cert.not_valid_before).days
    assert 360 <= days <= 400, f"CE-1: validity of about a year, got {days} days"
    assert f"HTTPS API on https://{LOOPBACK}:{https.port}/api/v1/" in gate.stderr_text()


def test_plain_http_gets_no_http_answer(https):
    with socket.create_connection((LOOPBACK, https.port), timeout=10) as s:
        s.sendall(b"GET /api/v1/identity HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(12)
        got = b""
        try:
            while len(got) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    assert not got.startswith(b"HTTP/"), f"plain HTTP answered on the HTTPS port: {got[:200]!r}"
    assert b"setup_required" not in got and b"SerialGate" not in got, got[:200]


def test_no_plain_http_listener_by_default(gate, web):
    (http_port,) = sgtest.free_ports(1)
    w = web(https={"http_port": http_port})
    assert sgtest.connection_refused(http_port), "WS-9: plain HTTP listens although redirect is off"
    assert gate.tcp_listening() == {w.port}, f"listening: {gate.tcp_listening()}"


def test_redirect_when_enabled_only_redirects(gate, web):
    """WS-9 the other way round: switched on, the HTTP port answers 301 and nothing else."""
    (http_port,) = sgtest.free_ports(1)
    w = web(https={"http_port": http_port, "http_redirect": True})
    sgtest.wait_until(lambda: not sgtest.connection_refused(http_port), sgtest.START_TIMEOUT,
                      what="redirect listener")
    p = subprocess.run(["curl", "-s", "-i", "--max-time", "10",
                        f"http://{LOOPBACK}:{http_port}/api/v1/identity?x=1"],
                       capture_output=True, text=True, timeout=20)
    head = p.stdout.split("\r\n\r\n", 1)[0]
    assert head.startswith("HTTP/1.1 301"), p.stdout
    assert f"Location: https://{LOOPBACK}:{w.port}/api/v1/identity?x=1" in head, head
    assert "set-cookie" not in head.lower(), head
    assert "setup_required" not in p.stdout, p.stdout


def test_sslscan_sees_only_the_profile(https):
    # --sleep: one connection per 110 ms stays under the server's 10 TLS handshakes/s per source
    # (NE-5); faster, the excess is closed at accept and sslscan misreads it as "not supported".
    p = subprocess.run(["sslscan", "--no-colour", "--sleep=110", "--xml=-",
                        f"{LOOPBACK}:{https.port}"],
                       capture_output=True, text=True, timeout=120)
    xml = p.stdout[p.stdout.find("<?xml"):]
    root = ET.fromstring(xml)
    enabled = {(e.get("type"), e.get("version")) for e in root.iter("protocol")
               if e.get("enabled") == "1"}
    assert enabled == {("tls", "1.2"), ("tls", "1.3")}, f"protocols enabled: {enabled}"
    accepted = {(c.get("sslversion"), c.get("cipher")) for c in root.iter("cipher")
                if c.get("status") in ("accepted", "preferred")}
    assert accepted, xml
    bad = {c for c in accepted if c[1] not in TLS12_SUITES | TLS13_SUITES}
    assert not bad, f"suites outside TLS-2/TLS-3 accepted: {bad}"
    groups = {g.get("name").split()[0].lower() for g in root.iter("group")}
    assert groups and groups <= {"x25519", "prime256v1", "secp256r1", "secp384r1"}, groups
    renego = [r for r in root.iter("renegotiation")]
    for r in renego:  # TLS-4: never insecure (legacy) renegotiation
        assert not (r.get("supported") == "1" and r.get("secure") != "1"), r.attrib
    comp = [c for c in root.iter("compression")]
    if comp:
        assert comp[0].get("supported") == "0", comp[0].attrib
