"""web/test_event_retention.py: Security events outlive a full log (issue 14 item 8; AU-3, AU-4)
through the real binary. The rate limit of connection events (test_event_flood.py) is per source
address, so a stranger with many addresses still writes rows: here 1,000 loopback addresses
(127.0.1.0 ..) connect 6 times each, every event written one by one, 12,000 Serial rows in all.
The log overflows; the administrator's earlier Security events must still be listed, the
overwritten rows counted per category in GET /api/v1/event-log/status, the "90 % full" Warning
written, and the count must survive kill -9 (read back with `serialgate log status`).
"""

import json
import threading
import time

import sgtest
from api import API
from sgtest import EXIT_OK, assert_rc, tcp_server_port, wait_until
from test_event_flood import connect_flood, earlier_security_events

# The event limiter keys (type, port, source) and tracks at most 1024 keys (events/rate_limit.h);
# beyond, sources share one key per type and their events go into summaries, not rows. 700
# sources × "connected" leave 324 keys for sources that are also refused at max_connections (a
# key of their own, more of them on a loaded machine); 700 × 10 × 2 rows (connected,
# disconnected) fill the log of 10,000 even when a quarter of the connections is refused.
ADDRESSES = [f"127.0.{1 + i // 250}.{i % 250 + 1}" for i in range(700)]
CONNECTS_PER_ADDRESS = 10  # the per-source burst of 10: each one is a row
WRONG = "Wrong-Retain-Pa55word-t4Kd"


def connect_close(port, addresses, n, failures):
    for a in addresses:
        connect_flood(port, a, n, failures)


def test_security_events_survive_a_full_log_and_overwrites_are_counted(gate, web_admin):
    local, command = sgtest.free_ports(2)
    web, admin = web_admin(
        ports=[tcp_server_port(1, "sim:echo", local, command, max_connections=8)])
    gate.wait_listening([local], timeout=sgtest.APPLY_TIMEOUT)
    earliest = earlier_security_events(web, admin, WRONG)

    failures = []
    # Two clients at a time against max_connections 8: few refusals (each refused source takes a
    # key of the limiter's table).
    chunks = [ADDRESSES[i::2] for i in range(2)]
    threads = [threading.Thread(target=connect_close,
                                args=(local, c, CONNECTS_PER_ADDRESS, failures)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
    total = len(ADDRESSES) * CONNECTS_PER_ADDRESS

    def all_counted():
        p = sgtest.monitor(gate, 1)
        return p if p["counters"]["connections"] + p["counters"]["refused"] >= total else None
    wait_until(all_counted, sgtest.APPLY_TIMEOUT * 3, interval=0.2,
               what="every connection counted by the port monitor")

    # Item 8: the log is full of Serial rows, yet the earlier Security events are listed.
    listed = admin.get(f"{API}/events?category=security&limit=10000").json()
    ids = {e["id"] for e in listed}
    assert set(earliest) <= ids, (
        f"Security events of before the flood are gone: {earliest}; oldest Security events now: "
        f"{listed[:3]}")
    # The port counts a connection at accept; its events (connected, then disconnected) reach the
    # store a little later, the more so with the ports on their own io threads.
    def full():
        rows = admin.get(f"{API}/events?limit=10000").json()
        return rows if len(rows) == 10000 else None
    everything = wait_until(full, sgtest.APPLY_TIMEOUT * 3, interval=0.2, what="a full log")
    # AU-3: the "log 90 % full" Warning (written at 9,000 rows, newer than what was dropped).
    assert [e for e in everything if e["type"] == "system.event_log_nearly_full"], everything[:2]

    # AU-3: what was overwritten is counted, per category; stable once the flood's rows are in.
    def settled():
        a = admin.get(f"{API}/event-log/status")
        assert a.status == 200, a
        time.sleep(0.5)
        b = admin.get(f"{API}/event-log/status").json()
        return b if a.json() == b else None
    status = wait_until(settled, sgtest.APPLY_TIMEOUT * 2, interval=0.1, what="a settled log")
    assert status["capacity"] == 10000 and status["kept"]["total"] == 10000, status
    assert status["kept"]["security"] >= 2, status
    assert status["overwritten"]["security"] == 0, status
    # Every row ever written has its id (1, 2, …): what is not kept was overwritten, and counted.
    # (Not 2 × total: connection events are rate-limited per source, so fewer rows than
    # connections × 2 may be written.)
    newest = max(e["id"] for e in admin.get(f"{API}/events?limit=10000").json())
    assert status["overwritten"]["total"] == newest - 10000, (status, newest)
    assert status["overwritten"]["serial"] >= 1, status
    assert status["overwritten"]["total"] == sum(
        v for k, v in status["overwritten"].items() if k != "total"), status

    # The count is in the store: kill -9, then the CLI reads the same numbers.
    web.close_connections()
    gate.kill9()
    r = assert_rc(gate.run("log", "status", "--data-dir", gate.data_dir, "--format", "json"),
                  EXIT_OK)
    assert json.loads(r.stdout) == status, r.stdout
    text = assert_rc(gate.run("log", "status", "--data-dir", gate.data_dir), EXIT_OK).stdout
    assert f"{status['overwritten']['total']}" in text and "Security" in text, text
