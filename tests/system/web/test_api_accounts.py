"""web/test_api_accounts.py: accounts, groups and privileges through the API (PW-1, PW-5, PW-6,
AZ-1, AZ-2, AZ-4, AZ-5). The privilege matrix is generated from the route table of
src/web/api/api.cpp, so a new Security or Account Management endpoint is covered automatically.
"""

import pytest

import api
from api import API, fill
from sgtest import free_ports, tcp_server_port

PW = "Web-Acct-Pa55word-m2Rt"
OP_PW = "Op-Acct-Pa55word-h8Jd"
OP_PW2 = "Op-Acct-Pa55word-n4Kc"
OP_PW3 = "Op-Acct-Pa55word-w6Ys"
RESTRICTED = {"security", "accounts"}  # Operator: everything but these (AZ-1)
# The whole document carries the Security sections (login, password policy, HTTPS): reading or
# replacing it needs Security too, whatever its own area says (web/api fix c58c4f9).
WHOLE_CONFIG = {f"{API}/config"}


@pytest.fixture
def gate_with_port(web_admin):
    """(web, admin session) with port 1 a tcp_server on sim:echo (so /ports/1 exists)."""
    local, command = free_ports(2)
    return web_admin([tcp_server_port(1, "sim:echo", local, command)], password=PW)


def test_operator_changes_password_first_then_is_refused_security_and_accounts(gate_with_port):
    w, admin = gate_with_port
    r = admin.post(f"{API}/accounts", {"name": "op", "group": "Operator", "password": OP_PW})
    assert r.status == 201, r
    assert r.json()["must_change_password"] is True, f"PW-5: admin-set password: {r.json()}"

    op = w.login("op", OP_PW)
    assert op.info["must_change_password"] is True, op.info
    r = op.get(f"{API}/ports")
    assert r.status == 403 and r.error_code() == "password_change_required", r
    assert op.get(f"{API}/session").status == 200
    r = op.put(f"{API}/session/password", {"current_password": OP_PW, "new_password": OP_PW2})
    assert r.status == 204, r
    assert op.get(f"{API}/ports").status == 200, "still confined after the password change"

    refused, allowed = [], []
    for method, pattern, auth, area, write in api.routes():
        if auth != "Session":
            continue
        path = fill(pattern, "admin" if "/accounts/" in pattern else "1")
        if area in RESTRICTED or pattern in WHOLE_CONFIG:
            r = op.request(method, path, body={} if write else None)
            assert r.status == 403 and r.error_code() == "forbidden", (
                f"AZ-1: Operator on {method} {pattern} ({area}): {r}")
            refused.append((method, pattern))
        elif not write:
            r = op.request(method, path)
            # The serial monitor (issue 13) is a WebSocket: allowed, a plain GET is 426.
            want = 426 if pattern.endswith("/monitor/ws") else 200
            assert r.status == want, f"AZ-1: Operator on {method} {pattern} ({area}): {r}"
            allowed.append((method, pattern))
    assert len(refused) >= 20 and len(allowed) >= 7, (refused, allowed)
    # Writes outside Security/Accounts are allowed (System here: the same document back).
    system = op.get(f"{API}/system").json()
    assert op.put(f"{API}/system", system).status == 200
    # Nothing the refused requests asked for happened.
    names = [a["name"] for a in admin.get(f"{API}/accounts").json()]
    assert sorted(names) == ["admin", "op"], names
    def op_denied(evs):
        return [e for e in evs if e["account"] == "op"]
    denied = admin.events("type=security.access_denied&limit=200",
                          lambda evs: len(op_denied(evs)) >= len(refused))
    assert len(op_denied(denied)) >= len(refused), (
        f"AU-2: {len(denied)} access_denied events for {len(refused)} refusals")
    api.assert_secret_nowhere(w, PW, OP_PW, OP_PW2)


def test_custom_group_read_only_serial(gate_with_port):
    w, admin = gate_with_port
    r = admin.put(f"{API}/groups/SerialViewers",
                  {"privileges": {"serial": "read_only", "overview": "read_only"}})
    assert r.status == 201, r
    admin.create_account("viewer", OP_PW, group="SerialViewers")
    v = w.login("viewer", OP_PW)
    port1 = v.get(f"{API}/ports/1")
    assert port1.status == 200 and v.get(f"{API}/ports").status == 200, port1
    r = v.put(f"{API}/ports/1", port1.json())
    assert r.status == 403 and r.error_code() == "forbidden", f"read_only serial, PUT: {r}"
    for path in (f"{API}/system", f"{API}/accounts", f"{API}/certificate", f"{API}/config"):
        r = v.get(path)
        assert r.status == 403, f"hidden area {path}: {r}"
    # AZ-2: no privilege escalation through a custom group; built-ins are fixed.
    r = admin.put(f"{API}/groups/Escalate", {"privileges": {"accounts": "read_write"}})
    assert r.status == 403 and r.error_code() == "escalation", r
    r = admin.put(f"{API}/groups/Operator", {"privileges": {"security": "read_write"}})
    assert r.status == 409 and r.error_code() == "builtin_group", r
    r = admin.delete(f"{API}/groups/SerialViewers")
    assert r.status == 409 and r.error_code() == "group_in_use", r
    # Widening the group changes what the member may do; a group change ends no session.
    r = admin.put(f"{API}/groups/SerialViewers",
                  {"privileges": {"serial": "read_write", "overview": "read_only"}})
    assert r.status == 200, r
    r = v.put(f"{API}/ports/1", port1.json())
    assert r.status == 200, f"read_write serial, PUT: {r}"
    events = admin.events("type=security.group_changed", lambda evs: len(evs) >= 2)
    assert len(events) >= 2 and all(e["account"] == "admin" for e in events), events


