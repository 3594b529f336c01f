"""web/test_api_auth.py: authentication and sessions of the management plane through the real
binary, driven with curl and Python's http.client (IA-1, IA-2, IA-4..IA-9, PW-2, WS-1..WS-8).

One test waits real minutes (lockout end and session idle expiry together, marked SLOW); the rest
finish in seconds. Failed logins per test stay below the per-source throttle (10 a minute, IA-7)
unless the test is about it, or come from other loopback addresses (127.0.0.x).
"""

import re
import time

import api
import sgtest
from api import API, COOKIE, SECURITY_HEADERS, fill

PW = "Web-Auth-Pa55word-q7Zx"  # unique: grepped for in every response, event and log line
OP_PW = "Op-Auth-Pa55word-k3Vw"
DEFAULT_CREDENTIALS = [("admin", "admin"), ("admin", "moxa"), ("root", "root"), ("admin", "")]
COOKIE_RE = re.compile(rf"{COOKIE}=[A-Za-z0-9_-]{{43,}}; Path=/; Secure; HttpOnly; SameSite=Strict")


def test_before_setup_only_public_paths_answer_and_setup_works_once(web):
    """IA-1, IA-2, IA-4, PW-2: no account, no credential, every other path 401; setup once."""
    w = web()
    ident = w.curl("GET", f"{API}/identity")
    assert ident.status == 200, ident
    assert set(ident.json()) == {"model", "device_name", "version", "setup_required"}, ident.json()
    assert ident.json()["setup_required"] is True
    assert w.curl("GET", f"{API}/login-message").status == 200

    checked = set()
    public = set()
    for method, pattern, auth, _area, write in api.routes():  # IA-4: from OpenAPI + route table
        if auth == "Public":
            public.add(pattern)
            continue
        r = w.request(method, fill(pattern), body={} if write else None)
        assert r.status == 401, f"{method} {pattern} without a session: {r}"
        assert r.error_code() == "unauthenticated", r
        checked.add((method, pattern))
    assert len(checked) >= 30
    for path in (f"{API}/no-such-thing", f"{API}/accounts/x/y/z", "/no-such-page"):
        r = w.get(path)  # IA-1: an unknown path tells a stranger no more than a known one
        assert r.status == 401, f"GET {path} without a session: {r}"
    for path in ("/", "/index.html"):
        # The web console's page (issue 13) is public, like the login page it shows: static
        # files, no data; everything it shows comes through the API above, which asks first.
        r = w.get(path)
        assert r.status == 200 and "<div id=\"app\">" in r.text, f"GET {path}: {r}"
    assert public == {f"{API}/identity", f"{API}/login-message", f"{API}/setup",
                      f"{API}/login"}, f"IA-1: public paths {sorted(public)}"

    for name, password in DEFAULT_CREDENTIALS:
        r = w.curl("POST", f"{API}/login", {"account": name, "password": password})
        assert r.status == 401, f"default credential {name}/{password!r}: {r}"
        assert api.session_cookie_value(r) is None, r.headers

    r = w.curl("POST", f"{API}/setup", {"account": "admin", "password": "Abc-123"})  # 7 chars
    assert r.status == 400, f"PW-2: a 7-character password: {r}"
    assert w.get(f"{API}/identity").json()["setup_required"] is True, "refused setup created one"

    r = w.curl("POST", f"{API}/setup", {"account": "admin", "password": PW})
    assert r.status == 201, r
    assert api.session_cookie_value(r) is None, "setup must not log in by itself"
    for name in ("admin", "second"):
        r = w.curl("POST", f"{API}/setup", {"account": name, "password": PW + "x"})
        assert r.status == 409, f"IA-2: second setup ({name}): {r}"
    assert w.get(f"{API}/identity").json()["setup_required"] is False
    # The second setup changed nothing: the first password still works, the second does not.
    s = w.login("admin", PW)
    accounts = s.get(f"{API}/accounts").json()
    assert [(a["name"], a["group"]) for a in accounts] == [("admin", "Administrator")], accounts
    assert w.login_raw("second", PW + "x").status == 401
    api.assert_secret_nowhere(w, PW, PW + "x", "Abc-123")


