"""test_cli.py: the command-line contract of docs/cli.md: subcommands, --help, exit codes, config
validation with file:line:column: path, all-or-nothing import, export round trip, setup, and the
permissions of the data directory."""

import re
import stat

import pytest

import sgtest
from sgtest import (EXIT_INVALID, EXIT_OK, EXIT_REFUSED, EXIT_STORE, EXIT_USAGE, assert_rc,
                    describe, make_config, tcp_server_port)

# A valid document in block style, one setting per line, so that line numbers are unambiguous.
GOOD = """\
system:
  device_name: SerialGate
  listen_address: 127.0.0.1
ports:
  - port: 1
    alias: meter
    device: sim:echo
    serial:
      baud: 115200
      data_bits: 8
      parity: none
      stop_bits: 1
      flow_control: none
    mode:
      type: tcp_server
      local_port: 4001
      command_port: 966
      max_connections: 4
      delimiter_process: do_nothing
"""


def with_line(line_no, text, doc=GOOD):
    lines = doc.split("\n")
    lines[line_no - 1] = text
    return "\n".join(lines)


# (id, document, line, field path or None for YAML syntax errors, message fragment or None)
BAD_FILES = [
    ("syntax-map-value", with_line(6, "    alias: a: b"), 6, None, None),
    ("syntax-indent", with_line(3, "   listen_address: 127.0.0.1"), 3, None, None),
    ("syntax-flow-end", with_line(16, "      local_port: [4001]]"), 16, None, None),
    ("syntax-trailing-text", with_line(13, "      flow_control: 'none' x"), 13, None, None),
    ("syntax-undefined-alias", with_line(16, "      local_port: *x"), 16, None, None),
    ("range-max-connections", with_line(18, "      max_connections: 9"), 18,
     "ports[0].mode.max_connections", None),
    ("range-baud", with_line(9, "      baud: 921601"), 9, "ports[0].serial.baud", None),
    ("range-local-port", with_line(16, "      local_port: 0"), 16, "ports[0].mode.local_port",
     None),
    ("not-an-integer", with_line(10, "      data_bits: eight"), 10, "ports[0].serial.data_bits",
     None),
    ("unknown-key", with_line(10, "      databits: 8"), 10, "ports[0].serial.databits", None),
    ("unknown-key-system", with_line(2, "  devicename: x"), 2, "system.devicename", None),
    ("bad-enum-parity", with_line(11, "      parity: evn"), 11, "ports[0].serial.parity", None),
    ("bad-enum-delimiter-process", with_line(19, "      delimiter_process: strip"), 19,
     "ports[0].mode.delimiter_process", None),
    ("stop-bits-1.5-needs-5-data-bits", with_line(12, "      stop_bits: 1.5"), 12,
     "ports[0].serial.stop_bits", None),
    ("unknown-mode", with_line(15, "      type: telnet"), 15, "ports[0].mode.type",
     "is not one of"),
    ("second-port", GOOD + """\
  - port: 2
    device: sim:loopback
    mode:
      type: tcp_server
      local_port: 4002
      command_port: 967
      max_connections: 0
""", 26, "ports[1].mode.max_connections", None),
]


def problem_regex(path, line, field):
    field_part = re.escape(field) + ":" if field else ""
    return re.escape(str(path)) + rf":{line}:\d+: " + field_part


def good_config(free_ports, alias="meter", baud=115200):
    local, command = free_ports(2)
    return make_config([tcp_server_port(1, "sim:echo", local, command, alias=alias,
                                        serial=sgtest.serial_settings(baud=baud))])


# ---------------------------------------------------------------- version, help, usage errors


def test_version(sg_binary):
    r = assert_rc(sgtest.run("version"), EXIT_OK)
    assert re.fullmatch(r"serialgate \d+\.\d+\.\d+\s*", r.stdout), describe(r)


@pytest.mark.parametrize("cmd", [
    [], ["serve"], ["setup"], ["config"], ["config", "validate"], ["config", "export"],
    ["config", "import"], ["log"], ["log", "show"], ["version"],
], ids=lambda c: "-".join(c) or "top")
def test_help_exits_0(sg_binary, cmd):
    r = assert_rc(sgtest.run(*cmd, "--help"), EXIT_OK)
    assert r.stdout.strip(), f"--help printed nothing on stdout\n{describe(r)}"


