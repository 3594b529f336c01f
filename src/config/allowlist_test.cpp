// allowlist_test.cpp: the allowlist entry syntax (allowlist.h) and the `allowlist` block of the
// YAML schema: every entry form, the mask rule's inputs, strict errors naming the key (NE-2, NE-3).
#include "config/allowlist.h"

#include <gtest/gtest.h>

#include "config/yaml.h"

namespace sg::config {
namespace {

AllowRule rule(std::string_view text) {
    auto r = parse_allow_entry(text);
    if (auto* why = std::get_if<std::string>(&r)) ADD_FAILURE() << text << ": " << *why;
    return std::get<AllowRule>(r);
}

std::string error(std::string_view text) {
    auto r = parse_allow_entry(text);
    if (!std::holds_alternative<std::string>(r)) return "(accepted)";
    return std::get<std::string>(r);
}

std::string problems(std::string_view text) {
    auto r = parse_yaml(text);
    std::string out;
    for (const auto& p : r.problems) out += format_problem("f.yaml", p) + "\n";
    return out;
}

TEST(AllowEntry, EveryForm) {
    EXPECT_TRUE(rule("all").all);
    const AllowRule host = rule("192.0.2.7");
    EXPECT_FALSE(host.v6);
    EXPECT_EQ(host.address[0], 192);
    EXPECT_EQ(host.address[3], 7);
    EXPECT_EQ(host.mask[3], 0xFF);
    EXPECT_EQ(host.mask[4], 0);  // only 4 bytes for IPv4
    EXPECT_EQ(rule("192.0.2.0/24"), rule("192.0.2.0/255.255.255.0"));
    EXPECT_EQ(rule("192.168.1.128/255.255.255.128").mask[3], 0x80);  // guide §3.5's table
    EXPECT_EQ(rule("10.0.0.0/0").mask[0], 0);
    const AllowRule v6 = rule("2001:db8::/33");
    EXPECT_TRUE(v6.v6);
    EXPECT_EQ(v6.mask[3], 0xFF);
    EXPECT_EQ(v6.mask[4], 0x80);
    EXPECT_EQ(v6.mask[5], 0);
    EXPECT_EQ(rule("::1").mask[15], 0xFF);
}

TEST(AllowEntry, RefusesWithAReason) {
    EXPECT_NE(error("192.0.2.0/33").find("prefix length 0..32"), std::string::npos);
    EXPECT_NE(error("2001:db8::/129").find("0..128"), std::string::npos);
    EXPECT_NE(error("192.0.2.0/255.0.255.0").find("ones followed by zeros"), std::string::npos);
    EXPECT_NE(error("2001:db8::/ffff::").find("prefix length"), std::string::npos);
    EXPECT_NE(error("host.example").find("not 'all', an IP address"), std::string::npos);
    EXPECT_NE(error("").find("not 'all'"), std::string::npos);
    EXPECT_NE(error("192.0.2.0/").find("prefix length"), std::string::npos);
    EXPECT_NE(error("192.0.2.0/-1").find("prefix length"), std::string::npos);
    EXPECT_NE(error("fe80::1%eth0").find("not 'all'"), std::string::npos);
    EXPECT_NE(error("ALL").find("not 'all'"), std::string::npos);
}

TEST(ConfigYamlAllowlist, DefaultIsOffAndRoundTrips) {
    auto r = parse_yaml("");
    ASSERT_TRUE(r.config);
    EXPECT_FALSE(r.config->allowlist.enabled);
    EXPECT_TRUE(r.config->allowlist.entries.empty());

    const char* doc = R"(allowlist:
  enabled: true
  entries: ["192.0.2.0/24", 127.0.0.2, "2001:db8::/32", all, 192.0.2.0/255.255.255.0]
)";
    auto a = parse_yaml(doc);
    ASSERT_TRUE(a.config) << problems(doc);
    EXPECT_TRUE(a.config->allowlist.enabled);
    ASSERT_EQ(a.config->allowlist.entries.size(), 5u);
    EXPECT_EQ(a.config->allowlist.entries[1], "127.0.0.2");
    auto back = parse_yaml(to_yaml(*a.config));
    ASSERT_TRUE(back.config) << to_yaml(*a.config);
    EXPECT_EQ(back.config->allowlist, a.config->allowlist);
}

TEST(ConfigYamlAllowlist, StrictErrorsNameTheKey) {
    EXPECT_EQ(problems("allowlist:\n  enabled: true\n  entries: [127.0.0.2, 1.2.3.4/40]\n"),
              "f.yaml:3:24: allowlist.entries[1]: '1.2.3.4/40': '40' is not a prefix length "
              "0..32 or a dotted netmask\n");
    EXPECT_NE(problems("allowlist: {enabled: true}\n").find("allowlist: enabled with no entries"),
              std::string::npos);
    EXPECT_NE(problems("allowlist: {enabled: true, entries: []}\n").find("NE-3"),
              std::string::npos);
    EXPECT_NE(problems("allowlist: {entries: [1.2.3.4, 1.2.3.4]}\n")
                  .find("allowlist.entries[1]: '1.2.3.4' is listed twice"),
              std::string::npos);
    EXPECT_NE(
        problems("allowlist: {entries: 1.2.3.4}\n").find("allowlist.entries: expected a list"),
        std::string::npos);
    EXPECT_NE(problems("allowlist: {entries: [[1]]}\n").find("expected a single value"),
              std::string::npos);
    EXPECT_NE(problems("allowlist: {enable: true}\n").find("allowlist.enable: unknown setting"),
              std::string::npos);
    EXPECT_NE(problems("allowlist: {enabled: maybe, entries: [all]}\n")
                  .find("allowlist.enabled: 'maybe' is not true or false"),
              std::string::npos);
    std::string seventeen = "allowlist: {entries: [";
    for (int i = 1; i <= 17; ++i)
        seventeen += (i > 1 ? ", 10.0.0." : "10.0.0.") + std::to_string(i);
    seventeen += "]}\n";
    EXPECT_NE(problems(seventeen).find("allowlist.entries: 17 entries; at most 16 allowed"),
              std::string::npos);
    // Sixteen is fine; disabled with entries is fine (kept for later).
    std::string sixteen = "allowlist: {enabled: false, entries: [";
    for (int i = 1; i <= 16; ++i) sixteen += (i > 1 ? ", 10.0.0." : "10.0.0.") + std::to_string(i);
    sixteen += "]}\n";
    EXPECT_EQ(problems(sixteen), "");
}

}  // namespace
}  // namespace sg::config