def test_cli_setup_sets_the_typed_password_without_its_line_end(gate, web):
    """`setup --password-stdin` reads one line: a CRLF line end is not part of the password."""
    r = gate.run("setup", "--data-dir", gate.data_dir, "--admin", "admin", "--password-stdin",
                 input=PW + "\r\n")
    sgtest.assert_rc(r, sgtest.EXIT_OK)
    w = web()
    w.login("admin", PW)
    assert w.login_raw("admin", PW + "\r").status == 401


def test_concurrent_setups_create_exactly_one_account(web):
    """IA-2 under a race: of several simultaneous setups exactly one succeeds."""
    import concurrent.futures

    w = web()
    names = [f"admin{i}" for i in range(4)]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda n: w.request("POST", f"{API}/setup",
                                                    {"account": n, "password": PW}), names))
    statuses = [r.status for r in results]
    assert sorted(statuses).count(201) == 1, f"IA-2: {statuses}"
    # The losers get 409; one that found no password-hashing slot free within
    # https.dos.argon2_max_wait_ms (2 s: the winner's Argon2id on a loaded machine, ASan build)
    # gets 503 and no account, and is told 409 when it tries again.
    assert all(s in (201, 409, 503) for s in statuses), f"IA-2: {statuses}"
    for name, status in zip(names, statuses):
        if status == 503:
            again = w.request("POST", f"{API}/setup", {"account": name, "password": PW})
            assert again.status == 409, f"IA-2: {name} retried: {again.status}"
    winner = names[statuses.index(201)]
    s = w.login(winner, PW)
    assert [a["name"] for a in s.get(f"{API}/accounts").json()] == [winner]


def test_oversized_and_malformed_requests_get_generic_errors(web):
    """Bounded header and body (issue 4 item 1) and WS-8 generic errors, before any account."""
    w = web()
    host = f"Host: 127.0.0.1:{w.port}\r\n"
    # NE-6: header block ≤ 16 KiB, JSON body ≤ 1 MiB.
    got = api.raw_exchange(w.port, f"GET {API}/identity HTTP/1.1\r\n{host}X-Filler: "
                           f"{'a' * 17000}\r\n\r\n".encode())
    assert got.startswith(b"HTTP/1.1 431 "), f"17 KB of header: {got[:300]!r}"
    got = api.raw_exchange(w.port, f"GET {API}/identity HTTP/1.1\r\n{host}Connection: close"
                           f"\r\nX-Filler: {'a' * 15000}\r\n\r\n".encode())
    assert got.startswith(b"HTTP/1.1 200 "), f"15 KB of header: {got[:300]!r}"
    # The body is announced, not sent: the answer must come from the header alone.
    got = api.raw_exchange(w.port, f"POST {API}/login HTTP/1.1\r\n{host}Content-Type: "
                           f"application/json\r\nContent-Length: {1024 * 1024 + 1}\r\n\r\n{{"
                           .encode())
    assert got.startswith(b"HTTP/1.1 413 "), f"1 MiB + 1 body announced: {got[:300]!r}"
    for body in (b"{not json", b"[1,2]", b'{"account": 1e999999, "password": []}', b"[" * 5000):
        r = w.request("POST", f"{API}/login", body)
        assert r.status == 400, f"{body[:20]!r}: {r}"
        assert set(r.json()) <= {"error", "message"}, r.json()
    r = w.request("POST", f"{API}/login", {"account": "a", "password": "b"},
                  content_type="text/plain")
    assert r.status == 415, r
    for r in w.transcript:
        for leak in (".cpp", "sqlite", "nlohmann", "boost", "/work/"):
            assert leak not in r.text.lower(), f"WS-8: {leak} in {r}"


