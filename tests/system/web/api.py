"""api.py: helpers for the system tests of the management plane (issue 4) through the real binary.

A `WebGate` is a sgtest.Gate whose serve runs the HTTPS API on a free loopback port. Requests go
out with Python's ssl + http.client (a peer we did not write) or with the `curl` binary; every
response is appended to the gate's transcript so that a test can grep all of them for a password
(IA-9) or a private key (CE-4). Nothing here knows the server's internals: the route list is read
from the route table in src/web/api/api.cpp (and docs/openapi.yaml when it exists), which is the
contract the tests check.

Conventions: `session.get(path)` etc. return a Response; status codes are asserted by the tests,
never here, except in the one-line conveniences `setup()`/`login()` that take `expect=`.

Connections (NE-5): the server takes at most 10 TLS handshakes/s (burst 40) and 20 new
connections/s (burst 40) per source address and closes the rest at accept. So `request()` keeps
one keep-alive connection per source address and thread, as a browser does, and opens a new one
only when the server closed the old (Connection: close, idle timeout, restart); `curl()`,
`raw_exchange()` and `served_certificate()`, which need a connection of their own, retry one that
the server refused before the handshake. Tests about the limits themselves are in test_dos.py.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import sgtest
from sgtest import LOOPBACK, START_TIMEOUT, make_config, wait_until

COOKIE = "__Host-sg_session"
API = "/api/v1"
HTTP_TIMEOUT = 30.0  # one request (login costs one Argon2id run, ~0.2 s; ASan builds are slower)
# A connection refused at accept by the per-source handshake or connection rate (NE-5) is tried
# again this often, this long apart: 10 handshakes/s per source means a token within 0.1 s.
REFUSED_RETRIES = 40
REFUSED_BACKOFF = 0.15

# WS-5 verbatim from security-requirements.md.
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), serial=()",
}


def client_context():
    """TLS client context that accepts the self-signed certificate (we check it ourselves)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tls_socket(port, source=None, timeout=15):
    """A TLS connection to 127.0.0.1:port; one that the server refused at accept (closed before
    the handshake: NE-5 rates) is tried again after REFUSED_BACKOFF."""
    for attempt in range(REFUSED_RETRIES):
        raw = socket.create_connection((LOOPBACK, port), timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            return client_context().wrap_socket(raw)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            raw.close()
            if attempt == REFUSED_RETRIES - 1:
                raise
            time.sleep(REFUSED_BACKOFF)


# ---------------------------------------------------------------- responses


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] in wire order
        self.body = body  # bytes

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {self}") from None

    def error_code(self):
        try:
            return json.loads(self.body).get("error")
        except (ValueError, AttributeError):
            return None

    def raw(self):
        """Headers and body as one text, for greps (IA-9, CE-4)."""
        head = "\n".join(f"{k}: {v}" for k, v in self.headers)
        return f"{self.status} {self.reason}\n{head}\n\n{self.text}"

    def __repr__(self):
        body = self.text
        if len(body) > 600:
            body = body[:600] + "..."
        return f"<HTTP {self.status} {self.reason} {body!r}>"


def session_cookie_value(resp):
    """The value of the session cookie a response sets (None when it sets none)."""
    for v in resp.header_all("Set-Cookie"):
        m = re.match(rf"{COOKIE}=([^;]*)", v)
        if m:
            return m.group(1)
    return None


# ---------------------------------------------------------------- the gate with HTTPS


def route_table():
    """(METHOD, pattern, auth, area, write) of every route in the route table of
    src/web/api/api.cpp; `{}` in a pattern stands for one path segment."""
    text = (sgtest.REPO / "src" / "web" / "api" / "api.cpp").read_text()
    rx = re.compile(r'\{verb::(\w+),\s*"([^"]+)",\s*Auth::(\w+),\s*Area::(\w+),\s*(true|false)')
    out = []
    for verb, pattern, auth, area, write in rx.findall(text):
        out.append((verb.rstrip("_").upper(), pattern, auth, area.lower(), write == "true"))
    assert len(out) >= 20, f"route table of api.cpp not found or changed shape ({len(out)} rows)"
    return out


_AUTH = {"public": "Public", "session": "Session",
         "session-during-forced-change": "SessionDuringForcedChange"}


