"""client/test_realcom_tls_e2e.py: `serialgate realcom --tls` end to end against SerialGate's own
Real COM port with Secure Connection (issue 11 items 1 and 3): `security: encrypted` (server
authentication: the client checks the device's self-signed system certificate, given as its own
CA, and the address 127.0.0.1 in its SAN) and `security: encrypted_authenticated` (mutual TLS: the client presents a
certificate from a CA of the Remote Device Certificate list; without one, or with one from another
CA, no session). pyserial on the link, the far side through a plain TCP Server port on the other
end of a simulated null-modem cable.

"""

import subprocess

import pytest

import sgtest
from sgtest import make_config, tcp_server_port
from test_realcom_client import Bench, Realcom, exchange, real_com_port
from test_realcom_tls import make_pki, refused_by_peer


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The host's CA (listed on the device) with a client leaf; another CA with one."""
    return make_pki(tmp_path_factory.mktemp("realcom-e2e-pki"), ("host-ca", "other-ca"), {
        "host": ("host-ca", "extendedKeyUsage=clientAuth\n"),
        "stranger": ("other-ca", "extendedKeyUsage=clientAuth\n")})


def secure_config(bench, level, pki):
    return make_config(
        [real_com_port(1, "sim:null-modem:rc", bench.data, bench.command, security=level),
         tcp_server_port(2, "sim:null-modem:rc", bench.far_data, bench.far_command)],
        remote_certificates=[(pki / "host-ca.crt").read_text()])


def supported(gate, cfg):
    r = gate.run("config", "validate", gate.write_config(cfg))
    assert r.returncode == 0, r.stderr


class SecureBench(Bench):
    def __init__(self, gate, free_ports, tmp_path, pki, level):
        self.level, self.pki = level, pki
        super().__init__(gate, free_ports, tmp_path)

    def serve(self):
        self.config = secure_config(self, self.level, self.pki)
        supported(self.gate, self.config)
        self.gate.serve(config=self.config,
                        wait_ports=[self.data, self.command, self.far_data, self.far_command])

    def realcom(self, *tls_args):
        c = Realcom(self.tmp, ["--device", sgtest.LOOPBACK, "--port", 1, "--data-port", self.data,
                               "--command-port", self.command, "--link", self.link, "--tls",
                               *tls_args], name=f"realcom-{len(self.clients) + 1}")
        self.clients.append(c)
        c.wait_log("waiting for an application", timeout=sgtest.START_TIMEOUT)
        return c


def device_certificate(gate, path):
    """The device's own (self-signed, CE-1) certificate as a TLS peer (openssl s_client) sees it
    on the Real COM data port."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{gate.data}",
                        "-showcerts"], input="", capture_output=True, text=True, timeout=20)
    path.write_text(r.stdout[r.stdout.index("-----BEGIN CERTIFICATE-----"):
                             r.stdout.index("-----END CERTIFICATE-----") + 25] + "\n")
    return path


@pytest.fixture(params=["encrypted", "encrypted_authenticated"])
def secure(request, admin_gate, free_ports, tmp_path, pki):
    b = SecureBench(admin_gate, free_ports, tmp_path, pki, request.param)
    yield b
    b.close()


def test_realcom_tls_end_to_end(secure, pki):
    ca = device_certificate(secure, secure.tmp / "device.pem")  # self-signed: its own CA
    extra = []
    if secure.level == "encrypted_authenticated":
        extra = ["--cert", pki / "host.crt", "--key", pki / "host.key"]
    c = secure.realcom("--ca", ca, *extra)
    port = secure.open()
    secure.session_up()
    far = secure.far(port)
    exchange(port, far, bytes(range(256)) * 4)
    port.baudrate = 38400  # the command channel, through TLS too
    secure.wait_serial(baud=38400)
    assert "WITHOUT verifying" not in c.log()


def test_mutual_tls_refuses_a_client_without_a_listed_ca(admin_gate, free_ports, tmp_path, pki):
    b = SecureBench(admin_gate, free_ports, tmp_path, pki, "encrypted_authenticated")
    try:
        ca = device_certificate(b, tmp_path / "device.pem")
        for extra in ([], ["--cert", pki / "stranger.crt", "--key", pki / "stranger.key"]):
            c = b.realcom("--ca", ca, *extra)
            b.open()
            refused_by_peer(c)
            assert not sgtest.monitor(b.gate, 1)["peers"], extra
            b.ports[-1].close()
            c.stop()
            b.clients.remove(c)
    finally:
        b.close()


def test_a_list_change_applies_to_the_next_connection(admin_gate, free_ports, tmp_path, pki):
    """CE-5 + issue 11 item 1: the Remote Device Certificate list changed on the running device
    (`remote-ca add`, `remote-ca delete`) decides the next handshake, without a restart."""
    b = SecureBench(admin_gate, free_ports, tmp_path, pki, "encrypted_authenticated")
    g = b.gate
    try:
        ca = device_certificate(b, tmp_path / "device.pem")
        stranger_ca = pki / "other-ca.crt"
        args = ["--ca", ca, "--cert", pki / "stranger.crt", "--key", pki / "stranger.key"]
        c = b.realcom(*args)
        b.open()
        refused_by_peer(c)
        assert not sgtest.monitor(g, 1)["peers"]
        sgtest.assert_rc(g.run("remote-ca", "--data-dir", g.data_dir, "add", stranger_ca),
                         sgtest.EXIT_OK)
        b.session_up(timeout=60)  # the client's backoff retries; the next handshake passes
        b.ports[-1].close()
        c.stop()
        b.clients.remove(c)
        fp = subprocess.run(["openssl", "x509", "-in", stranger_ca, "-noout", "-fingerprint",
                             "-sha256"], capture_output=True, text=True, check=True,
                            timeout=20).stdout.strip().split("=", 1)[1]
        sgtest.assert_rc(g.run("remote-ca", "--data-dir", g.data_dir, "delete", fp),
                         sgtest.EXIT_OK)
        sgtest.wait_until(lambda: not sgtest.monitor(g, 1)["peers"], sgtest.IO_TIMEOUT,
                          what="the session closed")
        import time
        time.sleep(1.5)  # the serve's store watcher (0.5 s) has applied the delete
        c = b.realcom(*args)
        b.open()
        refused_by_peer(c)
        assert not sgtest.monitor(g, 1)["peers"]
    finally:
        b.close()