@pytest.mark.parametrize("args", [
    ["--no-such-option"],
    ["no-such-command"],
    ["serve", "--data-dir", "{d}", "--no-such-option"],
    ["setup", "--data-dir", "{d}", "--admin", "admin", "--password-stdin", "--bogus"],
    ["config", "export", "--data-dir", "{d}", "--bogus"],
    ["config", "validate"],  # missing FILE
    ["log", "show", "--data-dir", "{d}", "--limit"],  # missing value
    ["serve", "--data-dir"],  # missing value
], ids=lambda a: " ".join(a))
def test_usage_errors_exit_2(gate, args):
    r = gate.run(*[a.replace("{d}", str(gate.data_dir)) for a in args], input="")
    assert_rc(r, EXIT_USAGE)


# ---------------------------------------------------------------- config validate


def test_validate_good_file(gate):
    path = gate.write_config(GOOD, "good.yaml")
    r = assert_rc(gate.run("config", "validate", path), EXIT_OK)
    assert f"{path}: OK" in r.stdout, describe(r)


def test_validate_every_setting(gate, free_ports):
    local, command = free_ports(2)
    cfg = make_config(
        [tcp_server_port(1, "sim:loopback", local, command, alias="a" * 16,
                         serial=sgtest.serial_settings(baud=50, data_bits=5, parity="mark",
                                                       stop_bits="1.5", flow_control="xon_xoff",
                                                       interface="rs232"),
                         max_connections=8, ignore_jammed_ip=True, allow_driver_control=True,
                         tcp_alive_check_min=99, inactivity_time_ms=65535, packing_length=1024,
                         delimiter_1="0x0d", delimiter_2="0x0a",
                         delimiter_process="strip_delimiter", force_transmit_ms=65535),
         {"port": 2, "device": "sim:generator:100"},  # no mode: real_com
         {"port": 3, "device": "sim:null-modem:v", "mode": {"type": "disabled"}},
         {"port": 4, "device": "sim:null-modem:v", "mode": {"type": "real_com"}}],
        system={"location": "lab", "description": "d", "contact": "c"},
        password_policy={"min_length": 12, "strength_check": True, "require_digit": False,
                         "require_mixed_case": False, "require_special": False,
                         "lifetime_days": 0, "force_change_at_expiry": True},
    )
    path = gate.write_config(cfg, "every.yaml")
    r = gate.run("config", "validate", path)
    assert_rc(r, EXIT_OK)


@pytest.mark.parametrize("doc,line,field,fragment", [c[1:] for c in BAD_FILES],
                         ids=[c[0] for c in BAD_FILES])
def test_validate_bad_file(gate, doc, line, field, fragment):
    path = gate.write_config(doc, "bad.yaml")
    r = assert_rc(gate.run("config", "validate", path), EXIT_INVALID)
    assert re.search(problem_regex(path, line, field), r.stderr), (
        f"stderr does not name {path}:{line}:<column>: {field or ''}\n{describe(r)}")
    if fragment:
        assert fragment in r.stderr, describe(r)


def test_validate_reports_every_problem(gate):
    doc = with_line(9, "      baud: 0", with_line(11, "      parity: evn"))
    path = gate.write_config(doc, "two.yaml")
    r = assert_rc(gate.run("config", "validate", path), EXIT_INVALID)
    assert re.search(problem_regex(path, 9, "ports[0].serial.baud"), r.stderr), describe(r)
    assert re.search(problem_regex(path, 11, "ports[0].serial.parity"), r.stderr), describe(r)


def test_validate_cross_field_duplicate_listener(gate):
    doc = GOOD + "  - port: 2\n    device: sim:loopback\n    mode:\n      type: tcp_server\n" \
                 "      local_port: 4001\n      command_port: 967\n"
    path = gate.write_config(doc, "dup.yaml")
    r = assert_rc(gate.run("config", "validate", path), EXIT_INVALID)
    assert "ports[1].mode.local_port" in r.stderr, describe(r)


def test_validate_missing_file(gate):
    r = gate.run("config", "validate", gate.work / "no-such.yaml")
    assert r.returncode in (EXIT_INVALID, sgtest.EXIT_RUNTIME), describe(r)
    assert r.returncode != EXIT_OK


# ---------------------------------------------------------------- import / export / serve --config


def test_serve_with_bad_config_exits_3_and_changes_nothing(admin_gate, free_ports):
    g = admin_gate
    g.import_config(good_config(free_ports, alias="kept"))
    before = g.export()
    bad = g.write_config(with_line(18, "      max_connections: 9"), "bad.yaml")
    proc = g.serve(config=bad)
    rc = g.wait_exit(proc)
    assert rc == EXIT_INVALID, f"serve --config bad.yaml exited {rc}\n{g.stderr_text(proc)}"
    out = g.stderr_text(proc)
    assert re.search(problem_regex(bad, 18, "ports[0].mode.max_connections"), out), out
    assert g.export() == before


