// client_config_test.cpp: `realcom --config` files and the per-port defaults (client_config.h).
#include "client/real_com/client_config.h"

#include <gtest/gtest.h>

namespace sg::client::real_com {
namespace {

TEST(ClientConfig, DefaultsAreTheDevicePorts) {
    PortSpec s;
    s.port = 1;
    fill_defaults(s);
    EXPECT_EQ(s.data_port, 950);
    EXPECT_EQ(s.command_port, 966);
    PortSpec t;
    t.port = 16;
    t.data_port = 4001;  // given: kept
    fill_defaults(t);
    EXPECT_EQ(t.data_port, 4001);
    EXPECT_EQ(t.command_port, 981);
}

TEST(ClientConfig, ParsesAListOfPorts) {
    auto r = parse_config(R"(
- device: 192.0.2.10
  port: 1
  link: /tmp/ttyR1
- device: nport.example
  port: 2
  link: ttyR2
  data_port: 4002
  command_port: 4102
  data_bits: 7
  parity: even
)",
                          "ports.yaml");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 2U);
    const PortSpec& a = (*r)[0];
    EXPECT_EQ(a.device, "192.0.2.10");
    EXPECT_EQ(a.port, 1U);
    EXPECT_EQ(a.link, "/tmp/ttyR1");
    EXPECT_EQ(a.data_port, 950);
    EXPECT_EQ(a.command_port, 966);
    EXPECT_EQ(a.framing, (FixedFraming{8, config::Parity::None}));
    const PortSpec& b = (*r)[1];
    EXPECT_EQ(b.data_port, 4002);
    EXPECT_EQ(b.command_port, 4102);
    EXPECT_EQ(b.framing, (FixedFraming{7, config::Parity::Even}));
}

TEST(ClientConfig, ReportsEveryProblemWithItsPlace) {
    auto r = parse_config(R"(
- device: h
  port: 0
  link: a
  speed: 9600
- port: 2
  link: b
  parity: sideways
)",
                          "bad.yaml");
    ASSERT_FALSE(r);
    const std::string& m = r.error().message;
    EXPECT_EQ(r.error().code, core::make_error_code(core::Errc::invalid_config));
    EXPECT_NE(m.find("bad.yaml:3:9: [0].port: 0 is outside 1..4096"), std::string::npos) << m;
    EXPECT_NE(m.find("[0].speed: unknown setting"), std::string::npos) << m;
    EXPECT_NE(m.find("[1]: needs 'device'"), std::string::npos) << m;
    EXPECT_NE(m.find("[1].parity: 'sideways' is not one of"), std::string::npos) << m;
}

TEST(ClientConfig, RefusesWhatCannotRun) {
    EXPECT_FALSE(parse_config("device: h\nport: 1\nlink: x\n", "f"));  // not a list
    EXPECT_FALSE(parse_config("[]", "f"));
    EXPECT_FALSE(parse_config("- [unclosed", "f"));
    auto dup = parse_config(
        "- {device: h, port: 1, link: /tmp/x}\n"
        "- {device: h, port: 2, link: /tmp/x}\n",
        "f");
    ASSERT_FALSE(dup);
    EXPECT_NE(dup.error().message.find("/tmp/x is used twice"), std::string::npos);
    auto same =
        parse_config("- {device: h, port: 1, link: x, data_port: 5, command_port: 5}\n", "f");
    ASSERT_FALSE(same);
    EXPECT_NE(same.error().message.find("both 5"), std::string::npos);
}

TEST(ClientConfig, ValidateNamesTheProblem) {
    PortSpec s;
    s.device = "h";
    s.port = 3;
    s.link = "x";
    fill_defaults(s);
    EXPECT_TRUE(validate(s, "cli"));
    s.framing.data_bits = 9;
    EXPECT_FALSE(validate(s, "cli"));
    s.framing.data_bits = 8;
    s.device.clear();
    auto st = validate(s, "cli");
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("cli: no device"), std::string::npos);
}

}  // namespace
}  // namespace sg::client::real_com