def test_session_cookie_fixation_and_logout(web_admin):
    """WS-1, WS-3: the cookie's exact form, a new id at every login, nothing valid after logout."""
    w, first = web_admin(password=PW)
    r = w.curl("POST", f"{API}/login", {"account": "admin", "password": PW})
    assert r.status == 200, r
    cookies = r.header_all("Set-Cookie")
    assert len(cookies) == 1 and COOKIE_RE.fullmatch(cookies[0]), f"WS-3: {cookies}"
    for attr in ("Domain", "Expires", "Max-Age"):
        assert attr.lower() not in cookies[0].lower(), cookies[0]
    assert w.get(f"{API}/session", cookie=api.session_cookie_value(r)).status == 200

    # A cookie planted before login is not adopted (no fixation).
    planted = "A" * 43
    r = w.login_raw("admin", PW, cookie=planted)
    assert r.status == 200, r
    fresh = api.session_cookie_value(r)
    assert fresh and fresh != planted
    assert w.get(f"{API}/session", cookie=planted).status == 401

    # Logging in again while holding a live session replaces it.
    r = w.login_raw("admin", PW, cookie=first.cookie)
    second = api.session_cookie_value(r)
    assert r.status == 200 and second not in (first.cookie, fresh)
    assert w.get(f"{API}/session", cookie=first.cookie).status == 401, "old session still valid"
    assert w.get(f"{API}/session", cookie=second).status == 200

    # Logout ends it for good; the browser is told to drop the cookie.
    r = w.request("POST", f"{API}/logout", {}, cookie=second, csrf=r.json()["csrf_token"])
    assert r.status == 204, r
    assert any(re.match(rf"{COOKIE}=;", c) for c in r.header_all("Set-Cookie")), r.headers
    for path in (f"{API}/session", f"{API}/accounts", f"{API}/ports"):
        assert w.get(path, cookie=second).status == 401, f"reuse after logout: {path}"
    # AU-6: session ids and CSRF tokens never reach a log.
    api.assert_secret_nowhere(w, PW, log_only=(first.cookie, first.csrf, fresh, second))


def test_csrf_token_and_origin(web_admin):
    """WS-4: a state-changing request needs the session's token and no foreign Origin/Referer."""
    w, s = web_admin(password=PW)
    system = s.get(f"{API}/system").json()
    own_origin = f"https://127.0.0.1:{w.port}"
    ok = s.put(f"{API}/system", system, headers={"Origin": own_origin})
    assert ok.status == 200, f"control: the same request with token and own Origin: {ok}"

    r = s.put(f"{API}/system", system, csrf=False)
    assert r.status == 403 and r.error_code() == "csrf", f"PUT without X-CSRF-Token: {r}"
    r = s.request("POST", f"{API}/logout", {}, csrf=False)
    assert r.status == 403 and r.error_code() == "csrf", f"POST without X-CSRF-Token: {r}"
    assert s.get(f"{API}/session").status == 200, "a refused logout ended the session"
    r = s.put(f"{API}/system", system, headers={"Origin": "https://evil.example"})
    assert r.status == 403 and r.error_code() == "csrf", f"foreign Origin: {r}"
    r = s.put(f"{API}/system", system, headers={"Referer": "https://evil.example/form"})
    assert r.status == 403 and r.error_code() == "csrf", f"foreign Referer: {r}"
    other = w.login("admin", PW)
    r = w.request("PUT", f"{API}/system", system, cookie=s.cookie, csrf=other.csrf)
    assert r.status == 403, f"another session's token: {r}"
    # Login CSRF: a foreign page cannot log the browser in either.
    r = w.login_raw("admin", PW, headers={"Origin": "https://evil.example"})
    assert r.status == 403 and api.session_cookie_value(r) is None, r
    # None of the refused requests changed anything.
    changes = [e for e in s.get(f"{API}/events?type=system.config_changed").json()
               if e.get("account") == "admin"]
    assert not changes, f"a refused PUT was applied: {changes}"