def test_last_admin_cannot_be_deleted_disabled_or_moved(gate_with_port):
    w, admin = gate_with_port
    for method, body in (("DELETE", None), ("PATCH", {"active": False}),
                         ("PATCH", {"group": "Operator"})):
        r = admin.request(method, f"{API}/accounts/admin", body)
        assert r.status == 409 and r.error_code() == "last_admin", f"{method} {body}: {r}"
    acct = admin.get(f"{API}/accounts/admin").json()
    assert acct["group"] == "Administrator" and acct["active"] is True, acct
    # With a second administrator the same changes are allowed (the guard is not blanket).
    admin.create_account("admin2", OP_PW, group="Administrator")
    r = admin.patch(f"{API}/accounts/admin2", {"group": "Operator"})
    assert r.status == 200 and r.json()["group"] == "Operator", r
    r = admin.delete(f"{API}/accounts/admin2")
    assert r.status == 204, r
    r = admin.delete(f"{API}/accounts/admin")
    assert r.status == 409, f"alone again: {r}"
    assert admin.get(f"{API}/session").status == 200
    wanted = ("security.account_created", "security.account_changed", "security.account_deleted")
    types = [e["type"] for e in admin.events(
        "category=security&limit=200", lambda evs: set(wanted) <= {e["type"] for e in evs})]
    for t in wanted:
        assert t in types, f"PW-1: no {t} event"


def test_change_own_password_rules_and_other_sessions_end(gate_with_port):
    """PW-6: current password required, new differs, the account's other sessions end."""
    w, admin = gate_with_port
    admin.create_account("op", OP_PW)
    a = w.login("op", OP_PW)
    b = w.login("op", OP_PW)
    r = a.put(f"{API}/session/password", {"new_password": OP_PW2})
    assert r.status == 400, f"no current password: {r}"
    r = a.put(f"{API}/session/password", {"current_password": OP_PW3, "new_password": OP_PW2})
    assert r.status == 403 and r.error_code() == "wrong_password", r
    r = a.put(f"{API}/session/password", {"current_password": OP_PW, "new_password": OP_PW})
    assert r.status == 400 and r.error_code() == "same_password", r
    assert b.get(f"{API}/session").status == 200, "a refused change ended a session"
    r = a.put(f"{API}/session/password", {"current_password": OP_PW, "new_password": OP_PW2})
    assert r.status == 204, r
    assert b.get(f"{API}/session").status == 401, "PW-6: the other session survived"
    assert a.get(f"{API}/session").status == 200, "the changing session itself must go on"
    assert admin.get(f"{API}/session").status == 200, "another account's session ended"
    assert w.login_raw("op", OP_PW).status == 401
    w.login("op", OP_PW2)
    # An administrator's reset forces a change at the next login (PW-5) and ends sessions.
    r = admin.put(f"{API}/accounts/op/password", {"password": OP_PW3})
    assert r.status == 204, r
    assert a.get(f"{API}/session").status == 401
    op = w.login("op", OP_PW3)
    assert op.info["must_change_password"] is True, op.info
    api.assert_secret_nowhere(w, PW, OP_PW, OP_PW2, OP_PW3)


