"""test_dos_config.py: the DoS bounds of the management plane are settings (`https.dos`; NE-5 "on
by default with these defaults (configurable)"). Through the real binary: a small per-source
connection cap given at start closes the 4th connection from 127.0.0.2 at once while 127.0.0.3 is
served; a low per-session request rate answers 429 long before the default (50/s, burst 100)
would, also when lowered through the API on a running serve (it applies at once); a shorter
Argon2id wait answers 503 where the default 2 s would have waited; a bad value is refused with the
key and its range, at start and through the API, and the old configuration stays. The server's own
bounds (connections, handshakes, sizes, timeouts) apply at the next start, like every other
`https` setting. Helpers and the flood/measure sources are test_dos.py's.
"""

import socket
import ssl
import threading
import time

import pytest

import sgtest
import api
from api import API, LOOPBACK
from test_dos import FLOOD, MEASURE, closed_by_peer, counters, tls_connect

HTTPS = f"{API}/https"


def identity_ok(web, source=MEASURE):
    r = web.get(f"{API}/identity", source=source)
    return r.status == 200


def fourth_connection_closed_at_once(web, cap):
    """Opens `cap` TLS connections from FLOOD (kept open), then one more plain TCP connection;
    returns (whether the server closed that one at once, the open TLS sockets)."""
    held = []
    for _ in range(cap):
        t = tls_connect(web.port, FLOOD)
        assert t is not None, f"TLS connection {len(held) + 1} of {cap} from {FLOOD} refused"
        held.append(t)
    extra = socket.socket()
    extra.bind((FLOOD, 0))
    extra.connect((LOOPBACK, web.port))
    time.sleep(0.5)  # accepted and (when over the cap) closed by now
    closed = closed_by_peer(extra)
    extra.close()
    return closed, held


def test_per_source_cap_from_config_closes_the_fourth_connection(web_admin):
    web, admin = web_admin(https={"dos": {"max_connections_per_source": 3}})
    closed, held = fourth_connection_closed_at_once(web, 3)
    try:
        assert closed, "a 4th connection from one source stayed open with max_connections_per_source 3"
        assert identity_ok(web), f"{MEASURE} was not served while {FLOOD} held its 3"
        refused = counters(admin)["connections"]["refused"]
        assert refused["source_cap"] >= 1, refused
    finally:
        for t in held:
            t.close()


def test_per_source_cap_change_through_the_api_applies_at_the_next_start(web_admin):
    web, admin = web_admin()
    r = admin.put_section(HTTPS, dos={"max_connections_per_source": 3})
    assert r.status == 200, r
    assert r.json().get("restart_required") is True, r
    assert admin.get(HTTPS).json()["dos"]["max_connections_per_source"] == 3
    # Still 16 in the running server: a 4th connection is served.
    closed, held = fourth_connection_closed_at_once(web, 3)
    for t in held:
        t.close()
    assert not closed, "the running server took the new cap without a restart"
    web.restart()
    closed, held = fourth_connection_closed_at_once(web, 3)
    try:
        assert closed, "after the restart a 4th connection from one source stayed open"
        assert identity_ok(web)
    finally:
        for t in held:
            t.close()


def flood_session(web, session, n=30):
    """`n` requests of `session` on one connection from FLOOD, as fast as they go; returns
    ([Response], seconds)."""
    conn = web.connection(FLOOD)
    t0 = time.monotonic()
    try:
        out = [web.request("GET", f"{API}/session", cookie=session.cookie, conn=conn)
               for _ in range(n)]
    finally:
        conn.close()
    return out, time.monotonic() - t0


def check_session_limited(answers, elapsed, rate, burst):
    statuses = [r.status for r in answers]
    assert set(statuses) <= {200, 429}, statuses
    ok = statuses.count(200)
    # The default (burst 100) would have answered all of them 200.
    assert 429 in statuses, f"no 429 in {len(statuses)} requests of one session"
    assert burst <= ok <= burst + rate * elapsed + 1, (ok, elapsed, statuses)
    for r in answers:
        if r.status == 429:
            assert r.error_code() == "too_many_requests"
            assert int(r.header("Retry-After")) >= 1


def test_low_session_rate_from_config_answers_429_sooner(web_admin):
    web, admin = web_admin(https={"dos": {"requests_per_second_per_session": 2,
                                          "request_burst_per_session": 5}})
    flooded = web.login("admin", source=FLOOD)
    answers, elapsed = flood_session(web, flooded)
    check_session_limited(answers, elapsed, rate=2, burst=5)
    # It was the session's bucket, not the source's; the admin session still gets its answer.
    c = counters(admin)
    assert c["requests"]["too_many_requests"]["session"] == [r.status for r in answers].count(429)
    assert c["requests"]["too_many_requests"]["source"] == 0, c


def test_session_rate_lowered_through_the_api_applies_at_once(web_admin):
    web, admin = web_admin()
    flooded = web.login("admin", source=FLOOD)
    before, _ = flood_session(web, flooded, n=30)
    assert {r.status for r in before} == {200}, "the default bucket (burst 100) refused"
    r = admin.put_section(HTTPS, dos={"requests_per_second_per_session": 2,
                                      "request_burst_per_session": 5})
    assert r.status == 200, r
    assert "restart_required" not in r.json(), r.json()  # only keys that apply at once changed
    answers, elapsed = flood_session(web, flooded)  # no restart
    check_session_limited(answers, elapsed, rate=2, burst=5)