def test_import_bad_file_exits_3_and_changes_nothing(gate, free_ports):
    gate.import_config(good_config(free_ports, alias="kept"))
    before = gate.export()
    # Valid first port, broken second one: nothing of the document may be applied.
    l1, c1, l2, c2 = free_ports(4)
    doc = make_config([
        tcp_server_port(1, "sim:echo", l1, c1, alias="changed"),
        tcp_server_port(2, "sim:loopback", l2, c2, max_connections=9),
    ])
    path = gate.write_config(doc, "bad-import.yaml")
    r = assert_rc(gate.run("config", "import", "--data-dir", gate.data_dir, path), EXIT_INVALID)
    assert "ports[1].mode.max_connections" in r.stderr, describe(r)
    for bad_text in (with_line(6, "    alias: a: b"), with_line(15, "      type: udp")):
        p = gate.write_config(bad_text, "bad2.yaml")
        assert_rc(gate.run("config", "import", "--data-dir", gate.data_dir, p), EXIT_INVALID)
    assert gate.export() == before


def test_export_import_export_round_trip(gate, free_ports):
    l1, c1, l2, c2 = free_ports(4)
    cfg = make_config(
        [tcp_server_port(1, "sim:echo", l1, c1, alias="rich",
                         serial=sgtest.serial_settings(baud=38400, data_bits=7, parity="even",
                                                       stop_bits=2, flow_control="rts_cts",
                                                       interface="rs422"),
                         max_connections=5, ignore_jammed_ip=True, allow_driver_control=True,
                         tcp_alive_check_min=3, inactivity_time_ms=1234, packing_length=16,
                         delimiter_1="0x0d", delimiter_2="0x0a",
                         delimiter_process="delimiter_plus_2", force_transmit_ms=77),
         tcp_server_port(2, "sim:null-modem:rt", l2, c2),
         {"port": 3, "device": "sim:null-modem:rt"},
         {"port": 4, "device": "sim:loopback", "mode": {"type": "disabled"}}],
        system={"device_name": "RoundTrip", "location": "Rack 7", "description": "a: b # c",
                "contact": "ops@example.org"},
        password_policy={"min_length": 10, "lifetime_days": 30},
        event_log={"types": {"serial.connected": False}},
    )
    gate.import_config(cfg)
    first = gate.export()
    for value in ("RoundTrip", "Rack 7", "a: b # c", "ops@example.org", "rich", "38400",
                  "rts_cts", "rs422", "delimiter_plus_2", "1234", str(l1), str(c2)):
        assert value in first, f"{value!r} missing from the export:\n{first}"
    path = gate.write_config(first, "exported.yaml")
    assert_rc(gate.run("config", "validate", path), EXIT_OK)
    gate.import_config(path)
    second = gate.export()
    assert second == first
    out = gate.work / "out.yaml"
    assert_rc(gate.run("config", "export", "--data-dir", gate.data_dir, "--output", out), EXIT_OK)
    assert out.read_text() == first


def test_import_switching_an_audit_type_off_is_recorded_first(gate):
    """Issue 14 item 7 (AU-3): `config import` belongs to whoever owns the data directory, but
    switching off a type that records administrators' actions is still recorded, as
    security.policy_changed under the settings in force before, even when the change switches
    policy_changed itself off."""
    off = {"security.account_created": False, "security.policy_changed": False}
    gate.import_config(make_config([], event_log={"types": off}))
    changed = gate.events("--type", "security.policy_changed")
    assert len(changed) == 1, changed
    assert "security.account_created off" in changed[0]["message"], changed
    assert "security.policy_changed off" in changed[0]["message"], changed
    assert changed[0]["source"] == "cli", changed
    gate.import_config(make_config([], event_log={"types": off}))  # no change: nothing recorded
    # Back on: recorded under the settings before it, in which policy_changed was off.
    gate.import_config(make_config([]))
    assert len(gate.events("--type", "security.policy_changed")) == 1


# ---------------------------------------------------------------- setup


def test_setup_password_too_short_is_refused(gate):
    r = gate.setup_admin(password="Ab1!x", expect=EXIT_REFUSED)
    assert r.stderr.strip(), f"refusal names no rule\n{describe(r)}"
    gate.setup_admin()  # the refused attempt created nothing


def test_setup_only_once(gate):
    gate.setup_admin()
    r = gate.setup_admin(name="second", expect=EXIT_REFUSED)
    assert r.stderr.strip(), describe(r)
    gate.setup_admin(name="admin", expect=EXIT_REFUSED)


def test_setup_missing_password_on_stdin(gate):
    r = gate.run("setup", "--data-dir", gate.data_dir, "--admin", "admin", "--password-stdin",
                 input="")
    assert r.returncode not in (EXIT_OK,), describe(r)
    gate.setup_admin()


