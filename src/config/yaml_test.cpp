#include "config/yaml.h"

#include <gtest/gtest.h>

#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sg::config {
namespace {

constexpr const char* kGood = R"(system:
  device_name: gw-7
  listen_address: 127.0.0.1
password_policy: {min_length: 12}
event_log:
  types: {serial.connected: false}
ports:
  - port: 2
    device: sim:echo
    mode: {type: tcp_server, max_connections: 4, delimiter_1: 0x0d, delimiter_2: 0x0a, delimiter_process: strip_delimiter}
  - port: 1
    alias: plc
    device: /dev/ttyUSB0
    serial: {baud: 250000, data_bits: 7, parity: even, stop_bits: 2, flow_control: none, interface: rs485_2wire}
)";

std::string problems(std::string_view text) {
    auto r = parse_yaml(text);
    std::string out;
    for (const auto& p : r.problems) out += format_problem("f.yaml", p) + "\n";
    return out;
}

TEST(ConfigYaml, ParsesTypedValuesAndDefaults) {
    auto r = parse_yaml(kGood);
    ASSERT_TRUE(r.config) << problems(kGood);
    const Config& c = *r.config;
    EXPECT_EQ(c.system.device_name, "gw-7");
    EXPECT_EQ(c.password_policy.min_length, 12);
    EXPECT_EQ(c.event_log.types.at("serial.connected"), false);
    ASSERT_EQ(c.ports.size(), 2u);
    // Sorted by port number.
    const PortConfig& p1 = c.ports[0];
    EXPECT_EQ(p1.number, 1u);
    EXPECT_EQ(p1.serial.baud, 250000u);
    EXPECT_EQ(p1.serial.data_bits, 7);
    EXPECT_EQ(p1.serial.parity, Parity::Even);
    EXPECT_EQ(p1.serial.stop_bits, StopBits::Two);
    EXPECT_EQ(p1.serial.interface, Interface::Rs485TwoWire);
    // No mode: Real COM on 949 + N / 965 + N (guide §3.1).
    const auto* rc = std::get_if<RealComSettings>(&p1.mode);
    ASSERT_NE(rc, nullptr);
    EXPECT_EQ(rc->data_port, 950);
    EXPECT_EQ(rc->command_port, 966);
    const auto* ts = std::get_if<TcpServerSettings>(&c.ports[1].mode);
    ASSERT_NE(ts, nullptr);
    EXPECT_EQ(ts->local_port, 4002);  // 4000 + N
    EXPECT_EQ(ts->command_port, 967);
    EXPECT_EQ(ts->max_connections, 4);
    EXPECT_EQ(ts->tcp_alive_check_min, 7);
    EXPECT_EQ(ts->packing.delimiter_1, 0x0d);
    EXPECT_EQ(ts->packing.delimiter_process, DelimiterProcess::StripDelimiter);
    EXPECT_EQ(c.ports[1].serial.flow_control, FlowControl::RtsCts);  // device ref. default
}

TEST(ConfigYaml, ExportRoundTrips) {
    auto r = parse_yaml(kGood);
    ASSERT_TRUE(r.config);
    const std::string doc = to_yaml(*r.config);
    auto again = parse_yaml(doc);
    ASSERT_TRUE(again.config) << problems(doc);
    EXPECT_EQ(*again.config, *r.config);
    EXPECT_EQ(to_yaml(*again.config), doc);
}