def openapi_operations():
    """(METHOD, pattern, auth, area, write) from docs/openapi.yaml and its x-sg-auth, x-sg-area
    and x-sg-access tags (AZ-1: "expected status from OpenAPI privilege tags"); [] while the file
    does not exist."""
    path = sgtest.REPO / "docs" / "openapi.yaml"
    if not path.exists():
        return []
    import yaml  # python3-yaml; only needed once the OpenAPI file exists

    doc = yaml.safe_load(path.read_text())
    out = []
    for p, item in (doc.get("paths") or {}).items():
        full = re.sub(r"\{[^}]+\}", "{}", p if p.startswith(API) else API + p)
        for method, op in item.items():
            if method.lower() not in ("get", "head", "put", "post", "patch", "delete"):
                continue
            out.append((method.upper(), full, _AUTH.get(op.get("x-sg-auth"), "Session"),
                        str(op.get("x-sg-area", "")).lower(), op.get("x-sg-access") == "write"))
    return out


def routes():
    """Every operation with its privilege: from docs/openapi.yaml when it exists (so a new
    endpoint documented there is tested at once), else from the route table. Operations only in
    the route table are added (an undocumented route is still tested)."""
    ops = openapi_operations()
    seen = {(m, p) for m, p, *_ in ops}
    ops += [r for r in route_table() if (r[0], r[1]) not in seen]
    return ops


def fill(pattern, value="1"):
    return pattern.replace("{}", value)


class WebGate:
    """A serve with HTTPS on. `api.url(path)`, `api.request(...)`, `api.login(...)`."""

    def __init__(self, gate, https_port):
        self.gate = gate
        self.port = https_port
        self.transcript = []  # every Response, for greps
        self._pool = {}  # (thread id, source) -> kept-alive HTTPSConnection

    # ---- lifecycle

    def serve(self, config=None):
        self.gate.serve(config=config, args=["--https-port", self.port])
        self.wait_tls()

    def restart(self):
        """Stops serve and starts it again from the store (no --config: the file would overwrite
        changes made through the API)."""
        self.close_connections()
        self.gate.stop()
        self.serve()

    def wait_tls(self, timeout=START_TIMEOUT):
        def ready():
            self.gate.check_alive()
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=2) as s:
                    with client_context().wrap_socket(s) as t:
                        return t.version()
            except (OSError, ssl.SSLError):
                return None
        wait_until(ready, timeout, interval=0.1, what=f"TLS on 127.0.0.1:{self.port}")

    def url(self, path):
        return f"https://{LOOPBACK}:{self.port}{path}"

    # ---- requests

    def connection(self, source=None, timeout=HTTP_TIMEOUT):
        return http.client.HTTPSConnection(
            LOOPBACK, self.port, timeout=timeout, context=client_context(),
            source_address=(source, 0) if source else None)

    def request(self, method, path, body=None, headers=None, cookie=None, csrf=None,
                source=None, conn=None, content_type="application/json"):
        """One request on a new connection (or on `conn`, kept open). A dict/list body is sent as
        JSON; bytes/str as is."""
        h = {}
        if body is not None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
            if content_type:
                h["Content-Type"] = content_type
        if cookie is not None:
            h["Cookie"] = f"{COOKIE}={cookie}"
        if csrf is not None:
            h["X-CSRF-Token"] = csrf
        h.update(headers or {})
        if conn is not None:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            resp = Response(r.status, r.reason, r.getheaders(), r.read())
        else:
            resp = self._pooled(method, path, body, h, source)
        self.transcript.append(resp)
        return resp

    def _pooled(self, method, path, body, headers, source):
        """One request on this thread's kept-alive connection from `source` (see the module
        docstring). A connection the server has closed meanwhile (idle timeout, restart) fails
        before it answers: the request goes again once on a new connection."""
        key = (threading.get_ident(), source)
        for attempt in range(2):
            c = self._pool.get(key)
            reused = c is not None and c.sock is not None
            if c is None:
                c = self._pool[key] = self.connection(source)
            try:
                if c.sock is None:
                    self._connect(c)
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                return Response(r.status, r.reason, r.getheaders(), r.read())
            except (http.client.HTTPException, ConnectionError, ssl.SSLError):
                c.close()
                self._pool.pop(key, None)
                if not reused or attempt == 1:
                    raise
            except BaseException:
                c.close()
                self._pool.pop(key, None)
                raise
        raise AssertionError("unreachable")

    def _connect(self, c):
        """Opens `c`, again after REFUSED_BACKOFF while the server refuses it before TLS."""
        for attempt in range(REFUSED_RETRIES):
            try:
                c.connect()
                return
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                c.close()
                if attempt == REFUSED_RETRIES - 1:
                    raise
                time.sleep(REFUSED_BACKOFF)

    def close_connections(self):
        """Closes the kept-alive connections (the next request opens new ones)."""
        for c in self._pool.values():
            c.close()
        self._pool.clear()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def curl(self, method, path, body=None, headers=(), cookie=None, source=None):
        """The same through the curl binary (-sk); headers and body from curl's own files."""
        with tempfile.TemporaryDirectory() as d:
            hdr, out = Path(d) / "h", Path(d) / "b"
            cmd = ["curl", "-sk", "--max-time", str(int(HTTP_TIMEOUT)), "-D", str(hdr),
                   "-o", str(out), "-X", method]
            if method == "HEAD":
                cmd = cmd[:-2] + ["-I"]
            for k, v in headers:
                cmd += ["-H", f"{k}: {v}"]
            if cookie is not None:
                cmd += ["-H", f"Cookie: {COOKIE}={cookie}"]
            if source:
                cmd += ["--interface", source]
            data = None
            if body is not None:
                data = json.dumps(body) if isinstance(body, (dict, list)) else body
                cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            cmd.append(self.url(path))
            for _ in range(REFUSED_RETRIES):
                p = subprocess.run(cmd, input=data, capture_output=True, text=True,
                                   timeout=HTTP_TIMEOUT + 10)
                # 35: the TLS handshake failed; here, the server closed the connection at
                # accept (NE-5 per-source rates): nothing was sent, so try again.
                if p.returncode != 35:
                    break
                time.sleep(REFUSED_BACKOFF)
            assert p.returncode == 0, f"curl failed ({p.returncode}): {p.stderr}\n{cmd}"
            blocks = [b for b in hdr.read_bytes().decode("latin-1").split("\r\n\r\n") if b.strip()]
            block = blocks[-1]  # after any 100 Continue
            lines = block.split("\r\n")
            parts = lines[0].split(" ", 2)
            headers_out = []
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers_out.append((k.strip(), v.strip()))
            resp = Response(int(parts[1]), parts[2] if len(parts) > 2 else "", headers_out,
                            out.read_bytes() if out.exists() else b"")
        self.transcript.append(resp)
        return resp

    # ---- the fixed entry points

    def setup(self, account="admin", password=sgtest.ADMIN_PASSWORD, expect=201):
        r = self.request("POST", f"{API}/setup", {"account": account, "password": password})
        if expect is not None:
            assert r.status == expect, f"setup {account}: {r}"
        return r

    def login_raw(self, account, password, source=None, cookie=None, headers=None):
        return self.request("POST", f"{API}/login", {"account": account, "password": password},
                            source=source, cookie=cookie, headers=headers)

    def login(self, account="admin", password=sgtest.ADMIN_PASSWORD, source=None, expect=200):
        r = self.login_raw(account, password, source=source)
        assert r.status == expect, f"login {account}: {r}"
        return Session(self, r, account, source) if r.status == 200 else r

    def all_text(self):
        return "\n".join(r.raw() for r in self.transcript)


