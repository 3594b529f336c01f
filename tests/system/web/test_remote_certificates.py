"""web/test_remote_certificates.py: the Remote Device Certificate list (CE-5; issue 11 item 2)
through the real binary: the API (upload of one or more CA certificates made with the openssl CLI
and python3-cryptography, list with subject/issuer/validity/SHA-256 fingerprint and the expiry
flags, delete by fingerprint; refusals of a leaf, a private key, a duplicate), its audit events
with account and source, the Warning for an expired or expiring CA, the CLI (`remote-ca
list|add|delete`, picked up by a running serve) and YAML (`config export` carries the list, an
import with a bad PEM names the field and changes nothing).
"""

import datetime
import hashlib
import json
import subprocess
import time

import pytest
import yaml  # python3-yaml

import api
from api import API

PW = "Web-RemoteCa-Pa55word-q4Tz"


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def make_ca(tmp, name):
    key, crt = tmp / f"{name}.key", tmp / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", crt, "-subj", f"/CN={name}/O=SerialGate systest", "-days",
            "400")  # openssl req -x509 sets basicConstraints CA:TRUE
    return crt.read_text(), key.read_text()


def make_leaf(tmp, ca):
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", tmp / "leaf.key", "-out", tmp / "leaf.csr", "-subj", "/CN=a device")
    (tmp / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\n")
    openssl("x509", "-req", "-in", tmp / "leaf.csr", "-CA", tmp / f"{ca}.crt", "-CAkey",
            tmp / f"{ca}.key", "-CAcreateserial", "-days", "30", "-extfile", tmp / "leaf.ext",
            "-out", tmp / "leaf.crt")
    return (tmp / "leaf.crt").read_text()


def ca_expiring_in(days):
    """A CA (basicConstraints CA:TRUE) whose notAfter is `days` from now (negative: expired)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"CA ending in {days} days")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(pem):
    import ssl
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def listed(session):
    r = session.get(f"{API}/remote-certificates")
    assert r.status == 200, r
    return {c["fingerprint_sha256"]: c for c in r.json()["certificates"]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote-ca")
    out = {name: make_ca(tmp, name) for name in ("CA one", "CA two", "CA three")}
    out["leaf"] = make_leaf(tmp, "CA one")
    out["dir"] = tmp
    return out


def test_api_add_list_delete_with_audit(web_admin, pki):
    """Upload of two CAs in one PEM, list with details, refusals that change nothing, delete by
    fingerprint in any spelling; every change a security.remote_ca_changed event with the
    account and the source address."""
    w, s = web_admin(password=PW)
    one, two = pki["CA one"][0], pki["CA two"][0]
    assert listed(s) == {}
    r = s.post(f"{API}/remote-certificates", {"certificates": one + two})
    assert r.status == 200, r
    added = r.json()["added"]
    assert [c["subject"] for c in added] == ["O=SerialGate systest,CN=CA one",
                                             "O=SerialGate systest,CN=CA two"]
    cas = listed(s)
    assert set(cas) == {fingerprint(one), fingerprint(two)}
    c = cas[fingerprint(one)]
    assert c["issuer"] == c["subject"] and c["status"] == "valid", c
    assert not c["expired"] and not c["expiring"], c
    assert c["not_after"].endswith("Z") and c["not_before"] < c["not_after"], c

    # Refusals: each names its reason, nothing changes.
    for body, status, code in [
            ({"certificates": pki["leaf"]}, 400, "not_a_ca"),
            ({"certificates": pki["CA three"][0] + pki["CA three"][1]}, 400,
             "private_key_included"),
            ({"certificates": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
             400, "malformed_pem"),
            ({"certificates": one}, 409, "already_listed"),
            ({"certificates": pki["CA three"][0] + pki["CA three"][0]}, 400, "duplicate"),
            ({"pem": one}, 400, "invalid_field")]:
        r = s.post(f"{API}/remote-certificates", body)
        assert (r.status, r.error_code()) == (status, code), (code, r)
    assert set(listed(s)) == {fingerprint(one), fingerprint(two)}
    key_line = pki["CA three"][1].splitlines()[1]  # a line of the private key's base64
    api.assert_secret_nowhere(w, key_line)

    # Delete: lowercase and without colons is the same fingerprint.
    fp = fingerprint(one)
    r = s.delete(f"{API}/remote-certificates/{fp.replace(':', '').lower()}")
    assert r.status == 200, r
    assert r.json()["removed"]["fingerprint_sha256"] == fp
    assert set(listed(s)) == {fingerprint(two)}
    assert s.delete(f"{API}/remote-certificates/{fp}").status == 404
    assert s.delete(f"{API}/remote-certificates/not-a-fingerprint").error_code() == \
        "invalid_field"

    evs = s.events("type=security.remote_ca_changed",
                   until=lambda e: len(e) >= 3)
    msgs = [e["message"] for e in evs]
    assert len(evs) == 3, msgs
    assert all(e["account"] == "admin" and e["source"].startswith("127.0.0.1:") for e in evs), evs
    assert any("added 'O=SerialGate systest,CN=CA one' (" + fp in m for m in msgs), msgs
    assert any("removed 'O=SerialGate systest,CN=CA one' (" + fp in m for m in msgs), msgs
    refused = s.events("type=security.certificate_refused", until=lambda e: len(e) >= 4)
    assert any("not_a_ca" in e["message"] for e in refused), refused


def test_list_is_bounded(web_admin, pki):
    """At most 32: an upload that would pass it is refused whole (409 list_full)."""
    w, s = web_admin(password=PW)
    many = "".join(ca_expiring_in(300) for _ in range(31))
    assert s.post(f"{API}/remote-certificates", {"certificates": many}).status == 200
    r = s.post(f"{API}/remote-certificates",
               {"certificates": pki["CA one"][0] + pki["CA two"][0]})
    assert (r.status, r.error_code()) == (409, "list_full"), r
    assert len(listed(s)) == 31
    too_many = "".join(ca_expiring_in(300) for _ in range(33))
    r = s.post(f"{API}/remote-certificates", {"certificates": too_many})
    assert (r.status, r.error_code()) == (400, "too_many"), r
    assert s.post(f"{API}/remote-certificates", {"certificates": pki["CA one"][0]}).status == 200
    assert len(listed(s)) == 32


def test_expired_and_expiring_are_flagged_and_warned_once(web_admin):
    """An expired CA and one expiring within 30 days are flagged in the list and each logged as
    a Warning once (not at every housekeeping tick); after a restart the start check warns
    again."""
    w, s = web_admin(password=PW)
    soon, gone, fine = ca_expiring_in(10), ca_expiring_in(-2), ca_expiring_in(60)
    assert s.post(f"{API}/remote-certificates", {"certificates": soon + gone + fine}).status == 200
    cas = listed(s)
    assert cas[fingerprint(soon)]["status"] == "expiring" and cas[fingerprint(soon)]["expiring"]
    assert cas[fingerprint(gone)]["status"] == "expired" and cas[fingerprint(gone)]["expired"]
    assert cas[fingerprint(fine)]["status"] == "valid"
    warned = w.gate.wait_event("security.remote_ca_expiry", count=2)
    assert {e["severity"] for e in warned} == {"Warning"}
    text = " ".join(e["message"] for e in warned)
    assert fingerprint(soon) in text and fingerprint(gone) in text and fingerprint(fine) not in text
    # Another change does not repeat the warnings for CAs whose state is unchanged.
    assert s.post(f"{API}/remote-certificates",
                  {"certificates": ca_expiring_in(200)}).status == 200
    import time
    time.sleep(6)  # more than one housekeeping tick (5 s)
    assert len(w.gate.events("--type", "security.remote_ca_expiry")) == 2
    w.restart()
    w.gate.wait_event("security.remote_ca_expiry", count=4)


def test_cli_and_yaml(web_admin, pki, tmp_path):
    """`remote-ca add|list|delete` on the store of a running serve (which applies it within a
    second: the API lists it); `config export` carries the list; an import with a bad PEM names
    the field and changes nothing; an import with a valid list replaces it."""
    w, s = web_admin(password=PW)
    g = w.gate
    one, two = pki["CA one"][0], pki["CA two"][0]
    f = tmp_path / "cas.pem"
    f.write_text(one + two)
    r = g.run("remote-ca", "--data-dir", g.data_dir, "add", f)
    assert r.returncode == 0, r.stderr
    assert fingerprint(one) in r.stdout
    api.sgtest.wait_until(lambda: len(listed(s)) == 2, api.sgtest.APPLY_TIMEOUT,
                          what="the API lists what the CLI added")
    r = g.run("remote-ca", "--data-dir", g.data_dir, "list", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {c["fingerprint_sha256"] for c in json.loads(r.stdout)} == \
        {fingerprint(one), fingerprint(two)}
    r = g.run("remote-ca", "--data-dir", g.data_dir, "add", f)
    assert r.returncode == 5 and "already listed" in r.stderr, r
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(pki["leaf"])
    r = g.run("remote-ca", "--data-dir", g.data_dir, "add", leaf)
    assert r.returncode == 3 and "not_a_ca" in r.stderr, r
    cli_events = g.wait_event("security.remote_ca_changed", lambda e: e["source"] == "cli",
                              count=2)
    assert all("added" in e["message"] for e in cli_events), cli_events

    exported = g.export()
    assert "remote_certificates:" in exported and one.splitlines()[1] in exported

    # A bad PEM in the file: the field is named, nothing changes.
    doc = yaml.safe_load(exported)
    assert doc["remote_certificates"] == [one, two]
    lines = one.splitlines(keepends=True)
    doc["remote_certificates"][0] = "".join(lines[:1] + ["AAAA" + lines[1][4:]] + lines[2:])
    r = g.import_config(yaml.safe_dump(doc), expect=None)
    assert r.returncode == 3 and "remote_certificates[0]" in r.stderr, r
    doc["remote_certificates"] = [one, pki["leaf"]]
    r = g.import_config(yaml.safe_dump(doc), expect=None)
    assert r.returncode == 3 and "remote_certificates[1]: not_a_ca" in r.stderr, r
    doc["remote_certificates"] = [one, two, one]
    r = g.import_config(yaml.safe_dump(doc), expect=None)
    assert r.returncode == 3 and "remote_certificates[2]" in r.stderr, r
    assert g.export() == exported

    r = g.run("remote-ca", "--data-dir", g.data_dir, "delete", fingerprint(one))
    assert r.returncode == 0, r.stderr
    api.sgtest.wait_until(lambda: set(listed(s)) == {fingerprint(two)},
                          api.sgtest.APPLY_TIMEOUT, what="the API sees the CLI's delete")
    # The exported document (both CAs) imported again brings CA one back.
    g.import_config(exported)
    api.sgtest.wait_until(lambda: len(listed(s)) == 2, api.sgtest.APPLY_TIMEOUT,
                          what="the import's list in force")
    # Each change is in the log once, recorded by the process that made it (the CLI), whether
    # serve runs or not; serve, which applied it from the store, does not record it again.
    changes = g.wait_event("security.remote_ca_changed", count=4)
    assert [e["source"] for e in changes] == ["cli"] * 4, changes
    assert fingerprint(one) in changes[-1]["message"] and "added" in changes[-1]["message"]
    assert "removed" in changes[2]["message"], changes[2]
    time.sleep(1.5)  # serve adopted the import (the API lists it) and flushed its log meanwhile
    assert len(g.events("--type", "security.remote_ca_changed")) == 4