TEST(ConfigYaml, EveryModeRoundTrips) {
    const char* doc = R"(ports:
  - {port: 1, device: /dev/ttyS1, mode: {type: rfc2217, local_port: 4101, tcp_alive_check_min: 0}}
  - port: 2
    device: /dev/ttyS2
    mode:
      type: tcp_client
      destinations: [{host: 127.0.0.2, port: 5000, local_port: 5010}, {host: scada.local}]
      connection_control: dsr_on/dsr_off
  - {port: 3, device: /dev/ttyS3, mode: {type: udp, destinations: [{begin: 127.0.0.2, end: 127.0.0.5, port: 6000}]}}
  - {port: 4, device: /dev/ttyS4, mode: {type: pair_master, host: 127.0.0.3, port: 4005}}
  - {port: 5, device: /dev/ttyS5, mode: {type: pair_slave}}
  - {port: 6, device: /dev/ttyS6, mode: {type: disabled}}
)";
    auto r = parse_yaml(doc);
    ASSERT_TRUE(r.config) << problems(doc);
    const auto& c = *r.config;
    const auto& tc = std::get<TcpClientSettings>(c.ports[1].mode);
    ASSERT_EQ(tc.destinations.size(), 2u);
    EXPECT_EQ(tc.destinations[1].host, "scada.local");
    EXPECT_EQ(tc.destinations[1].port, 4001);
    EXPECT_EQ(tc.connection_control, ConnectionControl::DsrOnDsrOff);
    EXPECT_EQ(std::get<UdpSettings>(c.ports[2].mode).local_port, 4003);
    EXPECT_EQ(std::get<PairSlaveSettings>(c.ports[4].mode).local_port, 4005);
    auto again = parse_yaml(to_yaml(c));
    ASSERT_TRUE(again.config) << to_yaml(c);
    EXPECT_EQ(*again.config, c);
}

TEST(ConfigYaml, SecureConnectionOnEveryTcpModeRoundTrips) {
    // Issue 11 items 1 and 3: `security` in each TCP mode, `verify` per TLS destination.
    const char* doc = R"(ports:
  - {port: 1, device: /dev/ttyS1, mode: {type: tcp_server, security: encrypted}}
  - {port: 2, device: /dev/ttyS2, mode: {type: real_com, security: encrypted_authenticated}}
  - {port: 3, device: /dev/ttyS3, mode: {type: rfc2217, security: encrypted}}
  - port: 4
    device: /dev/ttyS4
    mode:
      type: tcp_client
      security: encrypted_authenticated
      destinations: [{host: scada.local, verify: false}, {host: 127.0.0.2}]
  - {port: 5, device: /dev/ttyS5, mode: {type: pair_master, host: peer.local, security: encrypted, verify: false}}
  - {port: 6, device: /dev/ttyS6, mode: {type: pair_slave, security: encrypted_authenticated}}
  - {port: 7, device: /dev/ttyS7, mode: {type: tcp_server, local_port: 4100, command_port: 4200}}
)";
    auto r = parse_yaml(doc);
    ASSERT_TRUE(r.config) << problems(doc);
    const auto& c = *r.config;
    EXPECT_EQ(std::get<TcpServerSettings>(c.ports[0].mode).security, Security::Encrypted);
    EXPECT_EQ(std::get<RealComSettings>(c.ports[1].mode).security,
              Security::EncryptedAuthenticated);
    EXPECT_EQ(std::get<Rfc2217Settings>(c.ports[2].mode).security, Security::Encrypted);
    const auto& tc = std::get<TcpClientSettings>(c.ports[3].mode);
    EXPECT_EQ(tc.security, Security::EncryptedAuthenticated);
    EXPECT_FALSE(tc.destinations[0].verify);
    EXPECT_TRUE(tc.destinations[1].verify);  // the default: verify
    const auto& pm = std::get<PairMasterSettings>(c.ports[4].mode);
    EXPECT_EQ(pm.security, Security::Encrypted);
    EXPECT_FALSE(pm.verify);
    EXPECT_EQ(std::get<PairSlaveSettings>(c.ports[5].mode).security,
              Security::EncryptedAuthenticated);
    EXPECT_EQ(std::get<TcpServerSettings>(c.ports[6].mode).security, Security::Plain);  // default
    const std::string out = to_yaml(c);
    EXPECT_NE(out.find("security: encrypted_authenticated"), std::string::npos) << out;
    EXPECT_NE(out.find("verify: false"), std::string::npos) << out;
    auto again = parse_yaml(out);
    ASSERT_TRUE(again.config) << out;
    EXPECT_EQ(*again.config, c);
}

TEST(ConfigYaml, SecurityValuesAreCheckedWithTheList) {
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: tcp_server, security: tls}}]")
                  .find("ports[0].mode.security: 'tls' is not one of: plain, encrypted, "
                        "encrypted_authenticated"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: udp, security: encrypted}}]")
                  .find("ports[0].mode.security: unknown"),
              std::string::npos)
        << "UDP has no Secure Connection";
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: tcp_client, destinations: "
                       "[{host: a, verify: maybe}]}}]")
                  .find("verify"),
              std::string::npos);
}

