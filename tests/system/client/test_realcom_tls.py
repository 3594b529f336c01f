"""client/test_realcom_tls.py: `serialgate realcom --tls` (issue 11 item 3) against a TLS peer we
did not write: socat's OPENSSL-LISTEN, relaying each channel to a plain SerialGate Real COM port
(the bench of test_realcom_client.py). Data and command channel both go through TLS: bytes reach
the far end and back, and the line settings the application sets reach the serial port (command
channel). The server's chain and name are checked by default (a certificate for another address
is refused; `--no-verify` lets it through with a Warning at every connect); mutual TLS with
`--cert/--key` against socat `verify=1`; the usage errors.

The end-to-end test against SerialGate's own encrypted Real COM port needs Secure Connection on
the modes (another branch): see test_realcom_tls_e2e.py.
"""

import subprocess
import time

import pytest

import sgtest
from test_realcom_client import Bench, Realcom, exchange

SOCAT_START = 5.0


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def make_pki(d, cas, leaves):
    """EC P-256 CAs (`cas`: names) and leaves (`leaves`: name -> (CA name, extensions text))
    made with the openssl CLI under `d`: NAME.crt and NAME.key each."""
    for ca in cas:
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d / f"{ca}.key", "-out", d / f"{ca}.crt", "-subj", f"/CN={ca}",
                "-days", "30")
    for name, (ca, ext) in leaves.items():
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr", "-subj", f"/CN={name}")
        (d / f"{name}.ext").write_text(ext)
        openssl("x509", "-req", "-in", d / f"{name}.csr", "-CA", d / f"{ca}.crt", "-CAkey",
                d / f"{ca}.key", "-CAcreateserial", "-days", "20", "-extfile", d / f"{name}.ext",
                "-out", d / f"{name}.crt")
    return d


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Two CAs; server leaves for 127.0.0.1 and for 127.0.0.2 (the wrong name), a client leaf."""
    return make_pki(tmp_path_factory.mktemp("realcom-pki"), ("server-ca", "client-ca"), {
        "server": ("server-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                "extendedKeyUsage=serverAuth\n"),
        "elsewhere": ("server-ca", "subjectAltName=IP:127.0.0.2,DNS:elsewhere.example\n"
                                   "extendedKeyUsage=serverAuth\n"),
        "client": ("client-ca", "extendedKeyUsage=clientAuth\n")})


def refused_by_peer(c):
    """The peer refused the client's certificate (or its absence). With TLS 1.3 the client's
    handshake completes first and the server's alert ends the session right after it."""
    sgtest.wait_until(lambda: c.check_alive() or "TLS handshake on the" in c.log() or
                      "certificate required" in c.log() or "unknown ca" in c.log(),
                      sgtest.IO_TIMEOUT * 2, what="the peer's refusal in the realcom log")


