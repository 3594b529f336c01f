#include "config/services.h"

#include <gtest/gtest.h>

#include "config/yaml.h"

namespace sg::config {
namespace {

Config load(const char* text) {
    auto r = parse_yaml(text);
    EXPECT_TRUE(r.config);
    return r.config ? *r.config : Config{};
}

constexpr const char* kPorts = R"(system: {listen_address: 127.0.0.1}
https: {port: 8443, http_redirect: true, http_port: 8080}
ports:
  - {port: 1, device: "sim:echo", mode: {type: tcp_server, local_port: 4001, command_port: 966}}
  - {port: 2, device: "sim:loopback", mode: {type: udp, local_port: 4002}}
  - {port: 3, device: "sim:null-modem:a", mode: {type: disabled}}
  - {port: 4, device: "sim:null-modem:a", mode: {type: tcp_client, destinations: [{host: 127.0.0.1, port: 9}]}}
  - {port: 5, device: "sim:generator:10"}
)";

TEST(ConfigServices, ListsEveryListenerOfTheConfiguration) {
    const auto list = services(load(kPorts));
    ASSERT_EQ(list.size(), 9u);
    EXPECT_EQ(list[0].name, "https");
    EXPECT_TRUE(list[0].enabled);
    EXPECT_EQ(list[0].port, 8443);
    EXPECT_EQ(list[1].name, "http_redirect");
    EXPECT_TRUE(list[1].enabled);
    EXPECT_EQ(list[1].port, 8080);
    EXPECT_EQ(list[2].listener, "local_port");
    EXPECT_EQ(list[2].port, 4001);
    EXPECT_EQ(list[3].listener, "command_port");
    EXPECT_EQ(list[3].port, 966);
    EXPECT_TRUE(list[4].udp);
    EXPECT_EQ(list[4].port, 4002);
    EXPECT_FALSE(list[5].enabled);  // disabled: no socket
    EXPECT_EQ(list[5].port, 0);
    EXPECT_TRUE(list[6].enabled);  // TCP Client: outgoing, nothing listens
    EXPECT_EQ(list[6].port, 0);
    // Mode omitted: Real COM on 949 + N and 965 + N (guide §3.1).
    EXPECT_EQ(list[7].mode, "real_com");
    EXPECT_EQ(list[7].port, 954);
    EXPECT_EQ(list[8].port, 970);
}

TEST(ConfigServices, RedirectIsOffWithHttps) {
    const auto list = services(load("https: {enabled: false, http_redirect: true}\n"));
    EXPECT_FALSE(list[0].enabled);
    EXPECT_FALSE(list[1].enabled);
}

TEST(ConfigServices, ChangesNameEachServiceSwitchedOrMoved) {
    const Config a = load(kPorts);
    EXPECT_TRUE(service_changes(a, a).empty());
    Config b = a;
    b.https.http_redirect = false;
    b.ports[0].mode = DisabledSettings{};
    const auto changes = service_changes(a, b);
    ASSERT_EQ(changes.size(), 4u) << ::testing::PrintToString(changes);
    EXPECT_EQ(changes[0], "http_redirect: on tcp/8080 on 0.0.0.0 -> off");
    EXPECT_EQ(changes[1], "port 1: none -> off");
    EXPECT_EQ(changes[2], "port 1 command_port: tcp_server tcp/966 on 127.0.0.1 -> none");
    EXPECT_EQ(changes[3], "port 1 local_port: tcp_server tcp/4001 on 127.0.0.1 -> none");
}

TEST(ConfigServices, DosChangesNameEachBound) {
    const Config a = load(kPorts);
    EXPECT_TRUE(dos_changes(a, a).empty());
    Config b = a;
    b.serial_dos.enabled = false;
    b.serial_dos.datagrams_per_second_per_source = 50;
    b.https.dos.max_connections = 64;
    const auto changes = dos_changes(a, b);
    ASSERT_EQ(changes.size(), 3u) << ::testing::PrintToString(changes);
    EXPECT_EQ(changes[0], "https.dos.max_connections: 128 -> 64");
    EXPECT_EQ(changes[1], "serial_dos.enabled: true -> false");
    EXPECT_EQ(changes[2], "serial_dos.datagrams_per_second_per_source: 2000 -> 50");
}

// ---------------------------------------------------------------- serial_dos (guide §3.7)

TEST(ConfigSerialDos, DefaultsAreOnAndNe5Values) {
    const Config c = load("ports: []\n");
    EXPECT_TRUE(c.serial_dos.enabled);
    EXPECT_EQ(c.serial_dos.max_connections_per_source, 16u);
    EXPECT_EQ(c.serial_dos.connections_per_second_per_source, 20u);
    EXPECT_EQ(c.serial_dos.connection_burst_per_source, 40u);
    EXPECT_EQ(c.serial_dos.handshakes_per_second_per_source, 10u);
    EXPECT_EQ(c.serial_dos.datagrams_per_second_per_source, 2000u);
}

TEST(ConfigSerialDos, RoundTripsAndChecksRangesAndBursts) {
    auto r = parse_yaml(
        "serial_dos: {enabled: false, max_connections_per_source: 2, "
        "connections_per_second_per_source: 5, connection_burst_per_source: 5, "
        "datagrams_per_second_per_source: 100, datagram_burst_per_source: 150}\n");
    ASSERT_TRUE(r.config);
    const Config& c = *r.config;
    EXPECT_FALSE(c.serial_dos.enabled);
    EXPECT_EQ(c.serial_dos.max_connections_per_source, 2u);
    EXPECT_EQ(c.serial_dos.datagram_burst_per_source, 150u);
    auto again = parse_yaml(to_yaml(c));
    ASSERT_TRUE(again.config);
    EXPECT_EQ(again.config->serial_dos, c.serial_dos);

    auto bad = parse_yaml("serial_dos: {max_connections_per_source: 0}\n");
    ASSERT_EQ(bad.problems.size(), 1u);
    EXPECT_EQ(bad.problems[0].path, "serial_dos.max_connections_per_source");
    bad = parse_yaml(
        "serial_dos: {connections_per_second_per_source: 50, connection_burst_per_source: 49}\n");
    ASSERT_EQ(bad.problems.size(), 1u);
    EXPECT_EQ(bad.problems[0].path, "serial_dos.connection_burst_per_source");
    EXPECT_NE(bad.problems[0].message.find("below connections_per_second_per_source (50)"),
              std::string::npos);
    bad = parse_yaml("serial_dos: {datagrams_per_second: 5}\n");  // unknown key
    EXPECT_FALSE(bad.config);
}

}  // namespace
}  // namespace sg::config