TEST(ConfigYaml, EmptyDocumentIsDefaults) {
    auto r = parse_yaml("");
    ASSERT_TRUE(r.config);
    EXPECT_EQ(*r.config, Config{});
}

// Issue 12 item 3: system.io_threads, 0 (one per core) by default, 1..64, exported and read back.
TEST(ConfigYaml, IoThreadsIsRangeCheckedAndRoundTrips) {
    EXPECT_EQ(Config{}.system.io_threads, 0);
    auto r = parse_yaml("system: {io_threads: 2}\n");
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->system.io_threads, 2);
    auto back = parse_yaml(to_yaml(*r.config));
    ASSERT_TRUE(back.config);
    EXPECT_EQ(back.config->system.io_threads, 2);
    EXPECT_NE(problems("system: {io_threads: 65}\n").find("outside 0..64"), std::string::npos)
        << problems("system: {io_threads: 65}\n");
    EXPECT_NE(problems("system: {io_threads: -1}\n").find("io_threads"), std::string::npos);
}

TEST(ConfigYaml, ReportsLineColumnAndPath) {
    const char* doc =
        "ports:\n  - port: 1\n    device: sim:echo\n    mode:\n      type: tcp_server\n"
        "      max_connections: 9\n";
    auto p = problems(doc);
    EXPECT_EQ(p, "f.yaml:6:24: ports[0].mode.max_connections: 9 is outside 1..8\n");
}

TEST(ConfigYaml, RejectsEveryKindOfMistake) {
    EXPECT_NE(
        problems("ports: [{port: 1, device: x, serial: {baud: 10}}]").find("outside 50..921600"),
        std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, serial: {parity: maybe}}]")
                  .find("ports[0].serial.parity: 'maybe' is not one of"),
              std::string::npos);
    EXPECT_NE(
        problems("ports: [{port: 1, device: x, serail: {}}]").find("ports[0].serail: unknown"),
        std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, serial: {stop_bits: 1.5}}]")
                  .find("1.5 stop bits need 5 data bits"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: telnet}}]")
                  .find("ports[0].mode.type: 'telnet' is not one of"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: tcp_client}}]")
                  .find("needs 1 to 4 destinations"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: udp, destinations: "
                       "[{begin: 10.0.0.9, end: 10.0.0.1}]}}]")
                  .find("comes before begin"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: udp, local_port: 5000}},"
                       " {port: 2, device: y, mode: {type: udp, local_port: 5000}}]")
                  .find("UDP port 5000 is already used"),
              std::string::npos);
    EXPECT_TRUE(
        parse_yaml("ports: [{port: 1, device: /dev/ttyS1, mode: {type: udp, local_port: 5000}},"
                   " {port: 2, device: /dev/ttyS2, mode: {type: tcp_server, local_port: 5000}}]")
            .config)
        << "UDP and TCP port numbers are separate";
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: tcp_server, delimiter_2: 10}}]")
                  .find("needs delimiter_1"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x}, {port: 1, device: y}]").find("defined twice"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x}, {port: 2, device: x}]")
                  .find("already used by port 1"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x, mode: {type: tcp_server, local_port: 5000}},"
                       " {port: 2, device: y, mode: {type: tcp_server, local_port: 5000}}]")
                  .find("TCP port 5000 is already used"),
              std::string::npos);
    EXPECT_NE(problems("system: {listen_address: not-an-ip}").find("is not an IP address"),
              std::string::npos);
    EXPECT_NE(problems("ports: [{port: 1, device: x\n").find("f.yaml:"), std::string::npos);
    EXPECT_NE(problems("- just\n- a list\n").find("expected a mapping"), std::string::npos);
}

TEST(ConfigYaml, EventTypesCheckedWhenCatalogGiven) {
    ParseOptions o{.is_event_type = [](std::string_view k) { return k == "serial.connected"; }};
    EXPECT_TRUE(parse_yaml("event_log: {types: {serial.connected: off}}", o).config);
    auto r = parse_yaml("event_log: {types: {serial.nope: off}}", o);
    ASSERT_FALSE(r.config);
    EXPECT_EQ(r.problems[0].path, "event_log.types.serial.nope");
}