def test_security_headers_on_every_response(web_admin):
    """WS-5, WS-6: exact security headers, no-store, no Server, on 200/401/404/400 alike."""
    w, s = web_admin(password=PW)
    responses = {
        "GET / (the console)": w.curl("GET", "/"),
        "HEAD /": w.curl("HEAD", "/"),
        "GET identity": w.curl("GET", f"{API}/identity"),
        "GET login-message": w.curl("GET", f"{API}/login-message"),
        "GET unknown API path": w.curl("GET", f"{API}/no-such-thing", cookie=s.cookie),
        "GET accounts without session": w.curl("GET", f"{API}/accounts"),
        "POST setup with broken JSON": w.curl("POST", f"{API}/setup", "{not json"),
        "GET accounts with session": w.curl("GET", f"{API}/accounts", cookie=s.cookie),
        "DELETE identity (405)": w.curl("DELETE", f"{API}/identity", cookie=s.cookie),
    }
    statuses = {k: r.status for k, r in responses.items()}
    assert statuses["GET unknown API path"] == 404, statuses
    assert statuses["DELETE identity (405)"] == 405, statuses
    assert statuses["GET accounts without session"] == 401, statuses
    assert statuses["GET accounts with session"] == 200, statuses
    assert statuses["POST setup with broken JSON"] == 400, statuses
    for what, r in responses.items():
        for name, value in SECURITY_HEADERS.items():
            got = r.header_all(name)
            assert got == [value], f"{what} ({r.status}): {name} is {got}, want [{value!r}]"
        # The console's page is revalidated on each load (no-cache: it has no secret and names
        # the hashed assets of this version); every API answer is no-store.
        cache = ["no-cache"] if what in ("GET / (the console)", "HEAD /") else ["no-store"]
        assert r.header_all("Cache-Control") == cache, f"{what}: {r.headers}"
        assert r.header("Server") is None, f"{what}: {r.headers}"
        assert r.header("X-Powered-By") is None, f"{what}: {r.headers}"
        ctype = r.header("Content-Type")
        if ctype and (ctype.startswith("text/") or "json" in ctype):
            assert "charset=utf-8" in ctype.lower(), f"{what}: {ctype}"
        # WS-8: errors say no more than a code.
        if r.status >= 400 and r.body:
            low = r.text.lower()
            for leak in (".cpp", "sqlite", "openssl", "boost", "/work", "exception"):
                assert leak not in low, f"{what}: error body leaks {leak!r}: {r.text}"


def test_login_failure_is_the_same_for_unknown_wrong_and_disabled(web_admin):
    """IA-5: same status and body; unknown names cost an Argon2id run too (coarse timing)."""
    w, s = web_admin(password=PW)
    s.create_account("sleeper", OP_PW, active=False)
    cases = {"unknown": ("nobody", PW), "wrong password": ("admin", PW + "-wrong"),
             "disabled": ("sleeper", OP_PW)}
    sources = {"unknown": "127.0.0.11", "wrong password": "127.0.0.12", "disabled": "127.0.0.13"}
    first = {}
    times = {k: [] for k in cases}
    for _ in range(3):
        for case, (name, password) in cases.items():
            t0 = time.monotonic()
            r = w.login_raw(name, password, source=sources[case])
            times[case].append(time.monotonic() - t0)
            assert r.status == 401, f"{case}: {r}"
            assert api.session_cookie_value(r) is None
            first.setdefault(case, r)
    bodies = {case: r.body for case, r in first.items()}
    assert len(set(bodies.values())) == 1, f"IA-5: bodies differ: {bodies}"
    ctypes = {case: r.header("Content-Type") for case, r in first.items()}
    assert len(set(ctypes.values())) == 1, ctypes
    # The unknown name is not answered without hashing: a missing dummy Argon2id run would make
    # it an order of magnitude faster than a wrong password.
    fastest = {k: min(v) for k, v in times.items()}
    assert fastest["unknown"] > 0.5 * fastest["wrong password"], f"timing differs: {fastest}"
    assert fastest["disabled"] > 0.5 * fastest["wrong password"], f"timing differs: {fastest}"
    api.assert_secret_nowhere(w, PW, OP_PW, PW + "-wrong")


