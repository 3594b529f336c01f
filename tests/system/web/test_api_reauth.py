"""web/test_api_reauth.py: re-authentication for sensitive actions (AZ-3) and the lockout of a
wrong password proved from inside a session (IA-6, IA-7) through the real binary.

The 5-minute window is a constant of the daemon with no clock hook: its expiry is tested with an
injected clock in src/web/api/api_reauth_test.cpp (ReauthTest) and sessions_test.cpp. Here: a fresh login
may act, the reauth endpoint and what a wrong password there costs, and the own password change's
wrong current password counted like a failed login. Failures per test stay below the per-source
throttle (10 a minute) unless the test is about it, or come from other loopback addresses.
"""

import api
from api import API

PW = "Web-Reauth-Pa55word-t5Qb"  # unique: grepped for in every response, event and log line
PW2 = "Web-Reauth-Pa55word-c9Lm"
WRONG = PW + "-wrong"


def reauth(session, password):
    return session.post(f"{API}/session/reauth", {"password": password})


def cleared_cookie(r):
    return any(v.startswith(f"{api.COOKIE}=;") and "Max-Age=0" in v
               for v in r.header_all("Set-Cookie"))


def test_fresh_login_may_act_and_reauth_confirms_the_password(web_admin):
    """AZ-3: a login is a fresh authentication; POST /session/reauth answers 204 for the right
    password, needs the CSRF token and a session, and is logged."""
    w, s = web_admin(password=PW)
    r = s.put_section(f"{API}/password-policy", min_length=10)
    assert r.status == 200, f"sensitive PUT right after login: {r}"
    assert s.get(f"{API}/password-policy").json()["min_length"] == 10

    r = reauth(s, PW)
    assert r.status == 204, r
    assert not r.body
    assert s.put_section(f"{API}/login-settings", login_message="hello").status == 200

    r = s.post(f"{API}/session/reauth", {"password": PW}, csrf=False)
    assert r.status == 403 and r.error_code() == "csrf", r
    r = w.request("POST", f"{API}/session/reauth", {"password": PW})
    assert r.status == 401 and r.error_code() == "unauthenticated", r
    r = s.post(f"{API}/session/reauth", {"secret": PW})
    assert r.status == 400 and r.error_code() == "invalid_field", r

    ok = s.events("type=security.login_succeeded&limit=50",
                  lambda evs: any("re-authentication" in e["message"] for e in evs))
    assert any("re-authentication" in e["message"] and e["account"] == "admin" for e in ok), ok
    api.assert_secret_nowhere(w, PW, log_only=(s.cookie, s.csrf))


def test_wrong_reauth_counts_towards_lockout_and_ends_the_guessing_session(web):
    """IA-6 via AZ-3: wrong passwords on reauth count like failed logins; the one that locks the
    account ends its session (cookie cleared); then login and the account's other session get
    423 even with the right password, until an administrator unlocks it."""
    w = web(login={"lockout_enabled": True, "retry_failure_threshold": 3,
                   "lockout_duration_min": 5})
    w.setup("admin", PW)
    first = w.login("admin", PW)
    first.create_account("admin2", PW2, group="Administrator", must_change=False)
    guessing = w.login("admin", PW, source="127.0.0.31")
    other = w.login("admin", PW, source="127.0.0.32")
    first.logout()

    for i in range(2):
        r = reauth(guessing, WRONG)
        assert r.status == 401 and r.error_code() == "invalid_credentials", f"failure {i + 1}: {r}"
        assert not cleared_cookie(r), r.headers
    assert guessing.get(f"{API}/session").status == 200, "a failure below the threshold ends nothing"
    r = reauth(guessing, WRONG)
    assert r.status == 401 and r.error_code() == "invalid_credentials", f"3rd failure: {r}"
    assert cleared_cookie(r), f"the locking failure must clear the cookie: {r.headers}"
    r = guessing.get(f"{API}/session")
    assert r.status == 401 and r.error_code() == "unauthenticated", (
        f"the session that locked the account lives on: {r}")

    r = w.login_raw("admin", PW, source="127.0.0.33")
    assert r.status == 423 and r.error_code() == "locked", f"IA-6: login during the lock: {r}"
    r = reauth(other, PW)
    assert r.status == 423 and r.error_code() == "locked", f"reauth during the lock: {r}"
    retry = r.header("Retry-After")
    assert retry and retry.isdigit() and 1 <= int(retry) <= 300, r.headers
    assert other.get(f"{API}/session").status == 200, "the owner's other session stays"

    admin2 = w.login("admin2", PW2, source="127.0.0.34")
    assert admin2.post(f"{API}/accounts/admin/unlock").status == 204
    assert reauth(other, PW).status == 204, "after the unlock the right password is accepted"
    w.login("admin", PW, source="127.0.0.33")

    events = admin2.events("category=security&limit=500",
                           lambda evs: "security.account_locked" in {e["type"] for e in evs})
    locked = [e for e in events if e["type"] == "security.account_locked"]
    assert locked and locked[0]["account"] == "admin", events
    failed = [e for e in events if e["type"] == "security.login_failed"
              and "re-authentication" in e["message"]]
    assert len(failed) >= 4, f"AU-2: 3 wrong reauths and one while locked: {failed}"
    api.assert_secret_nowhere(w, PW, PW2, WRONG)