TEST(ConfigYaml, EventTypeNamesAreCatalogueSpellingEvenWithoutCatalog) {
    // Found by config_yaml_fuzz: a name with control bytes / invalid UTF-8 was accepted and did
    // not survive export -> import.
    auto r = parse_yaml("event_log: {types: {\"ser\\xF8.connected\\x0e\": off}}");
    ASSERT_FALSE(r.config);
    EXPECT_NE(r.problems[0].message.find("lower-case"), std::string::npos);
    EXPECT_FALSE(parse_yaml("event_log: {types: {Serial.Connected: off}}").config);
    EXPECT_FALSE(parse_yaml("event_log: {types: {serial..connected: off}}").config);
    EXPECT_TRUE(parse_yaml("event_log: {types: {serial.connected: off}}").config);
}

// ---------------------------------------------------------------- https.dos (NE-5, NE-6)

TEST(ConfigYamlDos, AbsentSectionIsTheRequirementsValues) {
    auto r = parse_yaml("https: {port: 8443}");
    ASSERT_TRUE(r.config);
    const DosSettings& d = r.config->https.dos;
    EXPECT_EQ(d, DosSettings{});
    // NE-5
    EXPECT_EQ(d.max_connections, 128u);
    EXPECT_EQ(d.max_connections_per_source, 16u);
    EXPECT_EQ(d.connections_per_second_per_source, 20u);
    EXPECT_EQ(d.connection_burst_per_source, 40u);
    EXPECT_EQ(d.handshakes_per_second_per_source, 10u);
    EXPECT_EQ(d.handshake_burst_per_source, 40u);
    EXPECT_EQ(d.requests_per_second_per_source, 50u);
    EXPECT_EQ(d.request_burst_per_source, 100u);
    EXPECT_EQ(d.requests_per_second_per_session, 50u);
    EXPECT_EQ(d.request_burst_per_session, 100u);
    EXPECT_EQ(d.argon2_parallel, 0u);  // auto: min(2, cores - 1)
    EXPECT_EQ(d.argon2_max_wait_ms, 2000u);
    // NE-6
    EXPECT_EQ(d.header_bytes, 16u * 1024);
    EXPECT_EQ(d.body_bytes, 1024u * 1024);
    EXPECT_EQ(d.handshake_timeout_s, 10);
    EXPECT_EQ(d.header_timeout_s, 10);
    EXPECT_EQ(d.body_timeout_s, 60);
    EXPECT_EQ(d.body_min_bytes_per_second, 1024u);
    EXPECT_EQ(d.idle_timeout_s, 15);
    // Export writes the section with its defaults, like every other section.
    const std::string doc = to_yaml(*r.config);
    EXPECT_NE(doc.find("  dos:\n    max_connections: 128\n"), std::string::npos) << doc;
    EXPECT_NE(doc.find("argon2_parallel: auto\n"), std::string::npos) << doc;
    EXPECT_TRUE(parse_yaml("https: {dos: {argon2_parallel: auto}}").config);
}

struct DosRange {
    const char* key;
    std::int64_t min;
    std::int64_t max;
};

// Every https.dos integer and its range. The context below satisfies the cross-field rules at
// every edge (per-source cap <= 1024 = global cap; rates 1, bursts at their maximum).
const std::vector<DosRange> kDosRanges = {
    {"max_connections", 1, 1024},
    {"max_connections_per_source", 1, 1024},
    {"connections_per_second_per_source", 1, 1000},
    {"connection_burst_per_source", 1, 10000},
    {"handshakes_per_second_per_source", 1, 1000},
    {"handshake_burst_per_source", 1, 10000},
    {"requests_per_second_per_source", 1, 10000},
    {"request_burst_per_source", 1, 100000},
    {"requests_per_second_per_session", 1, 10000},
    {"request_burst_per_session", 1, 100000},
    {"argon2_parallel", 1, kMaxArgon2Parallel},
    {"argon2_max_wait_ms", 100, 10000},
    {"header_bytes", 1024, 65536},
    {"body_bytes", 1024, 16 * 1024 * 1024},
    {"handshake_timeout_s", 1, 600},
    {"header_timeout_s", 1, 600},
    {"body_timeout_s", 1, 600},
    {"body_min_bytes_per_second", 1, 1024 * 1024},
    {"idle_timeout_s", 1, 600},
};

