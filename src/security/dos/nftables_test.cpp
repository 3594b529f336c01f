#include "security/dos/nftables.h"

#include <gtest/gtest.h>

#include "config/yaml.h"

namespace sg::security::dos {
namespace {

config::Config load(const char* text) {
    auto r = config::parse_yaml(text);
    EXPECT_TRUE(r.config);
    return r.config ? *r.config : config::Config{};
}

bool has(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

TEST(DosNftables, RulesForTheConfiguredPortsAndRates) {
    const auto text =
        nftables_rules(load(R"(https: {port: 8443, http_redirect: true, http_port: 8080}
serial_dos: {connections_per_second_per_source: 7, connection_burst_per_source: 9}
ports:
  - {port: 1, device: "sim:echo", mode: {type: tcp_server, local_port: 4001, command_port: 966}}
  - {port: 2, device: "sim:loopback", mode: {type: udp, local_port: 4002}}
  - {port: 3, device: "sim:generator", mode: {type: disabled}}
)"),
                       "test.yaml");
    EXPECT_TRUE(has(text, "from test.yaml")) << text;
    EXPECT_TRUE(has(text, "table inet serialgate_hardening {")) << text;
    EXPECT_TRUE(has(text,
                    "tcp dport { 8080, 8443 } tcp flags & (fin|syn|rst|ack) == syn update "
                    "@syn_https_v4 { ip saddr limit rate over 20/second burst 40 packets }"))
        << text;
    EXPECT_TRUE(has(text,
                    "tcp dport { 966, 4001 } tcp flags & (fin|syn|rst|ack) == syn update "
                    "@syn_serial_v6 { ip6 saddr limit rate over 7/second burst 9 packets }"))
        << text;
    EXPECT_TRUE(has(text,
                    "udp dport { 4002 } update @udp_serial_v4 { ip saddr limit rate over "
                    "2000/second burst 4000 packets }"))
        << text;
    EXPECT_TRUE(has(text, "tcp flags & (syn|fin) == syn|fin counter drop")) << text;
    EXPECT_TRUE(has(text, "icmp type echo-request limit rate over 10/second")) << text;
}

TEST(DosNftables, NoEmptyPortSets) {
    // HTTPS off and no listening port: no set and no per-source rule (nft refuses "{ }").
    const auto text = nftables_rules(load("https: {enabled: false}\n"), "x");
    EXPECT_FALSE(has(text, "dport")) << text;
    EXPECT_FALSE(has(text, "set ")) << text;
    EXPECT_TRUE(has(text, "icmpv6 type echo-request")) << text;
}

}  // namespace
}  // namespace sg::security::dos