class TlsRelay:
    """socat OPENSSL-LISTEN on a free port relaying each connection to a plain TCP port."""

    def __init__(self, work, listen, target, cert, key, cafile=None, verify=False, name="relay"):
        opts = [f"OPENSSL-LISTEN:{listen}", "bind=127.0.0.1", "reuseaddr", "fork",
                f"cert={cert}", f"key={key}", f"verify={1 if verify else 0}"]
        if cafile:
            opts.append(f"cafile={cafile}")
        self.err = work / f"{name}.stderr"
        with open(self.err, "wb") as ef:
            self.proc = subprocess.Popen(["socat", "-d", ",".join(opts),
                                          f"TCP:127.0.0.1:{target}"],
                                         stdin=subprocess.DEVNULL, stdout=ef, stderr=ef)
        sgtest.wait_until(lambda: not sgtest.connection_refused(listen), SOCAT_START,
                          what=f"socat listening on {listen}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class TlsBench:
    """The Real COM bench with socat TLS in front of port 1's data and command ports."""

    def __init__(self, bench, pki, free_ports, leaf="server", client_ca=None):
        self.bench = bench
        self.tls_data, self.tls_command = free_ports(2)
        kw = dict(cert=pki / f"{leaf}.crt", key=pki / f"{leaf}.key")
        if client_ca:
            kw.update(cafile=pki / f"{client_ca}.crt", verify=True)
        self.relays = [TlsRelay(bench.tmp, self.tls_data, bench.data, name="tls-data", **kw),
                       TlsRelay(bench.tmp, self.tls_command, bench.command, name="tls-command",
                                **kw)]

    def realcom(self, *tls_args):
        b = self.bench
        c = Realcom(b.tmp, ["--device", sgtest.LOOPBACK, "--port", 1, "--data-port",
                            self.tls_data, "--command-port", self.tls_command, "--link", b.link,
                            "--tls", *tls_args], name=f"realcom-{len(b.clients) + 1}")
        b.clients.append(c)
        c.wait_log("waiting for an application", timeout=sgtest.START_TIMEOUT)
        return c

    def close(self):
        for r in self.relays:
            r.stop()


@pytest.fixture
def bench(admin_gate, free_ports, tmp_path):
    b = Bench(admin_gate, free_ports, tmp_path)
    yield b
    b.close()


@pytest.fixture
def relays(bench, pki, free_ports):
    made = []

    def make(**kw):
        t = TlsBench(bench, pki, free_ports, **kw)
        made.append(t)
        return t
    yield make
    for t in made:
        t.close()


def test_data_and_command_channel_through_tls(bench, relays, pki):
    """Verified TLS on both channels (CA and IP SAN of 127.0.0.1): every byte value both ways,
    and the application's line settings reach port 1 over the command channel."""
    t = relays()
    c = t.realcom("--ca", pki / "server-ca.crt")
    port = bench.open()  # 115200, as the far end (the simulated cable checks both ends agree)
    bench.session_up()
    bench.wait_serial(baud=115200)
    far = bench.far(port)
    exchange(port, far, bytes(range(256)) * 8)
    port.baudrate = 19200
    bench.wait_serial(baud=19200)
    log = c.log()
    assert "TLS" in log and "WITHOUT verifying" not in log, log


def test_a_certificate_for_another_address_is_refused(bench, relays, pki):
    """The chain is good but the certificate names 127.0.0.2: no session, the reason logged;
    no byte reaches port 1."""
    t = relays(leaf="elsewhere")
    c = t.realcom("--ca", pki / "server-ca.crt")
    bench.open()
    c.wait_log("TLS handshake on the data channel", timeout=sgtest.IO_TIMEOUT * 2)
    assert "mismatch" in c.log(), c.log()
    time.sleep(1.5)
    assert not sgtest.monitor(bench.gate, 1)["peers"], "a session despite the wrong name"


def test_an_unknown_ca_is_refused(bench, relays, pki):
    t = relays()
    c = t.realcom("--ca", pki / "client-ca.crt")  # not the server's CA
    bench.open()
    c.wait_log("TLS handshake on the data channel", timeout=sgtest.IO_TIMEOUT * 2)
    assert "unable to get local issuer certificate" in c.log(), c.log()
    assert not sgtest.monitor(bench.gate, 1)["peers"]


def test_no_verify_connects_and_warns_at_every_connect(bench, relays, pki):
    t = relays(leaf="elsewhere")
    c = t.realcom("--no-verify")
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, b"unverified but encrypted")
    port.close()
    sgtest.wait_until(lambda: not sgtest.monitor(bench.gate, 1)["peers"], sgtest.IO_TIMEOUT,
                      what="the session closed")
    port = bench.open()
    bench.session_up()
    sgtest.wait_until(lambda: c.log().count("WITHOUT verifying") >= 2, sgtest.IO_TIMEOUT,
                      what="a Warning at the second connect too")


def test_mutual_tls_with_client_certificate(bench, relays, pki):
    """socat verify=1 against the client CA: refused without --cert, served with it."""
    t = relays(client_ca="client-ca")
    c = t.realcom("--ca", pki / "server-ca.crt")
    bench.open()
    refused_by_peer(c)
    time.sleep(1.0)
    assert not sgtest.monitor(bench.gate, 1)["peers"], "a session without a client certificate"
    bench.ports[-1].close()
    c.stop()
    bench.clients.remove(c)

    t2 = relays(client_ca="client-ca")
    c2 = t2.realcom("--ca", pki / "server-ca.crt", "--cert", pki / "client.crt",
                    "--key", pki / "client.key")
    port = bench.open()
    bench.session_up()
    far = bench.far(port)
    exchange(port, far, b"mutual TLS")
    assert "handshake" not in c2.log(), c2.log()


def test_tls_usage_errors(pki, tmp_path):
    base = ["realcom", "--device", "127.0.0.1", "--port", 1, "--link", tmp_path / "x"]
    r = sgtest.assert_rc(sgtest.run(*base, "--tls"), sgtest.EXIT_USAGE)
    assert "--ca" in r.stderr
    sgtest.assert_rc(sgtest.run(*base, "--ca", pki / "server-ca.crt"), sgtest.EXIT_USAGE)
    sgtest.assert_rc(sgtest.run(*base, "--no-verify"), sgtest.EXIT_USAGE)
    sgtest.assert_rc(sgtest.run(*base, "--tls", "--ca", pki / "server-ca.crt", "--cert",
                                pki / "client.crt"), sgtest.EXIT_USAGE)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    r = sgtest.assert_rc(sgtest.run(*base, "--tls", "--ca", bad), sgtest.EXIT_INVALID)
    assert "no PEM certificate" in r.stderr, r.stderr
    r = sgtest.assert_rc(sgtest.run(*base, "--tls", "--ca", pki / "server-ca.crt", "--cert",
                                    pki / "client.crt", "--key", pki / "server.key"),
                         sgtest.EXIT_INVALID)
    assert not (tmp_path / "x").exists()