std::string dos_doc(const std::string& key, std::int64_t v) {
    std::map<std::string, std::string> m = {
        {"max_connections", "1024"},
        {"max_connections_per_source", "1"},
        {"connections_per_second_per_source", "1"},
        {"connection_burst_per_source", "10000"},
        {"handshakes_per_second_per_source", "1"},
        {"handshake_burst_per_source", "10000"},
        {"requests_per_second_per_source", "1"},
        {"request_burst_per_source", "100000"},
        {"requests_per_second_per_session", "1"},
        {"request_burst_per_session", "100000"},
    };
    m[key] = std::to_string(v);
    std::string doc = "https:\n  dos:\n";
    for (const auto& [k, val] : m) doc += "    " + k + ": " + val + "\n";
    return doc;
}

TEST(ConfigYamlDos, EveryRangeEdgeAcceptedAndRefusedWithTheKeyAndTheRange) {
    for (const auto& [key, min, max] : kDosRanges) {
        for (std::int64_t v : {min, max}) {
            const std::string doc = dos_doc(key, v);
            auto r = parse_yaml(doc);
            ASSERT_TRUE(r.config) << key << "=" << v << "\n" << problems(doc);
            const std::string again = to_yaml(*r.config);
            EXPECT_NE(again.find(std::string(key) + ": " + std::to_string(v) + "\n"),
                      std::string::npos)
                << key << "=" << v << " not exported as given:\n"
                << again;
        }
        for (std::int64_t v : {min - 1, max + 1}) {
            const std::string doc = dos_doc(key, v);
            auto r = parse_yaml(doc);
            EXPECT_FALSE(r.config) << key << "=" << v;
            const std::string want = "https.dos." + std::string(key) + ": " + std::to_string(v) +
                                     " is outside " + std::to_string(min) + ".." +
                                     std::to_string(max);
            EXPECT_NE(problems(doc).find(want), std::string::npos)
                << "want '" << want << "', got:\n"
                << problems(doc);
        }
    }
}

