"""web/test_services.py: services on/off (guide §3.1; device ref. §6; NE-1, NE-10, AU-2) through
the real binary. Each network service has a switch: the HTTPS console/API (https.enabled), the
HTTP→HTTPS redirect (https.http_redirect) and each serial port's listeners, governed by its
operation mode. A service that is off has no socket at all: proven from outside with nmap (TCP
over every port, UDP on the configured ones) and from inside with GET /api/v1/services, which
reports the addresses each service is bound to from the process's live sockets. The data plane
listens on its own loopback address (127.0.0.77) so that nmap sees this serve only, not the
other tests' listeners on 127.0.0.1."""

import functools
import re
import shutil
import subprocess

import pytest

import api
import sgtest
from api import API
from sgtest import serial_settings, tcp_server_port

ADDR = "127.0.0.77"  # system.listen_address of these tests: nothing else listens there

# nmap is a test package of scripts/bootstrap: missing, the environment is broken (fail, not skip).
def needs_nmap(test):
    @functools.wraps(test)  # keeps the signature: pytest still passes the fixtures
    def run(*args, **kwargs):
        assert shutil.which("nmap") is not None, "nmap not installed (scripts/bootstrap --test)"
        return test(*args, **kwargs)
    return run


def nmap(*args):
    p = subprocess.run(["nmap", "-Pn", "-n", "-oG", "-", *args], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def open_tcp_ports(addr):
    """Every TCP port nmap -sT finds open on `addr` (all 65535)."""
    out = nmap("-sT", "-p-", "-T4", addr)
    return {int(m.group(1)) for m in re.finditer(r"(\d+)/open/tcp", out)}


def udp_states(addr, ports):
    out = nmap("-sU", "-p", ",".join(map(str, ports)), addr)
    return {int(m.group(1)): m.group(2) for m in re.finditer(r"(\d+)/([a-z|]+)/udp", out)}


def by_key(doc):
    out = {}
    for s in doc["services"]:
        key = s["name"] if "serial_port" not in s else (s["serial_port"], s["listener"])
        out[key] = s
    return out


class Ports:
    def __init__(self):
        (self.ts, self.ts_cmd, self.rc, self.rc_cmd, self.udp, self.redirect) = \
            sgtest.free_ports(6)

    def config(self):
        echo = serial_settings()
        return [tcp_server_port(1, "sim:echo", self.ts, self.ts_cmd),
                {"port": 2, "device": "sim:loopback", "serial": echo,
                 "mode": {"type": "udp", "local_port": self.udp}},
                {"port": 3, "device": "sim:generator", "serial": echo,
                 "mode": {"type": "disabled"}},
                {"port": 4, "device": "sim:null-modem:s", "serial": echo,
                 "mode": {"type": "real_com", "data_port": self.rc, "command_port": self.rc_cmd}}]


@needs_nmap
def test_each_service_is_switched_and_off_means_no_socket(web_admin):
    p = Ports()
    web, admin = web_admin(p.config(), https={"http_redirect": True, "http_port": p.redirect},
                           system={"listen_address": ADDR})
    gate = web.gate
    gate.wait_listening([p.ts, p.ts_cmd, p.rc, p.rc_cmd, p.redirect])
    sgtest.wait_until(lambda: ("udp", p.udp) in gate.listening(), sgtest.START_TIMEOUT,
                      what="UDP bound")

    doc = admin.ok("GET", f"{API}/services")
    s = by_key(doc)
    assert s["https"]["state"] == "on" and s["https"]["bound"] == [f"127.0.0.1:{web.port}"], s
    assert s["http_redirect"]["bound"] == [f"127.0.0.1:{p.redirect}"], s
    assert s[(1, "local_port")]["bound"] == [f"{ADDR}:{p.ts}"], s
    assert s[(1, "command_port")]["bound"] == [f"{ADDR}:{p.ts_cmd}"], s
    assert s[(2, "local_port")]["transport"] == "udp"
    assert s[(2, "local_port")]["bound"] == [f"{ADDR}:{p.udp}"], s
    assert s[(3, "")]["state"] == "off" and s[(3, "")]["bound"] == [], s
    assert s[(4, "data_port")]["bound"] == [f"{ADDR}:{p.rc}"], s
    assert doc["unexpected"] == [], doc  # every socket serve holds is a listed service
    assert doc["local"][0]["name"] == "control_socket" and doc["local"][0]["network"] is False

    # From inside: exactly the sockets of the services that are on.
    assert gate.listening() == {("tcp", web.port), ("tcp", p.redirect), ("tcp", p.ts),
                                ("tcp", p.ts_cmd), ("tcp", p.rc), ("tcp", p.rc_cmd),
                                ("udp", p.udp)}
    # From outside: the serial listeners answer on the data plane's address, HTTPS (bound to
    # 127.0.0.1) does not. (Other processes' wildcard listeners answer there too: not ours.)
    found = open_tcp_ports(ADDR)
    assert {p.ts, p.ts_cmd, p.rc, p.rc_cmd} <= found, found
    assert not {web.port, p.redirect} & found, found
    states = udp_states(ADDR, [p.udp, p.udp + 1 if p.udp < 65535 else p.udp - 1])
    assert states[p.udp] == "open|filtered", states

    # Switching off: port 1's mode (Serial area), the redirect (Security area, next start).
    port1 = admin.ok("GET", f"{API}/ports/1")
    port1["mode"] = {"type": "disabled"}
    admin.ok("PUT", f"{API}/ports/1", port1)
    r = admin.put_section(f"{API}/https", http_redirect=False)
    assert r.status == 200 and r.json().get("restart_required") is True, r
    # The console you manage from cannot be switched off through itself (409, nothing changed).
    r = admin.put_section(f"{API}/https", enabled=False)
    assert r.status == 409 and r.json()["error"] == "would_lock_out", r
    assert admin.ok("GET", f"{API}/https")["enabled"] is True

    sgtest.wait_until(lambda: p.ts not in gate.tcp_listening(), sgtest.APPLY_TIMEOUT,
                      what="port 1 closed")
    found = open_tcp_ports(ADDR)
    assert {p.rc, p.rc_cmd} <= found and not {p.ts, p.ts_cmd} & found, found
    assert ("tcp", p.ts) not in gate.listening() and ("tcp", p.ts_cmd) not in gate.listening()
    s = by_key(admin.ok("GET", f"{API}/services"))
    assert s[(1, "")]["state"] == "off" and s[(1, "")]["bound"] == [], s

    # AU-2: each change is a Security event with the account and source.
    # (The provisioning file's own event, account-less with the file as source, comes first.)
    def by_admin(ev):
        return [e for e in ev if e["account"] == "admin"]
    events = by_admin(admin.events("type=security.services_changed",
                                   until=lambda ev: len(by_admin(ev)) >= 2))
    assert len(events) == 2, events
    assert all(e["source"].startswith("127.0.0.1") for e in events), events
    text = " | ".join(e["message"] for e in events)
    assert f"port 1 local_port: tcp_server tcp/{p.ts} on {ADDR} -> none" in text, text
    assert "http_redirect: on" in text and "-> off" in text, text
    refused = admin.events("type=system.config_rejected",
                           until=lambda ev: any("would_lock_out" in e["message"] for e in ev))
    assert any("https.enabled false" in e["message"] for e in refused), refused

    # The redirect goes at the next start.
    web.restart()
    assert p.redirect not in gate.tcp_listening()
    admin = web.login()
    s = by_key(admin.ok("GET", f"{API}/services"))
    assert s["http_redirect"]["state"] == "off" and s["http_redirect"]["bound"] == [], s


def test_defaults_are_the_guides_recommended_state(gate):
    """An empty store: HTTPS on (the console), the redirect off, no serial port configured: the
    process holds exactly one network socket."""
    gate.serve()
    web = api.WebGate(gate, gate.https_port)
    web.wait_tls()
    web.setup()
    admin = web.login()
    s = by_key(admin.ok("GET", f"{API}/services"))
    assert s["https"]["enabled"] is True and s["https"]["state"] == "on", s
    assert s["http_redirect"]["enabled"] is False and s["http_redirect"]["bound"] == [], s
    assert set(s) == {"https", "http_redirect"}, s
    assert gate.listening() == {("tcp", gate.https_port)}


def test_https_off_has_no_socket(gate):
    """https.enabled: false (set on the device itself: a file or `config import`) — no socket."""
    (ts,) = sgtest.free_ports(1)
    gate.setup_admin()
    cfg = sgtest.make_config([tcp_server_port(1, "sim:echo", ts, sgtest.free_ports(1)[0])],
                             https={"enabled": False, "http_redirect": True})
    gate.serve(config=cfg, wait_ports=[ts])
    assert gate.https_port not in gate.tcp_listening()
    assert {port for _kind, port in gate.listening()} == {ts, cfg["ports"][0]["mode"]["command_port"]}
