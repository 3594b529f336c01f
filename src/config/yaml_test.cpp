#include "config/yaml.h"

#include <gtest/gtest.h>

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
  - {port: 1, device: a, mode: {type: rfc2217, local_port: 4101, tcp_alive_check_min: 0}}
  - port: 2
    device: b
    mode:
      type: tcp_client
      destinations: [{host: 127.0.0.2, port: 5000, local_port: 5010}, {host: scada.local}]
      connection_control: dsr_on/dsr_off
  - {port: 3, device: c, mode: {type: udp, destinations: [{begin: 127.0.0.2, end: 127.0.0.5, port: 6000}]}}
  - {port: 4, device: d, mode: {type: pair_master, host: 127.0.0.3, port: 4005}}
  - {port: 5, device: e, mode: {type: pair_slave}}
  - {port: 6, device: f, mode: {type: disabled}}
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

TEST(ConfigYaml, EmptyDocumentIsDefaults) {
    auto r = parse_yaml("");
    ASSERT_TRUE(r.config);
    EXPECT_EQ(*r.config, Config{});
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
    EXPECT_TRUE(parse_yaml("ports: [{port: 1, device: x, mode: {type: udp, local_port: 5000}},"
                           " {port: 2, device: y, mode: {type: tcp_server, local_port: 5000}}]")
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

}  // namespace
}  // namespace sg::config
