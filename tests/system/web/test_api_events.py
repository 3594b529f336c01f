"""web/test_api_events.py: the management plane's audit trail (issue 4 §10, AU-2, IA-9) read back
through GET /api/v1/events (filters) and /events.csv, and through `serialgate log show`: login
success, failure and lockout with account and source; no password anywhere.
"""

import csv
import io

import api
from api import API

PW = "Web-Evnt-Pa55word-c1Dq"
OP_PW = "Op-Evnt-Pa55word-u0Xe"
WRONG = "Wrong-Evnt-Pa55word-z9Ha"


def test_login_events_with_account_and_source(gate, web):
    w = web(login={"retry_failure_threshold": 2, "lockout_duration_min": 5})
    w.setup("admin", PW)
    admin = w.login("admin", PW)
    admin.create_account("op", OP_PW)
    assert w.login_raw("op", WRONG).status == 401
    r = w.login_raw("op", WRONG)
    assert r.status in (401, 423), r  # the second failure locks the account
    locked_real = w.login_raw("op", OP_PW)
    assert locked_real.status == 423
    # IA-5: an unknown name is counted and locked alike, so a lock does not reveal an account.
    w.login_raw("ghost", WRONG)
    w.login_raw("ghost", WRONG)
    locked_ghost = w.login_raw("ghost", WRONG)
    assert (locked_ghost.status, locked_ghost.body) == (locked_real.status, locked_real.body), (
        f"IA-5: unknown name {locked_ghost} vs locked account {locked_real}")

    wanted = {("security.login_succeeded", "admin"), ("security.login_failed", "op"),
              ("security.account_locked", "op"), ("security.account_created", "admin")}
    events = admin.events("category=security&limit=200",
                          lambda evs: wanted <= {(e["type"], e["account"]) for e in evs})
    assert events and all(e["category"] == "Security" for e in events), events[:3]

    def one(type_, account):
        hits = [e for e in events if e["type"] == type_ and e["account"] == account]
        assert hits, f"no {type_} for {account}: {[(e['type'], e['account']) for e in events]}"
        assert hits[0]["source"].startswith("127.0.0.1"), hits[0]
        return hits[0]

    ok = one("security.login_succeeded", "admin")
    assert ok["severity"] == "Informational", ok
    failed = one("security.login_failed", "op")
    assert failed["severity"] == "Warning", failed
    locked = one("security.account_locked", "op")
    assert locked["severity"] == "Warning", locked
    one("security.account_created", "admin")

    warnings = admin.get(f"{API}/events?severity=warning&limit=200").json()
    assert warnings and all(e["severity"] in ("Error", "Warning") for e in warnings), warnings
    only = admin.get(f"{API}/events?type=security.login_failed").json()
    assert only and {e["type"] for e in only} == {"security.login_failed"}
    for bad in ("category=nope", "severity=loud", "type=no.such", "limit=0", "port=0"):
        r = admin.get(f"{API}/events?{bad}")
        assert r.status == 400 and r.error_code() == "invalid_query", f"{bad}: {r}"

    r = admin.get(f"{API}/events.csv?category=security")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv"), r
    rows = list(csv.reader(io.StringIO(r.text)))
    assert len(rows) >= 4 and any("security.account_locked" in row for row in rows), rows[:5]

    # The CLI reads the same log.
    cli = gate.events("--type", "security.login_succeeded")
    assert any(e.get("account") == "admin" for e in cli), cli
    api.assert_secret_nowhere(w, PW, OP_PW, WRONG, log_only=(admin.cookie, admin.csrf))


# Issue 14 item 11: OWASP CSV injection. A spreadsheet also runs a cell as a formula when a TAB or
# a CR stands before the `=`; both arrive here through an unauthenticated failed login's name.
FORMULA_NAMES = ('\t=HYPERLINK("http://127.0.0.1/x","tab")', '\r=HYPERLINK("http://127.0.0.1/x","cr")')


def test_tab_and_cr_led_names_export_neutralised_in_csv(web_admin):
    w, admin = web_admin(password=PW)
    for name in FORMULA_NAMES:
        assert w.login_raw(name, WRONG).status == 401
    events = admin.events("type=security.login_failed",
                          lambda evs: sum("HYPERLINK" in e["account"] for e in evs) >= 2)
    assert sum("HYPERLINK" in e["account"] for e in events) >= 2, events
    r = admin.get(f"{API}/events.csv?type=security.login_failed")
    assert r.status == 200, r
    # newline="" keeps a quoted CR inside its field, as a spreadsheet reads it.
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    cells = [c for row in rows for c in row if "HYPERLINK" in c]
    assert len(cells) == 2, rows
    live = [c for c in cells if not c.startswith("'")]
    assert not live, f"CSV cells a spreadsheet runs as formulas: {live!r}"


# Issue 14 item 7 (AU-3): the Security category's Notice-and-above types record what
# administrators do (accounts, groups, passwords, policy, certificate). Diagnostics write, which an
# Operator has, must not be enough to switch them off.
AUDIT_TYPES = ("security.account_created", "security.account_changed", "security.password_changed",
               "security.group_changed", "security.policy_changed", "security.certificate_changed")


def test_operator_cannot_switch_off_the_audit_of_administrators(web_admin):
    w, admin = web_admin(password=PW)
    admin.create_account("op", OP_PW)
    op = w.login("op", OP_PW)
    settings = f"{API}/event-log/settings"
    before = admin.get(settings).json()
    for key in AUDIT_TYPES:
        r = op.put(settings, {"types": {key: False}})
        assert r.status == 403 and r.error_code() == "forbidden", f"Operator switched {key} off: {r}"
    # The whole document through PUT /config (Maintenance) is no way round it either.
    doc = admin.get(f"{API}/config").json()
    doc["event_log"] = {"types": {k: False for k in AUDIT_TYPES}}
    r = op.put(f"{API}/config", doc)
    assert r.status == 403, f"Operator imported a configuration without the audit types: {r}"
    assert admin.get(settings).json() == before, "the refused changes changed the settings"
    # Nothing was switched off: the next administrator action is recorded.
    admin.create_account("op2", OP_PW)
    created = admin.events("type=security.account_created",
                           lambda evs: any("op2" in e["message"] for e in evs))
    assert any("op2" in e["message"] for e in created), created

    # Other types stay the Operator's (Diagnostics write).
    r = op.put(settings, {"types": {"serial.connected": False}})
    assert r.status == 200, r
    # The administrator (Security write, password proved at login) may switch one off.
    r = admin.put(settings, {"types": {"serial.connected": False,
                                       "security.account_created": False}})
    assert r.status == 200, r
    assert admin.get(settings).json()["types"]["security.account_created"] is False