def test_SLOW_lockout_survives_restart_then_ends_and_idle_session_expires(web):
    """IA-6 and WS-2 in the one test that waits (~65 s): 3 failures lock the account for 1 min,
    the right password is refused with 423 (also after a restart), then accepted; an operator's
    session left idle for over session_timeout_min (1) is refused, and its expiry is logged."""
    w = web(login={"lockout_enabled": True, "retry_failure_threshold": 3,
                   "lockout_duration_min": 1, "session_timeout_min": 1})
    w.setup("admin", PW)
    admin = w.login("admin", PW)
    admin.create_account("op", OP_PW)
    admin.logout()

    statuses = [w.login_raw("admin", PW + "-wrong").status for _ in range(3)]
    assert statuses[:2] == [401, 401] and statuses[2] in (401, 423), statuses
    locked_at = time.monotonic()
    r = w.login_raw("admin", PW)
    assert r.status == 423, f"IA-6: right password during the lock: {r}"
    retry = int(r.header("Retry-After") or 0)
    assert 1 <= retry <= 60, r.headers
    assert api.session_cookie_value(r) is None

    before_restart = w.login("op", OP_PW)
    w.restart()
    r = w.login_raw("admin", PW)
    assert r.status == 423, f"IA-6: the lock did not survive a restart: {r}"
    assert w.get(f"{API}/session", cookie=before_restart.cookie).status == 401, (
        "sessions live in memory: a restart ends them")
    op = w.login("op", OP_PW)  # another account is not affected by admin's lock
    assert op.get(f"{API}/ports").status == 200
    idle_from = time.monotonic()

    # Just past both ends: the lock (1 min from the third failure) and op's idle minute.
    api.sleep_until(max(locked_at + 61, idle_from + 60.3))
    admin = w.login("admin", PW)  # the lock has ended
    assert admin.get(f"{API}/accounts").status == 200
    assert op.get(f"{API}/ports").status == 401, "WS-2: session still valid after > 1 min idle"
    # AU-2: every expired session is logged, whether the daemon's housekeeping (every 5 s) or
    # the login just now (which purges expired sessions to count the caps) removed it.
    w.gate.wait_event("security.session_expired", lambda e: e["account"] == "op")
    events = admin.events("category=security&limit=500",
                          lambda evs: "security.account_locked" in {e["type"] for e in evs})
    types = [e["type"] for e in events]
    assert "security.account_locked" in types, f"no lockout event: {sorted(set(types))}"
    api.assert_secret_nowhere(w, PW, OP_PW, PW + "-wrong")


def test_per_source_throttle(web_admin):
    """IA-7: more than 10 failed logins a minute from one address → 429 with Retry-After for any
    name, the right password included; another address is not affected."""
    w, s = web_admin(password=PW)
    spray = "127.0.0.2"
    for i in range(10):
        r = w.login_raw(f"user{i}", PW + "-spray", source=spray)
        assert r.status == 401, f"failure {i + 1} of 10 from {spray}: {r}"
    r = w.login_raw("user10", PW + "-spray", source=spray)
    assert r.status == 429, f"11th failed login from {spray}: {r}"
    retry = r.header("Retry-After")
    assert retry and retry.isdigit() and 1 <= int(retry) <= 60, r.headers
    r = w.login_raw("admin", PW, source=spray)
    assert r.status == 429, f"right password from a throttled address: {r}"
    r = w.curl("POST", f"{API}/login", {"account": "admin", "password": PW}, source=spray)
    assert r.status == 429, f"curl --interface {spray}: {r}"
    ok = w.login("admin", PW, source="127.0.0.3")
    assert ok.get(f"{API}/session").status == 200
    throttled = s.events("type=security.login_throttled")
    assert throttled and all(e["source"].startswith(spray + ":") or e["source"] == spray
                             for e in throttled), throttled
    failed = s.events("type=security.login_failed&limit=100",
                      lambda evs: {e["account"] for e in evs} >= {f"user{i}" for i in range(10)})
    assert {e["account"] for e in failed} >= {f"user{i}" for i in range(10)}, failed


def test_login_message_is_plain_text_before_login(web_admin):
    """IA-8: set by an administrator, served verbatim as text/plain to anyone."""
    w, s = web_admin(password=PW)
    message = "<script>alert('x')</script> Authorised use only & logged."
    failure = "<b>No.</b> Ask the plant's admin."
    r = s.put_section(f"{API}/login-settings", login_message=message,
                      login_failure_message=failure)
    assert r.status == 200, r
    r = w.curl("GET", f"{API}/login-message")
    assert r.status == 200, r
    assert r.header("Content-Type").lower().startswith("text/plain"), r.headers
    assert "charset=utf-8" in r.header("Content-Type").lower()
    assert r.body.decode() == message, f"not verbatim: {r.body!r}"
    assert r.header("X-Content-Type-Options") == "nosniff"
    r = w.login_raw("admin", PW + "-wrong")
    assert r.status == 401 and r.json().get("message") == failure, r
    r = w.login_raw("nobody", PW)
    assert r.status == 401 and r.json().get("message") == failure, r