def test_setup_password_line_without_newline_and_over_long(gate):
    """The password is one line of standard input: the end of input ends it too (no newline
    needed), a carriage return before the newline is not part of it, and a line over 4096 bytes
    is refused as such (not read in part), creating nothing."""
    r = gate.run("setup", "--data-dir", gate.data_dir, "--admin", "admin", "--password-stdin",
                 input="x" * 5000 + "\n")
    assert_rc(r, EXIT_INVALID)
    assert "longer than 4096 bytes" in r.stderr, describe(r)
    r = gate.run("setup", "--data-dir", gate.data_dir, "--admin", "admin", "--password-stdin",
                 input=sgtest.ADMIN_PASSWORD + "\r\n")
    assert_rc(r, EXIT_OK)
    gate2 = sgtest.Gate(gate.work / "second")
    r = gate2.run("setup", "--data-dir", gate2.data_dir, "--admin", "admin", "--password-stdin",
                  input=sgtest.ADMIN_PASSWORD)
    assert_rc(r, EXIT_OK)


# ---------------------------------------------------------------- the data directory


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_data_dir_private(gate, free_ports, umask):
    """DIR is created 0700, the store and its companions 0600, whatever the umask."""
    r = gate.run("setup", "--data-dir", gate.data_dir, "--admin", "admin", "--password-stdin",
                 input=sgtest.ADMIN_PASSWORD + "\n", umask=umask)
    assert_rc(r, EXIT_OK)
    local, command = free_ports(2)
    cfg = make_config([tcp_server_port(1, "sim:echo", local, command)])
    path = gate.write_config(cfg)
    r = gate.run("config", "import", "--data-dir", gate.data_dir, path, umask=umask)
    assert_rc(r, EXIT_OK)
    gate.serve(wait_ports=[local], umask=umask)
    sgtest.Client(local).close()
    gate.wait_event("serial.connected")
    found = check_private(gate.data_dir)
    gate.stop()
    found += check_private(gate.data_dir)
    assert any(p.name == "serialgate.db" for p in found), f"no serialgate.db in {found}"


def check_private(root):
    mode = stat.S_IMODE(root.stat().st_mode)
    assert mode == 0o700, f"{root} is {mode:04o}, expected 0700"
    files = []
    for p in root.rglob("*"):
        st = p.lstat()
        m = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            assert m == 0o700, f"{p} is {m:04o}, expected 0700"
        elif stat.S_ISREG(st.st_mode):
            assert m == 0o600, f"{p} is {m:04o}, expected 0600"
            files.append(p)
    return files


def test_data_dir_not_a_directory_exits_4(gate):
    gate.work.joinpath("data").write_text("not a directory\n")
    for args in (["config", "export", "--data-dir", gate.data_dir],
                 ["log", "show", "--data-dir", gate.data_dir],
                 ["serve", "--data-dir", gate.data_dir]):
        r = gate.run(*args, timeout=sgtest.START_TIMEOUT)
        assert_rc(r, EXIT_STORE)


def test_corrupt_store_exits_4(gate):
    gate.setup_admin()
    db = gate.data_dir / "serialgate.db"
    assert db.is_file(), f"no store at {db}: {list(gate.data_dir.iterdir())}"
    for companion in gate.data_dir.glob("serialgate.db-*"):
        companion.unlink()
    db.write_bytes(b"this is not an SQLite database\n" * 512)
    for args in (["config", "export", "--data-dir", gate.data_dir],
                 ["log", "show", "--data-dir", gate.data_dir],
                 ["serve", "--data-dir", gate.data_dir]):
        r = gate.run(*args, timeout=sgtest.START_TIMEOUT)
        assert_rc(r, EXIT_STORE)


def test_second_serve_on_same_data_dir_exits_4(admin_gate, free_ports):
    g = admin_gate
    local, command = free_ports(2)
    g.import_config(make_config([tcp_server_port(1, "sim:echo", local, command)]))
    first = g.serve(wait_ports=[local])
    second = g.serve()
    rc = g.wait_exit(second, timeout=sgtest.START_TIMEOUT)
    assert rc == EXIT_STORE, f"second serve exited {rc}\n{g.stderr_text(second)}"
    assert first.poll() is None and local in g.tcp_listening(first), "the first serve suffered"
    g.stop(first)


@pytest.mark.parametrize("level", ["debug", "error"])
def test_serve_log_level_option(gate, level):
    """docs/cli.md: `serve --data-dir DIR [--config FILE] [--log-level LEVEL]`."""
    proc = gate.serve(args=["--log-level", level])
    gate.wait_event("system.data_plane_off", timeout=sgtest.START_TIMEOUT)
    assert proc.poll() is None, f"serve exited {proc.returncode}\n{gate.stderr_text()}"
    gate.stop()