// The table read_dos() and write_dos() walk (dos_keys()): one row per field of DosSettings, in
// declaration order, with the ranges kDosRanges spells out independently above.
TEST(ConfigYamlDos, EveryTableRowIsRangeCheckedByKeyAndExported) {
    DosSettings probe;
    // Binds every field: a field added to DosSettings stops this compiling until it is listed
    // (and then fails below until it has its row).
    auto& [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18] =
        probe;
    const std::vector<const void*> fields = {&f0,  &f1,  &f2,  &f3,  &f4,  &f5,  &f6,
                                             &f7,  &f8,  &f9,  &f10, &f11, &f12, &f13,
                                             &f14, &f15, &f16, &f17, &f18};
    const std::span<const DosKey> rows = dos_keys();
    ASSERT_EQ(rows.size(), fields.size()) << "a field of DosSettings has no row, or one has two";
    ASSERT_EQ(rows.size(), kDosRanges.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const DosKey& row = rows[i];
        const void* at = std::visit([&](auto f) -> const void* { return &(probe.*f); }, row.field);
        EXPECT_EQ(at, fields[i]) << "row " << i << " (" << row.key << ") is not field " << i;
        EXPECT_STREQ(row.key, kDosRanges[i].key);
        EXPECT_EQ(row.min, kDosRanges[i].min) << row.key;
        EXPECT_EQ(row.max, kDosRanges[i].max) << row.key;
    }

    // The settings in place: no value at its default ("auto" is covered by
    // AbsentSectionIsTheRequirementsValues), the cross-field rules met at every range edge.
    const std::string old_doc =
        dos_doc("max_connections_per_source", 2) +
        "    argon2_parallel: 3\n    argon2_max_wait_ms: 300\n    header_bytes: 2048\n"
        "    body_bytes: 4096\n    handshake_timeout_s: 3\n"
        "    header_timeout_s: 4\n    body_timeout_s: 5\n"
        "    body_min_bytes_per_second: 7\n    idle_timeout_s: 8\n";
    const auto parsed = parse_yaml(old_doc);
    ASSERT_TRUE(parsed.config) << problems(old_doc);
    const Config old = *parsed.config;
    const std::string exported = to_yaml(old);

    // (b) The export has every row's key with the field's value, and nothing else in https.dos.
    const std::size_t dos_at = exported.find("\n  dos:\n");
    ASSERT_NE(dos_at, std::string::npos) << exported;
    std::size_t dos_lines = 0;
    for (std::size_t at = dos_at + 8; exported.compare(at, 4, "    ") == 0;
         at = exported.find('\n', at) + 1) {
        ++dos_lines;
    }
    EXPECT_EQ(dos_lines, rows.size()) << exported;
    for (const DosKey& row : rows) {
        const std::uint32_t v =
            std::visit([&](auto f) -> std::uint32_t { return old.https.dos.*f; }, row.field);
        EXPECT_NE(v,
                  std::visit([](auto f) -> std::uint32_t { return DosSettings{}.*f; }, row.field))
            << row.key << " is at its default: the export check below proves less";
        const std::string line = "\n    " + std::string(row.key) + ": " +
                                 (row.auto_is_zero && v == 0 ? "auto" : std::to_string(v)) + "\n";
        EXPECT_NE(exported.find(line), std::string::npos) << line << "not in\n" << exported;
    }

    // (a) One value below min or above max in an otherwise good document: refused naming the key
    // and the range, alone, and no Config comes out, so the caller keeps the old one.
    for (const DosKey& row : rows) {
        const std::string prefix = "\n    " + std::string(row.key) + ": ";
        const std::size_t at = exported.find(prefix);
        ASSERT_NE(at, std::string::npos) << row.key;
        const std::size_t value_at = at + prefix.size();
        for (std::int64_t bad : {row.min - 1, row.max + 1}) {
            std::string doc = exported;
            doc.replace(value_at, doc.find('\n', value_at) - value_at, std::to_string(bad));
            Config current = old;
            auto r = parse_yaml(doc);
            if (r.config) current = *r.config;
            EXPECT_FALSE(r.config) << row.key << ": " << bad << " accepted";
            ASSERT_EQ(r.problems.size(), 1u) << problems(doc);
            EXPECT_EQ(r.problems[0].path, "https.dos." + std::string(row.key));
            EXPECT_EQ(r.problems[0].message, std::to_string(bad) + " is outside " +
                                                 std::to_string(row.min) + ".." +
                                                 std::to_string(row.max));
            EXPECT_EQ(current, old) << row.key << ": " << bad;
        }
    }
    // The untouched export is the old settings exactly.
    auto again = parse_yaml(exported);
    ASSERT_TRUE(again.config) << problems(exported);
    EXPECT_EQ(*again.config, old);
}

TEST(ConfigYamlDos, CrossFieldRulesNameTheKey) {
    EXPECT_NE(problems("https: {dos: {max_connections: 8, max_connections_per_source: 9}}")
                  .find("https.dos.max_connections_per_source: 9 is above max_connections (8)"),
              std::string::npos);
    EXPECT_TRUE(
        parse_yaml("https: {dos: {max_connections: 8, max_connections_per_source: 8}}").config);
    EXPECT_NE(problems("https: {dos: {connection_burst_per_source: 19}}")
                  .find("https.dos.connection_burst_per_source: 19 is below "
                        "connections_per_second_per_source (20)"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {handshakes_per_second_per_source: 41}}")
                  .find("https.dos.handshake_burst_per_source: 40 is below "
                        "handshakes_per_second_per_source (41)"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {request_burst_per_source: 49}}")
                  .find("https.dos.request_burst_per_source: 49 is below"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {requests_per_second_per_session: 5, "
                       "request_burst_per_session: 4}}")
                  .find("https.dos.request_burst_per_session: 4 is below "
                        "requests_per_second_per_session (5)"),
              std::string::npos);
    EXPECT_TRUE(parse_yaml("https: {dos: {requests_per_second_per_session: 5, "
                           "request_burst_per_session: 5}}")
                    .config);
    // A value refused by its own range is not compared again as its default.
    EXPECT_EQ(problems("https: {dos: {max_connections: 0, max_connections_per_source: 200}}"),
              "f.yaml:1:32: https.dos.max_connections: 0 is outside 1..1024\n");
}

TEST(ConfigYamlDos, NotANumberNotAKeyNotAMap) {
    EXPECT_NE(problems("https: {dos: {argon2_parallel: many}}")
                  .find("https.dos.argon2_parallel: 'many' is not auto or an integer in 1.." +
                        std::to_string(kMaxArgon2Parallel)),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {argon2_parallel: -1}}").find("https.dos.argon2_parallel"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {body_bytes: 1.5}}")
                  .find("https.dos.body_bytes: '1.5' is not an integer"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: {max_conections: 5}}").find("https.dos.max_conections"),
              std::string::npos);
    EXPECT_NE(problems("https: {dos: 5}").find("https.dos: expected a mapping"), std::string::npos);
}