def test_max_web_sessions(web_admin):
    """WS-7: the device-wide cap; the next login gets 429 too_many_sessions, logged. (An
    administrator's login ends a non-administrator session instead: the test below.)"""
    w, s = web_admin(password=PW)
    s.create_account("op", OP_PW)
    r = s.put_section(f"{API}/login-settings", max_web_sessions=2, max_sessions_per_account=2)
    assert r.status == 200, r
    op = w.login("op", OP_PW)  # the second session
    r = w.login_raw("op", OP_PW)
    assert r.status == 429 and r.error_code() == "too_many_sessions", f"third session: {r}"
    assert api.session_cookie_value(r) is None
    assert s.get(f"{API}/session").status == 200 and op.get(f"{API}/session").status == 200
    assert op.logout().status == 204
    again = w.login("op", OP_PW)  # a place is free again
    assert again.get(f"{API}/session").status == 200
    refused = s.events("type=security.session_refused")
    assert refused and refused[0]["account"] == "op", refused
    assert again.logout().status == 204

    # The per-account cap, which may not exceed the device-wide one.
    r = s.put_section(f"{API}/login-settings", max_web_sessions=2, max_sessions_per_account=3)
    assert r.status == 400 and any("max_sessions_per_account" in p["path"]
                                   for p in r.json()["problems"]), r
    r = s.put_section(f"{API}/login-settings", max_web_sessions=5, max_sessions_per_account=1)
    assert r.status == 200, r
    r = w.login_raw("admin", PW)  # admin holds one already
    assert r.status == 429 and r.error_code() == "too_many_sessions", f"per-account cap: {r}"
    assert w.login("op", OP_PW).get(f"{API}/session").status == 200


def test_admin_login_ends_the_oldest_non_admin_session_when_the_cap_is_full(web_admin):
    """Issue 14 item 10 (WS-7): five sessions of an Operator and a read-only viewer fill the
    device-wide cap (5). An administrator still gets in: the login ends the oldest
    non-administrator session (a Security event names it); a sixth non-administrator login is
    still refused."""
    w, s = web_admin(password=PW)
    s.create_account("op", OP_PW)
    r = s.put(f"{API}/groups/Viewer", {"privileges": {"overview": "read_only",
                                                  "diagnostics": "read_only"}})
    assert r.status in (200, 201), r
    s.create_account("viewer", OP_PW, group="Viewer")
    assert s.logout().status == 204
    others = [w.login(name, OP_PW) for name in ("op", "op", "op", "viewer", "viewer")]
    r = w.login_raw("viewer", OP_PW)
    assert r.status == 429 and r.error_code() == "too_many_sessions", f"sixth session: {r}"

    r = w.login_raw("admin", PW)
    assert r.status == 200, (
        f"the administrator was refused while non-administrators held every session: {r}")
    admin = api.Session(w, r, "admin")
    assert admin.get(f"{API}/session").status == 200
    oldest, rest = others[0], others[1:]
    assert oldest.get(f"{API}/session").status == 401, "the oldest session was not ended"
    assert all(o.get(f"{API}/session").status == 200 for o in rest)
    # Logged like an administrator's DELETE /sessions/{id}: by the administrator, naming the
    # session's owner.
    ended = admin.events("type=security.session_ended",
                         lambda evs: any(" of op " in e["message"] for e in evs))
    hit = [e for e in ended if " of op " in e["message"]]
    assert hit and hit[0]["account"] == "admin", ended
    assert w.login_raw("op", OP_PW).status == 429, "a non-administrator may not end a session"


def test_json_media_type_is_compared_exactly(web):
    """Issue 14 item 11: `application/jsonp` is not JSON (415); parameters and letter case of the
    media type are (RFC 9110 §8.3.1)."""
    w = web()
    body = {"account": "admin", "password": PW}
    for ct in ("application/jsonp", "application/json-seq", "application/jsonx; charset=utf-8",
               "text/application/json"):
        r = w.request("POST", f"{API}/setup", body, content_type=ct)
        assert r.status == 415 and r.error_code() == "json_required", f"{ct}: {r}"
    r = w.request("POST", f"{API}/setup", body, content_type="Application/JSON ; charset=utf-8")
    assert r.status == 201, r
    r = w.request("POST", f"{API}/login", body, content_type="application/json;charset=UTF-8")
    assert r.status == 200, r
