"""web/test_stop_under_api_load.py: SIGTERM while API requests that need the io thread (a port
commit, the port status) are in flight. A request posted to the io thread just as it stops was
dropped with the queue, and its handler used to wait the full 15 s for an answer, holding up the
stop. Now the handler sees the io thread stopped and answers at once (a commit: 409 not_applied,
"SerialGate is stopping"; the status: 503 busy), and serve exits promptly."""

import threading
import time

import api
import sgtest
from api import API

# A clean stop takes well under a second here; the old behaviour took 15 s or more.
STOP_WITHIN = 8.0
ROUNDS = 3
WRITERS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")  # one source each: per-source rate limits


def test_sigterm_during_commits_and_status_stops_promptly(gate):
    for round_ in range(ROUNDS):
        p1, c1 = sgtest.free_ports(2)
        web = api.start(gate, [sgtest.tcp_server_port(1, "sim:echo", p1, c1)])
        if round_ == 0:  # the same data directory every round
            web.setup("admin", sgtest.ADMIN_PASSWORD)
        sessions = [web.login(source=src) for src in WRITERS]
        for s in sessions:
            s.ok("POST", f"{API}/session/reauth", {"password": sgtest.ADMIN_PASSWORD})
        done = threading.Event()
        answers = []

        def load(s, n=[0]):
            while not done.is_set():
                try:
                    n[0] += 1
                    r = s.put_section(f"{API}/ports/1", alias=f"r{round_}-{n[0]}")
                    answers.append(r.status)
                    answers.append(s.get(f"{API}/status").status)
                except Exception:  # the server went away mid-request: expected at the end
                    time.sleep(0.01)

        threads = [threading.Thread(target=load, args=(s,), daemon=True) for s in sessions]
        for t in threads:
            t.start()
        sgtest.wait_until(lambda: answers.count(200) >= 6, 20, what="commits under way")
        t0 = time.monotonic()
        gate.stop(timeout=30)
        took = time.monotonic() - t0
        done.set()
        for t in threads:
            t.join(10)
        assert took < STOP_WITHIN, (f"round {round_ + 1}: serve took {took:.1f} s to stop with "
                                    f"API requests in flight\n{gate.stderr_text(gate.proc)}")
        assert 500 not in answers, f"a request was answered 500 during the stop: {answers}"
