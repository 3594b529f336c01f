"""web/test_password_rules.py: the password rules PW-2 (NFKC, length in code points, no truncation)
and PW-3 (blocklist: account name, product names, common words, runs and sequences, cracklib)
through the real binary, with Python's http.client and curl against POST /api/v1/setup and
POST /api/v1/accounts, and the offline `serialgate setup`.

Each refusal must be 400 `weak_password` with a message naming the rule and never the password.
"""

import unicodedata
from pathlib import Path

import api
import sgtest
from api import API

PW = "Rules-Pa55word-v8Qj"  # unique: grepped for in every response, event and log line
# (password, account, words the refusal message must contain): the spec's PW-3 examples first.
REFUSED = [
    ("Password1", "admin", "too common"),
    ("admin123", "admin", "account name"),
    ("12345678", "admin", "sequence"),
    ("Moxa2024!", "admin", "product name"),
    ("87654321", "admin", "sequence"),
    ("aaaaaaaa", "admin", "repeated"),
    ("SerialGate-2024", "admin", "product name"),
]
# cracklib's packed dictionary (cracklib-runtime): Debian's GetDefaultCracklibDict().
CRACKLIB_DICT = Path("/var/cache/cracklib/cracklib_dict.pwd")
DICTIONARY_WORD = "Sunflower7"  # in cracklib-small and in wamerican: refused by either build


def refusal_message(r, pw):
    assert r.status == 400 and r.error_code() == "weak_password", f"{pw!r}: {r}"
    message = r.json().get("message", "")
    assert pw not in message, f"IA-9: the refusal repeats the password: {message!r}"
    return message


def test_setup_refuses_blocklisted_passwords_naming_the_rule(web):
    """PW-3 verification: POST Password1, admin123 (name admin), 12345678 -> 400 naming the rule;
    through http.client and curl; nothing is created until a good password comes."""
    w = web()
    for pw, account, rule in REFUSED:
        for send in (w.request, w.curl):
            r = send("POST", f"{API}/setup", {"account": account, "password": pw})
            message = refusal_message(r, pw)
            assert rule in message, f"{pw!r} for {account}: rule not named: {message!r}"
    assert w.curl("GET", f"{API}/identity").json()["setup_required"] is True
    w.setup("admin", PW)
    assert w.curl("GET", f"{API}/identity").json()["setup_required"] is False
    api.assert_secret_nowhere(w, PW, "Moxa2024!", "SerialGate-2024")


def test_dictionary_words_are_refused_through_cracklib(web):
    """PW-3: a dictionary word with a digit, which no built-in rule catches, is refused by
    cracklib (the dictionary comes from cracklib-runtime, installed by scripts/bootstrap)."""
    assert CRACKLIB_DICT.exists(), f"{CRACKLIB_DICT} missing: install cracklib-runtime"
    w = web()
    r = w.request("POST", f"{API}/setup", {"account": "admin", "password": DICTIONARY_WORD})
    message = refusal_message(r, DICTIONARY_WORD)
    assert "dictionary word" in message, message


def test_account_creation_applies_the_same_rules(web_admin):
    """PW-3 on POST /api/v1/accounts (and the account's own name), then a good password works."""
    w, admin = web_admin(password=PW)
    cases = [(pw, "op", rule) for pw, account, rule in REFUSED if account == "admin"
             and rule != "account name"] + [("Op-2024!", "op", "account name"),
                                             ("OPERATOR99", "operator", "account name")]
    for pw, name, rule in cases:
        r = admin.post(f"{API}/accounts", {"name": name, "group": "Operator", "password": pw})
        message = refusal_message(r, pw)
        assert rule in message, f"{pw!r} for {name}: rule not named: {message!r}"
    names = [a["name"] for a in admin.get(f"{API}/accounts").json()]
    assert names == ["admin"], names
    admin.create_account("op", "Op-Rules-Pa55word-z3Ck")
    w.login("op", "Op-Rules-Pa55word-z3Ck")


def test_offline_setup_applies_the_same_rules(gate):
    """`serialgate setup --password-stdin` refuses with the rule on stderr (exit 5)."""
    r = gate.setup_admin(password="Moxa2024!", expect=sgtest.EXIT_REFUSED)
    assert "product name" in r.stderr and "Moxa2024!" not in r.stderr + r.stdout, r.stderr


def test_128_characters_accepted_not_truncated(web):
    """PW-2 verification: 128-character password -> accepted and login with it works; its first
    127 characters -> 401; 129 characters -> 400."""
    w = web()
    long_pw = ("Rule-Pa55-q7Zx-" * 9)[:128]
    assert len(long_pw) == 128
    r = w.request("POST", f"{API}/setup", {"account": "admin", "password": long_pw + "x"})
    assert "at most 128" in refusal_message(r, long_pw)
    w.setup("admin", long_pw)
    w.login("admin", long_pw)
    assert w.login_raw("admin", long_pw[:127]).status == 401, "PW-2: password truncated"
    api.assert_secret_nowhere(w, long_pw[:40])


def test_composed_and_decomposed_spellings_are_one_password(web):
    """PW-2: set in decomposed form (e + U+0301, sent as raw UTF-8), log in with the composed form
    (U+00E9, sent as a JSON escape) and with full-width letters; the reverse for an account."""
    w = web()
    composed = "Caf\u00e9-Rules-Pa55-k4"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed and decomposed.encode() != composed.encode()
    body = ('{"account": "admin", "password": "%s"}' % decomposed).encode("utf-8")
    r = w.request("POST", f"{API}/setup", body)
    assert r.status == 201, r
    admin = w.login("admin", composed)
    w.login("admin", decomposed)
    # Full-width Ｃａｆé...: NFKC maps U+FF23 U+FF41 U+FF46 to "Caf".
    w.login("admin", "\uff23\uff41\uff46\u00e9-Rules-Pa55-k4")
    assert w.login_raw("admin", "Cafe-Rules-Pa55-k4").status == 401  # the accent matters

    admin.create_account("op", "Op-Na\u00efve-Pa55-r2")  # composed ï
    w.login("op", unicodedata.normalize("NFD", "Op-Na\u00efve-Pa55-r2"))