def test_admin_ends_sessions_and_disabling_ends_them(gate_with_port):
    """AZ-4: list and end sessions; disabling or deleting an account ends its sessions."""
    w, admin = gate_with_port
    admin.create_account("op", OP_PW)
    op = w.login("op", OP_PW)
    sessions = admin.get(f"{API}/sessions").json()
    mine = [s for s in sessions if s["account"] == "admin"]
    theirs = [s for s in sessions if s["account"] == "op"]
    assert len(mine) == 1 and mine[0]["current"] is True, sessions
    assert len(theirs) == 1 and theirs[0]["source"].startswith("127.0.0.1"), sessions
    assert {"created", "last_used", "id"} <= set(theirs[0]), theirs[0]
    assert op.cookie not in str(sessions), "AZ-4: the list shows the cookie itself"
    r = admin.delete(f"{API}/sessions/{theirs[0]['id']}")
    assert r.status == 204, r
    assert op.get(f"{API}/ports").status == 401, "an ended session still works"
    ended = admin.events("type=security.session_ended")
    assert ended and ended[0]["account"] == "admin", ended

    op = w.login("op", OP_PW)
    r = admin.patch(f"{API}/accounts/op", {"active": False})
    assert r.status == 200 and r.json()["active"] is False, r
    assert op.get(f"{API}/ports").status == 401, "AZ-4: disabled account's session still works"
    assert w.login_raw("op", OP_PW).status == 401
    assert admin.patch(f"{API}/accounts/op", {"active": True}).status == 200
    op = w.login("op", OP_PW)
    assert admin.delete(f"{API}/accounts/op").status == 204
    assert op.get(f"{API}/ports").status == 401, "deleted account's session still works"


def test_operator_cannot_change_security_settings_through_other_areas(gate_with_port):
    """AZ-1: Operator has no write on Security. The whole document (PUT /config, Maintenance)
    carries the Security sections too; they must not change through it."""
    w, admin = gate_with_port
    admin.create_account("op", OP_PW)
    op = w.login("op", OP_PW)
    problems = []
    for section, changes in (("login", {"lockout_enabled": False, "retry_failure_threshold": 10}),
                             ("password_policy", {"min_length": 9, "lifetime_days": 0}),
                             ("https", {"allow_rsa_1024": True})):
        before = admin.get(f"{API}/config").json()
        doc = admin.get(f"{API}/config").json()  # the operator may know it; it is not secret
        doc[section].update(changes)
        assert doc[section] != before[section], f"the test changes nothing in {section}"
        r = op.put(f"{API}/config", doc)
        after = admin.get(f"{API}/config").json()
        if after[section] != before[section] or r.status != 403:
            problems.append(f"{section}: answer {r.status}, {before[section]} -> {after[section]}")
    assert not problems, ("AZ-1: Operator changed Security settings through PUT /api/v1/config:\n"
                          + "\n".join(problems))


def test_password_length_and_strength_rules(gate_with_port):
    """PW-2 (128 characters accepted, not truncated) and PW-4 (strength toggles)."""
    w, admin = gate_with_port
    long_pw = ("Long-Pa55-" * 13)[:128]
    admin.create_account("longpw", long_pw)
    w.login("longpw", long_pw)
    assert w.login_raw("longpw", long_pw[:127]).status == 401, "PW-2: password truncated"
    r = admin.post(f"{API}/accounts", {"name": "short", "group": "Operator",
                                       "password": "Abc-123"})
    assert r.status == 400 and r.error_code() == "weak_password", r
    r = admin.put_section(f"{API}/password-policy", strength_check=True, require_digit=True,
                          require_mixed_case=True, require_special=True)
    assert r.status == 200, r
    for weak in ("correct horse battery", "Correct Horse Battery", "Correct-Horse-Battery",
                 "correct-horse-battery-7"):
        r = admin.post(f"{API}/accounts", {"name": "weak", "group": "Operator", "password": weak})
        assert r.status == 400 and r.error_code() == "weak_password", f"PW-4 {weak!r}: {r}"
    r = admin.put_section(f"{API}/password-policy", strength_check=False)
    assert r.status == 200, r
    admin.create_account("phrase", "correct horse battery")
    names = [a["name"] for a in admin.get(f"{API}/accounts").json()]
    assert "weak" not in names and "short" not in names and "phrase" in names, names


def test_group_change_ends_sessions_and_admin_unlock(gate_with_port):
    """AZ-4: moving an account to another group ends its sessions; IA-6: unlock is logged."""
    w, admin = gate_with_port
    admin.create_account("op", OP_PW)
    op = w.login("op", OP_PW)
    r = admin.put(f"{API}/groups/Viewers", {"privileges": {"overview": "read_only"}})
    assert r.status == 201, r
    assert admin.patch(f"{API}/accounts/op", {"group": "Viewers"}).status == 200
    assert op.get(f"{API}/session").status == 401, "AZ-4: session kept the old privileges"
    op = w.login("op", OP_PW)
    assert op.info["group"] == "Viewers" and op.get(f"{API}/ports").status == 403

    r = admin.put_section(f"{API}/login-settings", retry_failure_threshold=2)
    assert r.status == 200, r
    for _ in range(2):
        w.login_raw("op", OP_PW3)
    assert w.login_raw("op", OP_PW).status == 423
    acct = admin.get(f"{API}/accounts/op").json()
    assert acct["locked"] is True and acct.get("locked_until"), acct
    assert admin.post(f"{API}/accounts/op/unlock").status == 204
    w.login("op", OP_PW)
    unlocked = admin.events("type=security.account_unlocked")
    assert unlocked and unlocked[0]["account"] == "admin" and "op" in unlocked[0]["message"]