def test_short_argon2_wait_answers_503_where_the_default_would_wait(web_admin):
    web, admin = web_admin(https={"dos": {"argon2_parallel": 1, "argon2_max_wait_ms": 100}},
                           login={"max_web_sessions": 10, "max_sessions_per_account": 10})
    t0 = time.monotonic()
    web.login("admin", source=MEASURE)
    if time.monotonic() - t0 < 0.06:
        pytest.skip("one Argon2id run here is too fast to outlast a 100 ms wait reliably")
    # Logins at once from four sources: both handler threads run one, the second waits for the
    # only slot while the first hashes (~0.1 s and more). The default wait (2 s) would serve all.
    sources = [f"127.0.0.{i}" for i in range(4, 8)]
    seen = []
    for _round in range(5):
        answers = {}

        def login(source):
            answers[source] = web.login_raw("admin", sgtest.ADMIN_PASSWORD, source=source)

        threads = [threading.Thread(target=login, args=(s,)) for s in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen += [r.status for r in answers.values()]
        busy = [r for r in answers.values() if r.status == 503]
        if busy:
            assert busy[0].error_code() == "overloaded"
            assert busy[0].header("Retry-After") == "1"
            break
    assert 503 in seen, f"logins at once with one slot and a 100 ms wait: {seen}"
    assert set(seen) <= {200, 429, 503}, seen  # 429: the session cap, once 10 are open
    assert counters(admin)["requests"]["overloaded"]["argon2"] >= 1


@pytest.mark.parametrize("dos, problem", [
    ({"max_connections_per_source": 0}, "https.dos.max_connections_per_source: 0 is outside 1..1024"),
    ({"max_connections": 8, "max_connections_per_source": 9},
     "https.dos.max_connections_per_source: 9 is above max_connections (8)"),
    ({"header_timeout_s": 601}, "https.dos.header_timeout_s: 601 is outside 1..600"),
])
def test_bad_value_refused_at_start(gate, dos, problem):
    (port,) = sgtest.free_ports(1)
    cfg = sgtest.make_config([], https={"enabled": True, "listen_address": LOOPBACK, "dos": dos})
    path = gate.write_config(cfg)
    r = gate.run("serve", "--data-dir", gate.data_dir, "--config", path, "--https-port", port,
                 timeout=30)
    sgtest.assert_rc(r, sgtest.EXIT_INVALID)
    assert problem in r.stderr, r.stderr
    assert "refused; nothing applied" in r.stderr, r.stderr


def test_bad_value_refused_through_the_api_and_the_old_config_stays(web_admin):
    web, admin = web_admin(https={"dos": {"request_burst_per_session": 120}})
    before = admin.get(HTTPS).json()
    assert before["dos"]["request_burst_per_session"] == 120
    assert before["dos"]["argon2_parallel"] == "auto"
    r = admin.put_section(HTTPS, dos={"request_burst_per_session": 120, "body_bytes": 512})
    assert r.status == 400, r
    body = r.json()
    assert body["error"] == "invalid_config"
    assert {"path": "https.dos.body_bytes", "message": "512 is outside 1024..16777216"} in \
        body["problems"], body
    r = admin.put(f"{API}/config", {**admin.get(f"{API}/config").json(),
                                    "https": {**before, "dos": {"argon2_parallel": 0}}})
    assert r.status == 400, r
    assert r.json()["problems"][0]["path"] == "https.dos.argon2_parallel", r.json()
    assert admin.get(HTTPS).json() == before
    # ... also after a restart: nothing of the refused documents was stored.
    web.restart()
    admin = web.login("admin")
    assert admin.get(HTTPS).json() == before


def tls_closed_by_peer(t):
    """True when the server has closed (close_notify, FIN or reset) this idle TLS connection."""
    t.setblocking(False)
    try:
        return t.recv(1) == b""
    except ssl.SSLWantReadError:
        return False
    except OSError:
        return True


def test_full_connection_cap_makes_room_for_the_admin(web):
    """Issue 14 item 9 (NE-5): two sources holding every connection (max_connections 8, 4 each)
    no longer lock the administrator out before TLS. The newcomer from a source holding fewer
    gets in: the oldest connection of the source holding the most is closed (counted as
    connections.evicted). A source over its own cap is still refused."""
    # Long header and handshake deadlines: only an eviction closes a held connection here.
    w = web(https={"dos": {"max_connections": 8, "max_connections_per_source": 4,
                           "header_timeout_s": 300, "handshake_timeout_s": 300}})
    w.setup("admin", sgtest.ADMIN_PASSWORD)
    w.close_connections()
    time.sleep(0.5)  # the setup's connection is gone from the server's count
    held = []
    try:
        for source in (FLOOD, MEASURE):
            for _ in range(4):
                t = tls_connect(w.port, source)
                assert t is not None, f"connection {len(held) + 1} of 8 refused"
                held.append(t)
        try:
            r = w.login_raw("admin", sgtest.ADMIN_PASSWORD)
        except (OSError, ssl.SSLError) as e:
            raise AssertionError(f"the administrator was refused at the full cap: {e!r}") from None
        assert r.status == 200, r
        admin = api.Session(w, r, "admin")
        c = counters(admin)["connections"]
        assert c["evicted"] >= 1 and c["active"] <= 8 + 1, c
        gone = [t for t in held if tls_closed_by_peer(t)]
        deadline = time.monotonic() + 5
        while not gone and time.monotonic() < deadline:
            time.sleep(0.1)
            gone = [t for t in held if tls_closed_by_peer(t)]
        assert gone, "no connection of the two full sources was closed"
        # The per-source cap still refuses a source at its own cap, whatever the global room.
        extra = socket.socket()
        extra.bind((MEASURE if gone[0] in held[:4] else FLOOD, 0))
        extra.connect((LOOPBACK, w.port))
        time.sleep(0.5)
        refused = closed_by_peer(extra)
        extra.close()
        assert refused, "a 5th connection of a source at its cap of 4 was served"
    finally:
        for t in held:
            t.close()