TEST(ConfigYamlDos, RoundTripsEveryValue) {
    const char* doc = R"(https:
  dos:
    max_connections: 64
    max_connections_per_source: 3
    connections_per_second_per_source: 7
    connection_burst_per_source: 9
    handshakes_per_second_per_source: 4
    handshake_burst_per_source: 6
    requests_per_second_per_source: 33
    request_burst_per_source: 77
    requests_per_second_per_session: 5
    request_burst_per_session: 8
    argon2_parallel: 1
    argon2_max_wait_ms: 750
    header_bytes: 4096
    body_bytes: 65536
    handshake_timeout_s: 5
    header_timeout_s: 6
    body_timeout_s: 30
    body_min_bytes_per_second: 2048
    idle_timeout_s: 20
)";
    auto r = parse_yaml(doc);
    ASSERT_TRUE(r.config) << problems(doc);
    const DosSettings& d = r.config->https.dos;
    EXPECT_EQ(d.max_connections_per_source, 3u);
    EXPECT_EQ(d.request_burst_per_session, 8u);
    EXPECT_EQ(d.argon2_parallel, 1u);
    EXPECT_EQ(d.body_timeout_s, 30);
    const std::string out = to_yaml(*r.config);
    auto again = parse_yaml(out);
    ASSERT_TRUE(again.config) << problems(out);
    EXPECT_EQ(*again.config, *r.config);
    EXPECT_EQ(to_yaml(*again.config), out);
    EXPECT_NE(out, to_yaml(Config{}));
}

TEST(ConfigYamlDos, ARefusedDocumentYieldsNothing) {
    // Good values next to one bad one: no configuration at all, so the caller keeps its own.
    auto old = parse_yaml("https: {dos: {max_connections_per_source: 3}}");
    ASSERT_TRUE(old.config);
    auto r = parse_yaml(
        "system: {device_name: other}\nhttps: {dos: {max_connections_per_source: 4, "
        "header_timeout_s: 0}}");
    EXPECT_FALSE(r.config);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_EQ(r.problems[0].path, "https.dos.header_timeout_s");
    EXPECT_EQ(r.problems[0].message, "0 is outside 1..600");
    auto loaded = load_yaml("https: {dos: {body_bytes: 512}}", "f.yaml");
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.error().message.find("https.dos.body_bytes: 512 is outside 1024..16777216"),
              std::string::npos)
        << loaded.error().message;
}

TEST(ConfigYamlDos, OnlyThePerRequestValuesApplyWithoutRestart) {
    const HttpsSettings base;
    auto with = [&](auto change) {
        HttpsSettings h = base;
        change(h.dos);
        return h;
    };
    EXPECT_FALSE(https_restart_required(base, base));
    EXPECT_FALSE(https_restart_required(
        base, with([](DosSettings& d) { d.requests_per_second_per_session = 5; })));
    EXPECT_FALSE(https_restart_required(
        base, with([](DosSettings& d) { d.request_burst_per_session = 500; })));
    EXPECT_FALSE(https_restart_required(base, with([](DosSettings& d) { d.argon2_parallel = 1; })));
    EXPECT_FALSE(
        https_restart_required(base, with([](DosSettings& d) { d.argon2_max_wait_ms = 500; })));
    EXPECT_TRUE(https_restart_required(
        base, with([](DosSettings& d) { d.max_connections_per_source = 3; })));
    EXPECT_TRUE(https_restart_required(base, with([](DosSettings& d) { d.header_bytes = 4096; })));
    HttpsSettings port = base;
    port.port = 8443;
    EXPECT_TRUE(https_restart_required(base, port));
}

}  // namespace
}  // namespace sg::config
