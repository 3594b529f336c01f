"""test_persistence.py: the state store keeps settings and events across restarts, a change is all
or nothing even when serve or `config import` is killed with SIGKILL at a random moment, and SIGHUP
re-reads --config (an invalid file is logged and ignored)."""

import difflib
import random
import re
import signal
import subprocess
import time

import sgtest
from sgtest import (EXIT_OK, Client, assert_rc, make_config, tcp_server_port, wait_until)

KILL_ITERATIONS = 20
BAUDS = [9600, 19200, 38400, 57600, 230400, 460800, 921600, 300]


def diff(a, b):
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "expected", "exported",
                                          lineterm=""))


def canonical_template(gate, free_ports):
    """Imports a one-port document (alias k0, 115200 baud) and returns its export: variants made by
    replacing those two tokens are already in export form, so export can be compared as text."""
    local, command = free_ports(2)
    gate.import_config(make_config([tcp_server_port(1, "sim:echo", local, command, alias="k0")]))
    text = gate.export()
    assert len(re.findall(r"\bk0\b", text)) == 1, text
    assert len(re.findall(r"\b115200\b", text)) == 1, text
    return text, local


def variant(template, i):
    text = re.sub(r"\bk0\b", f"k{i}", template)
    return re.sub(r"\b115200\b", str(BAUDS[i % len(BAUDS)]), text)