class Session:
    """A logged-in client: its cookie and CSRF token go on every request (WS-4)."""

    def __init__(self, web, login_response, account, source=None):
        self.web = web
        self.login_response = login_response
        self.account = account
        self.source = source
        self.cookie = session_cookie_value(login_response)
        assert self.cookie, f"login set no {COOKIE} cookie: {login_response.headers}"
        self.info = login_response.json()
        self.csrf = self.info.get("csrf_token")
        assert self.csrf, f"login answered no csrf_token: {login_response}"

    def request(self, method, path, body=None, csrf=True, **kw):
        return self.web.request(method, path, body=body, cookie=self.cookie,
                                csrf=self.csrf if csrf and method != "GET" else None,
                                source=kw.pop("source", self.source), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def ok(self, method, path, body=None, expect=(200, 201, 204)):
        """A request that must succeed; returns the JSON body (None for 204)."""
        r = self.request(method, path, body)
        expect = (expect,) if isinstance(expect, int) else expect
        assert r.status in expect, f"{method} {path} as {self.account}: {r}"
        return r.json() if r.body else None

    def logout(self):
        return self.post(f"{API}/logout")

    def events(self, query, until=bool, timeout=sgtest.APPLY_TIMEOUT):
        """GET /api/v1/events?query, polled until `until(events)` holds: the store's writer
        thread adds an event a moment after the action. Returns the last list either way (the
        caller's assertion then shows what was there)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(f"{API}/events?{query}")
            assert r.status == 200, f"GET events?{query}: {r}"
            found = r.json()
            if until(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def create_account(self, name, password, group="Operator", must_change=False, active=True):
        return self.ok("POST", f"{API}/accounts",
                       {"name": name, "group": group, "password": password,
                        "must_change_password": must_change, "active": active}, expect=201)

    def put_section(self, path, **changes):
        """GET a configuration section, change some keys, PUT it back; the PUT's Response."""
        cur = self.get(path)
        assert cur.status == 200, f"GET {path}: {cur}"
        doc = cur.json()
        doc.update(changes)
        return self.put(path, doc)


def start(gate, ports=(), https=None, **sections):
    """Starts serve with HTTPS on a free port and the given data-plane `ports`; returns a WebGate
    once the port answers TLS. `https` and `sections` are merged into make_config()."""
    (port,) = sgtest.free_ports(1)
    cfg = make_config(list(ports), https={"enabled": True, "listen_address": LOOPBACK,
                                          **(https or {})}, **sections)
    web = WebGate(gate, port)
    web.serve(config=cfg)
    return web


def start_with_admin(gate, ports=(), password=sgtest.ADMIN_PASSWORD, **kw):
    """start() + setup through the API; returns (web, admin Session)."""
    web = start(gate, ports, **kw)
    web.setup("admin", password)
    return web, web.login("admin", password)


def assert_secret_nowhere(web, *secrets, log_only=()):
    """IA-9 / AU-6 / CE-4: no response the tests received, no event (`log show`, which reads the
    same log as the API's view and CSV export) and no line serve printed contains any of
    `secrets`. `log_only` secrets (session cookies, CSRF tokens: responses carry them by design)
    are looked for in the logs only."""
    logs = {}
    for p, err in web.gate.procs:
        logs[f"serve pid {p.pid} output"] = Path(err).read_text(errors="replace")
    r = web.gate.run("log", "show", "--data-dir", web.gate.data_dir, "--format", "json")
    logs["log show"] = r.stdout + r.stderr
    everywhere = dict(logs, **{"HTTP responses": web.all_text()})
    for places, wanted in ((everywhere, secrets), (logs, log_only)):
        for s in wanted:
            for where, text in places.items():
                assert s not in text, f"{s[:6]}... found in {where}"


def raw_exchange(port, data, timeout=15):
    """Sends `data` on a new TLS connection and returns all bytes read until the server closes
    (or `timeout`). For requests http.client will not send as they are."""
    with tls_socket(port, timeout=timeout) as t:
        try:
            t.sendall(data)
        except OSError:
            pass  # the server may answer and close before reading everything
        got = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = t.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            got += chunk
        return got


def served_certificate(port, source=None):
    """DER of the certificate the server presents to a new connection."""
    with tls_socket(port, source=source, timeout=10) as t:
        return t.getpeercert(binary_form=True)


def sha256_hex(der):
    import hashlib
    return hashlib.sha256(der).hexdigest()


def s_client(port, *args, timeout=20):
    """`openssl s_client -connect 127.0.0.1:port args...` with stdin closed; (rc, output)."""
    for _ in range(REFUSED_RETRIES):
        p = subprocess.run(["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", *args],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=timeout)
        out = p.stdout + p.stderr
        # Closed before the server sent a byte: refused at accept by the per-source handshake
        # rate (NE-5), not a TLS verdict (a refused protocol or suite gets an alert). Again.
        if p.returncode == 0 or "SSL handshake has read 0 bytes" not in out:
            break
        time.sleep(REFUSED_BACKOFF)
    return p.returncode, out


def negotiated(output):
    """(protocol, cipher) from s_client output; cipher is None when the handshake failed."""
    new = re.search(r"^New, (\S+), Cipher is (\S+)", output, re.M)
    if not new or new.group(2) == "(NONE)":
        return None, None
    # "New, TLSv1.0" names the suite's first version; the session block has the real one (TLS
    # 1.3 sessions arrive after the handshake and are often not printed: then "New," is right).
    proto = re.search(r"^\s*Protocol\s*:\s*(\S+)", output, re.M)
    version = proto.group(1) if proto else new.group(1)
    return {"TLSv1": "TLSv1.0"}.get(version, version), new.group(2)


def sleep_until(deadline):
    """For the one test that must let real minutes pass (lockout and idle expiry)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 1.0))
