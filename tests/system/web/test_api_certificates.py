"""web/test_api_certificates.py: the HTTPS certificate through the API (CE-1..CE-4, TLS-2):
import of each supported algorithm made with `openssl req -x509`, served to new connections at
once while an established keep-alive connection goes on with the old one; refusals with their
code leave the served certificate as it was; regeneration; download without the key.
"""

import base64
import datetime
import re
import subprocess

import pytest

import api
from api import API, negotiated, s_client

PW = "Web-Cert-Pa55word-b9Gs"
ALGORITHMS = {  # name -> openssl req -newkey arguments (CE-2)
    "rsa2048": ["-newkey", "rsa:2048"],
    "rsa3072": ["-newkey", "rsa:3072"],
    "rsa4096": ["-newkey", "rsa:4096"],
    "ec256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ec384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ec521": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
}


def make_pair(tmp, name, newkey):
    key, cert = tmp / f"{name}.key", tmp / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert,
                    "-subj", f"/CN=127.0.0.1/O=systest {name}", "-days", "30", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=120)
    return cert.read_text(), key.read_text()


def expired_pair():
    """An EC P-256 certificate that expired yesterday (openssl req refuses -days -1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def ca_chain(tmp):
    """A leaf signed by a test CA, imported as leaf + CA (CE-2: chain allowed)."""
    def run(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes",
        "-keyout", tmp / "ca.key", "-out", tmp / "ca.crt", "-subj", "/CN=systest CA", "-days", "60")
    run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", tmp / "leaf.key", "-out", tmp / "leaf.csr", "-subj", "/CN=127.0.0.1")
    (tmp / "leaf.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", tmp / "leaf.csr", "-CA", tmp / "ca.crt", "-CAkey", tmp / "ca.key",
        "-CAcreateserial", "-days", "30", "-extfile", tmp / "leaf.ext", "-out", tmp / "leaf.crt")
    return ((tmp / "leaf.crt").read_text() + (tmp / "ca.crt").read_text(),
            (tmp / "leaf.key").read_text())


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("certs")
    out = {name: make_pair(tmp, name, args) for name, args in ALGORITHMS.items()}
    out["rsa1024"] = make_pair(tmp, "rsa1024", ["-newkey", "rsa:1024"])
    other = make_pair(tmp, "other", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    out["mismatch"] = (out["ec256"][0], other[1])
    out["expired"] = expired_pair()
    out["sha1"] = make_pair(tmp, "sha1", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                          "-sha1"])
    out["client_only"] = make_pair(tmp, "client_only",
                                   ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                    "-addext", "extendedKeyUsage=clientAuth"])
    enc = tmp / "encrypted.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:systest", "-out", enc],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-key", enc, "-passin", "pass:systest", "-out",
                    tmp / "encrypted.crt", "-subj", "/CN=127.0.0.1", "-days", "30"],
                   check=True, capture_output=True)
    out["encrypted"] = ((tmp / "encrypted.crt").read_text(), enc.read_text())
    out["ca_chain"] = ca_chain(tmp)
    out["garbage"] = ("-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
                      "-----BEGIN PRIVATE KEY-----\nnor this\n-----END PRIVATE KEY-----\n")
    return out


def der_of(pem):
    body = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    return base64.b64decode("".join(body.group(1).split()))


def s_client_certificate(port):
    """DER of the certificate `openssl s_client` is shown by a new connection."""
    rc, out = s_client(port)
    assert rc == 0, out
    return der_of(out)


def key_lines(key_pem):
    """Distinctive base64 lines of a private key, for greps (CE-4)."""
    return [line for line in key_pem.splitlines() if len(line) >= 40][:2]


def test_import_each_algorithm_served_without_restart(gate, web_admin, fixtures):
    w, admin = web_admin(password=PW)
    pid = gate.proc.pid
    keep = w.connection()  # established before the first import: must keep working (CE-3)
    assert w.request("GET", f"{API}/session", cookie=admin.cookie, conn=keep).status == 200
    first_der = keep.sock.getpeercert(binary_form=True)
    try:
        for name in ALGORITHMS:
            cert_pem, key_pem = fixtures[name]
            r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
            assert r.status == 200, f"CE-2: import of {name}: {r}"
            assert "PRIVATE KEY" not in r.text
            want = der_of(cert_pem)
            assert s_client_certificate(w.port) == want, f"{name}: openssl s_client sees another"
            assert api.served_certificate(w.port) == want, f"{name}: python ssl sees another"
            info = admin.get(f"{API}/certificate").json()
            assert info["source"] == "user", info
            fp = re.sub(r"[^0-9a-f]", "", info["fingerprint_sha256"].lower())
            assert fp == api.sha256_hex(want), (info, name)
            r = w.request("GET", f"{API}/session", cookie=admin.cookie, conn=keep)
            assert r.status == 200, f"CE-3: keep-alive connection broken by import of {name}: {r}"
            assert keep.sock.getpeercert(binary_form=True) == first_der
            if name == "rsa2048":
                # With an RSA certificate the RSA suites of TLS-2 are offered, nothing weaker.
                rc, out = s_client(w.port, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
                assert negotiated(out) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), out
                for weak in ("AES128-SHA", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256",
                             "ECDHE-RSA-AES128-SHA"):
                    rc, out = s_client(w.port, "-tls1_2", "-cipher", weak)
                    assert rc != 0 and negotiated(out)[1] is None, f"{weak} accepted:\n{out}"
    finally:
        keep.close()
    assert gate.proc.pid == pid and gate.proc.poll() is None, "serve restarted"
    def by_admin(evs):
        return [e for e in evs if e["account"] == "admin"]
    changed = admin.events("type=security.certificate_changed&limit=50",
                           lambda evs: len(by_admin(evs)) >= len(ALGORITHMS))
    assert len(by_admin(changed)) == len(ALGORITHMS), changed
    api.assert_secret_nowhere(w, PW, "PRIVATE KEY",
                              *[line for n in ALGORITHMS for line in key_lines(fixtures[n][1])])


@pytest.mark.parametrize("name,code", [("rsa1024", "weak_key"), ("mismatch", "key_mismatch"),
                                       ("expired", "expired"), ("garbage", "malformed_pem"),
                                       ("sha1", "weak_signature"),
                                       ("client_only", "no_server_auth"),
                                       ("encrypted", "encrypted_key")])
def test_refused_import_leaves_certificate_in_force(web_admin, fixtures, name, code):
    w, admin = web_admin(password=PW)
    before = api.served_certificate(w.port)
    info_before = admin.get(f"{API}/certificate").json()
    cert_pem, key_pem = fixtures[name]
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 400 and r.error_code() == code, f"CE-2: {name}: {r}"
    assert api.served_certificate(w.port) == before, f"{name}: served certificate changed"
    assert s_client_certificate(w.port) == before
    assert admin.get(f"{API}/certificate").json() == info_before
    refused = admin.events("type=security.certificate_refused")
    assert refused and code in refused[0]["message"] and refused[0]["account"] == "admin", refused


def test_regenerate_and_download(web_admin, fixtures):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    w, admin = web_admin(password=PW)
    # From a user certificate back to a system one.
    cert_pem, key_pem = fixtures["rsa2048"]
    assert admin.put(f"{API}/certificate",
                     {"certificate": cert_pem, "private_key": key_pem}).status == 200
    before = api.served_certificate(w.port)
    r = admin.post(f"{API}/certificate/regenerate")
    assert r.status == 200, r
    after = api.served_certificate(w.port)
    assert after != before, "regenerate: the same certificate is served"
    info = admin.get(f"{API}/certificate").json()
    assert info["source"] == "system", info
    assert re.sub(r"[^0-9a-f]", "", info["fingerprint_sha256"].lower()) == api.sha256_hex(after)
    cert = x509.load_der_x509_certificate(after)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    again = admin.post(f"{API}/certificate/regenerate")
    assert again.status == 200 and api.served_certificate(w.port) != after, "a new key each time"

    r = admin.get(f"{API}/certificate/pem")
    assert r.status == 200, r
    assert "PRIVATE KEY" not in r.text, "CE-4: the download carries a private key"
    assert "-----BEGIN CERTIFICATE-----" in r.text
    assert der_of(r.text) == api.served_certificate(w.port)
    assert not r.header("Content-Type").startswith("text/html"), r.headers


def test_chain_and_rsa1024_override(web_admin, fixtures):
    """CE-2: a chain is accepted and served whole; RSA-1024 only with https.allow_rsa_1024, which
    is logged as a Warning, and the weak certificate is then actually served."""
    w, admin = web_admin(password=PW)
    cert_pem, key_pem = fixtures["ca_chain"]
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 200 and r.json()["chain_length"] == 2, r
    rc, out = s_client(w.port, "-showcerts")
    assert rc == 0 and out.count("-----BEGIN CERTIFICATE-----") == 2, out

    r = admin.put_section(f"{API}/https", allow_rsa_1024=True)
    assert r.status == 200, r
    cert_pem, key_pem = fixtures["rsa1024"]
    r = admin.put(f"{API}/certificate", {"certificate": cert_pem, "private_key": key_pem})
    assert r.status == 200, f"RSA-1024 with the override: {r}"
    assert api.served_certificate(w.port) == der_of(cert_pem)
    weak = admin.events("type=security.certificate_weak_key")
    assert weak and weak[0]["severity"] == "Warning" and weak[0]["account"] == "admin", weak