def start_import(gate, path):
    return subprocess.Popen([str(sgtest.BINARY), "config", "import", "--data-dir",
                             str(gate.data_dir), str(path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=gate.work)


def test_settings_and_events_survive_restart(admin_gate, free_ports):
    g = admin_gate
    local, command = free_ports(2)
    first = g.serve(config=make_config([tcp_server_port(1, "sim:echo", local, command,
                                                        alias="initial")]), wait_ports=[local])
    c = Client(local)
    peer_port = c.local_port
    c.send(b"persist")
    assert c.recv_exact(7) == b"persist"
    c.close()
    g.wait_event("serial.connected")

    g.import_config(make_config([tcp_server_port(1, "sim:echo", local, command, alias="before")]))
    g.wait_event("maintenance.config_imported")
    g.stop(first)

    g.serve(wait_ports=[local])  # no --config: what is in force comes from the store
    exported = g.export()
    assert "before" in exported and "initial" not in exported, exported
    g.stop()

    connected = g.events("--type", "serial.connected")
    peer = f"127.0.0.1:{peer_port}"
    assert any(peer in f"{e['source']} {e['message']}" for e in connected), (
        f"no serial.connected names the peer {peer} of the first run: {connected}")
    starts = g.events("--type", "system.start")
    assert len(starts) == 2, f"expected system.start twice: {starts}"
    assert len(g.events("--type", "system.stop")) == 2


def test_kill9_serve_during_imports(admin_gate, free_ports):
    """Each `config import` that exited 0 is what the store holds, however serve died."""
    g = admin_gate
    template, local = canonical_template(g, free_ports)
    rnd = random.Random(20240601)
    last_ok = template

    t0 = time.monotonic()
    assert_rc(g.run("config", "import", "--data-dir", g.data_dir,
                    g.write_config(template, "again.yaml")), EXIT_OK)
    import_time = time.monotonic() - t0

    g.serve(wait_ports=[local])
    for i in range(1, KILL_ITERATIONS + 1):
        doc = variant(template, i)
        imp = start_import(g, g.write_config(doc, f"kill-{i}.yaml"))
        time.sleep(rnd.uniform(0, 2 * import_time))
        g.kill9()
        out, _ = imp.communicate(timeout=sgtest.CMD_TIMEOUT)
        assert imp.returncode == EXIT_OK, (
            f"iteration {i}: import exited {imp.returncode} while serve ran/died\n{out.decode()}")
        last_ok = doc
        exported = g.export()
        assert exported == last_ok, f"iteration {i}\n{diff(last_ok, exported)}"
        if rnd.random() < 0.5:
            g.serve(wait_ports=[local])  # the next kill hits a running serve
        else:
            g.serve()  # the next kill may hit serve while it opens the store
            time.sleep(rnd.uniform(0, 0.2))

    g.kill9()
    g.serve(wait_ports=[local])
    assert g.export() == last_ok, diff(last_ok, g.export())
    c = Client(local)
    c.send(b"alive")
    assert c.recv_exact(5) == b"alive"
    c.close()
    g.stop()


def test_kill9_import_is_all_or_nothing(admin_gate, free_ports):
    """An import killed at any moment leaves the old document or the new one, never a mixture."""
    g = admin_gate
    template, local = canonical_template(g, free_ports)
    g.serve(wait_ports=[local])
    rnd = random.Random(4242)

    t0 = time.monotonic()
    g.import_config(g.write_config(variant(template, 1), "v1.yaml"))
    import_time = time.monotonic() - t0
    old = variant(template, 1)
    assert g.export() == old
    committed = 0

    for i in range(2, KILL_ITERATIONS + 2):
        new = variant(template, i)
        path = g.write_config(new, f"v{i}.yaml")
        imp = start_import(g, path)
        time.sleep(rnd.uniform(0, 1.2 * import_time))
        imp.kill()
        imp.communicate(timeout=sgtest.CMD_TIMEOUT)
        exported = g.export()
        assert exported in (old, new), (
            f"iteration {i}: the store holds neither the old nor the new document\n"
            f"--- vs old\n{diff(old, exported)}\n--- vs new\n{diff(new, exported)}")
        if imp.returncode == EXIT_OK:
            assert exported == new, f"iteration {i}: import exited 0 but the store is old"
        check = g.write_config(exported, f"check-{i}.yaml")
        assert_rc(g.run("config", "validate", check), EXIT_OK)
        if exported == new:
            committed += 1
            old = new

    assert g.proc.poll() is None, f"serve died\n{g.stderr_text()}"
    # A final, unkilled import still works and is applied.
    final = variant(template, 99)
    g.import_config(g.write_config(final, "final.yaml"))
    assert g.export() == final
    c = Client(local)
    c.send(b"ok")
    assert c.recv_exact(2) == b"ok"
    c.close()
    g.stop()
    print(f"{committed} of {KILL_ITERATIONS} killed imports had committed")


def test_sighup_rereads_config_and_ignores_an_invalid_one(admin_gate, free_ports):
    g = admin_gate
    local, command = free_ports(2)
    path = g.write_config(make_config([tcp_server_port(1, "sim:echo", local, command,
                                                       alias="one")]), "hup.yaml")
    proc = g.serve(config=path, wait_ports=[local])
    assert "one" in g.export()

    path.write_text(sgtest.to_yaml(make_config([tcp_server_port(1, "sim:echo", local, command,
                                                                alias="two")])) + "\n")
    g.signal(signal.SIGHUP)
    wait_until(lambda: "two" in g.export(), sgtest.APPLY_TIMEOUT, interval=0.2,
               what="SIGHUP to commit the changed --config")
    before = g.export()

    path.write_text(sgtest.to_yaml(make_config([tcp_server_port(1, "sim:echo", local, command,
                                                                max_connections=9)])) + "\n")
    g.signal(signal.SIGHUP)
    g.wait_event("system.config_rejected")
    assert proc.poll() is None, f"serve exited on an invalid SIGHUP config\n{g.stderr_text()}"
    assert g.export() == before
    g.wait_listening([local])
    c = Client(local)
    c.send(b"hup")
    assert c.recv_exact(3) == b"hup"
    c.close()
    g.stop()


def test_concurrent_first_open(gate_factory):
    """Several processes opening a fresh data directory at once (serve starting while a script runs
    `log show`, say) all succeed: creating the schema must not race."""
    for round_ in range(5):
        g = gate_factory(f"fresh-{round_}")
        cmds = [["log", "show", "--data-dir", g.data_dir]] * 4 + \
               [["config", "export", "--data-dir", g.data_dir]] * 4
        procs = [subprocess.Popen([str(sgtest.BINARY), *map(str, c)], cwd=g.work,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for c in cmds]
        for c, p in zip(cmds, procs):
            _, err = p.communicate(timeout=sgtest.CMD_TIMEOUT)
            assert p.returncode == EXIT_OK, (
                f"round {round_}: `{' '.join(map(str, c[:2]))}` exited {p.returncode} on a fresh "
                f"data directory opened concurrently\n{err.decode(errors='replace')}")