def test_wrong_current_password_on_own_change_five_times_locks(web_admin):
    """IA-6: five wrong current passwords on PUT /session/password (default threshold 5) lock the
    account like five failed logins; the fifth also ends the session; login then answers 423."""
    w, s = web_admin(password=PW)
    body = {"current_password": WRONG, "new_password": PW2}
    for i in range(5):
        r = s.put(f"{API}/session/password", body)
        assert r.status == 403 and r.error_code() == "wrong_password", f"failure {i + 1}: {r}"
        assert cleared_cookie(r) == (i == 4), f"failure {i + 1}: {r.headers}"
    r = w.login_raw("admin", PW)
    assert r.status == 423 and r.error_code() == "locked", f"IA-6: login after 5 failures: {r}"
    assert r.header("Retry-After"), r.headers
    assert s.get(f"{API}/session").status == 401, "the guessing session ended with the lock"
    r = w.login_raw("admin", PW2)
    assert r.status == 423, f"the password did not change: {r}"
    api.assert_secret_nowhere(w, PW, PW2, WRONG)


def test_wrong_passwords_in_a_session_feed_the_per_source_throttle(web):
    """IA-7: with the lockout off, ten wrong reauths from one address throttle that address (429
    with Retry-After) for reauth and login alike; another address is not affected."""
    w = web(login={"lockout_enabled": False})
    w.setup("admin", PW)
    src = "127.0.0.41"
    s = w.login("admin", PW, source=src)
    for i in range(10):
        r = reauth(s, WRONG)
        assert r.status == 401, f"failure {i + 1} of 10: {r}"
    r = reauth(s, PW)
    assert r.status == 429 and r.error_code() == "throttled", f"11th attempt from {src}: {r}"
    retry = r.header("Retry-After")
    assert retry and retry.isdigit() and 1 <= int(retry) <= 60, r.headers
    r = s.put(f"{API}/session/password", {"current_password": PW, "new_password": PW2})
    assert r.status == 429 and r.error_code() == "throttled", f"password change from {src}: {r}"
    assert w.login_raw("admin", PW, source=src).status == 429
    ok = w.login("admin", PW, source="127.0.0.42")
    assert reauth(ok, PW).status == 204
    api.assert_secret_nowhere(w, PW, PW2, WRONG)


def test_reauth_is_documented_and_sensitive_operations_are_marked(web_admin):
    """The OpenAPI file documents POST /session/reauth for any session, and marks the AZ-3
    operations with x-sg-reauth (ctest `openapi` checks the marks against the route table)."""
    import yaml  # python3-yaml, as api.openapi_operations()

    doc = yaml.safe_load((api.sgtest.REPO / "docs" / "openapi.yaml").read_text())
    paths = doc["paths"]
    op = paths[f"{API}/session/reauth"]["post"]
    assert op["x-sg-auth"] == "session-during-forced-change" and not op.get("x-sg-reauth"), op
    marked = {(m.upper(), p) for p, item in paths.items() for m, o in item.items()
              if isinstance(o, dict) and o.get("x-sg-reauth") is True}
    assert marked == {
        ("POST", f"{API}/accounts"), ("PATCH", f"{API}/accounts/{{name}}"),
        ("DELETE", f"{API}/accounts/{{name}}"), ("PUT", f"{API}/accounts/{{name}}/password"),
        ("POST", f"{API}/accounts/{{name}}/unlock"), ("PUT", f"{API}/groups/{{name}}"),
        ("DELETE", f"{API}/groups/{{name}}"), ("PUT", f"{API}/password-policy"),
        ("PUT", f"{API}/login-settings"), ("PUT", f"{API}/https"), ("PUT", f"{API}/allowlist"),
        ("PUT", f"{API}/serial-dos"), ("PUT", f"{API}/certificate"), ("POST", f"{API}/certificate/regenerate"),
        ("POST", f"{API}/remote-certificates"),
        ("DELETE", f"{API}/remote-certificates/{{fingerprint}}"),
        ("PUT", f"{API}/config")}, sorted(marked)
    # Not sensitive: reads, logout, the own password change (it needs the current password).
    assert not paths[f"{API}/session/password"]["put"].get("x-sg-reauth")
    assert not paths[f"{API}/logout"]["post"].get("x-sg-reauth")
    w, s = web_admin(password=PW)
    r = s.put(f"{API}/session/password", {"current_password": PW, "new_password": PW2})
    assert r.status == 204, r
    assert s.put_section(f"{API}/https", http_redirect=False).status == 200
