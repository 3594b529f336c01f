#include "config/devices.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/settings.h"
#include "config/yaml.h"

namespace sg::config {
namespace {

const std::vector<std::string> kDefaults = SystemSettings{}.allowed_devices;

TEST(DeviceAllowList, DefaultsAreTheSerialDriversAndByIdLinks) {
    EXPECT_EQ(kDefaults, (std::vector<std::string>{"/dev/ttyS*", "/dev/ttyUSB*", "/dev/ttyACM*",
                                                   "/dev/ttyAMA*", "/dev/serial/by-id/*"}));
    for (const char* ok : {"/dev/ttyS0", "/dev/ttyS15", "/dev/ttyUSB0", "/dev/ttyACM3",
                           "/dev/ttyAMA0", "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"}) {
        EXPECT_TRUE(device_allowed(kDefaults, ok)) << ok;
    }
    // Consoles, ptys, the controlling tty, other files and other character devices.
    for (const char* no : {"/dev/pts/3", "/dev/tty", "/dev/tty1", "/dev/console", "/dev/ptmx",
                           "/dev/watchdog", "/dev/null", "/etc/passwd", "/dev/ttyprintk",
                           "/tmp/ttyS0", "ttyS0", "/dev/serial/by-path/pci-0:1.0-port0", ""}) {
        EXPECT_FALSE(device_allowed(kDefaults, no)) << no;
    }
}

TEST(DeviceAllowList, SimulatedLinesAreAlwaysAllowed) {
    EXPECT_TRUE(device_allowed({}, "sim:loopback"));
    EXPECT_TRUE(device_allowed({}, "sim:null-modem:a"));
    EXPECT_FALSE(device_allowed({}, "/dev/ttyS0"));  // an empty list allows no path at all
}

TEST(DeviceAllowList, StarStaysInOneComponentAndSkipsDotFiles) {
    const std::vector<std::string> p{"/dev/serial/by-id/*", "/dev/pts/*", "/dev/tty?"};
    EXPECT_TRUE(device_allowed(p, "/dev/pts/12"));
    EXPECT_TRUE(device_allowed(p, "/dev/ttyX"));
    EXPECT_FALSE(device_allowed(p, "/dev/ttyXY"));
    EXPECT_FALSE(device_allowed(p, "/dev/pts/12/x"));         // '*' never matches '/'
    EXPECT_FALSE(device_allowed(p, "/dev/serial/by-id/.x"));  // nor a leading '.'
    EXPECT_FALSE(device_allowed(p, "/dev/serial/by-id/.."));  // '..' is never a match
    EXPECT_FALSE(device_allowed(p, "/dev/pts/../console"));   // nor an escape through it
    EXPECT_FALSE(device_allowed(p, "/dev/pts/./3"));
    EXPECT_FALSE(device_allowed(p, "/dev//pts/3"));
    EXPECT_FALSE(device_allowed(p, "/dev/pts/"));
    const std::vector<std::string> one{"/dev/ttyS0"};
    EXPECT_FALSE(device_allowed(one, "/dev/ttyS0\n"));
    const std::vector<std::string> range{"/dev/ttyS[0-3]"};
    EXPECT_TRUE(device_allowed(range, "/dev/ttyS2"));
    EXPECT_FALSE(device_allowed(range, "/dev/ttyS4"));
}

TEST(DeviceAllowList, PatternRules) {
    for (const char* ok : {"/dev/ttyS*", "/dev/pts/*", "/dev/serial/by-id/*", "/dev/ttyS[0-3]"}) {
        EXPECT_FALSE(device_pattern_problem(ok)) << ok;
    }
    for (const char* no : {"", "/", "ttyS*", "*", "sim:*", "/dev/../etc/*", "/dev/./tty*",
                           "/dev//tty*", "/dev/tty*/", "/dev/tty\t*"}) {
        EXPECT_TRUE(device_pattern_problem(no)) << no;
    }
    EXPECT_TRUE(device_pattern_problem("/" + std::string(kMaxDevicePatternLength, 'a')));
}

TEST(DeviceAllowList, RefusalNamesTheKeyAndNothingElse) {
    EXPECT_EQ(device_not_allowed_message("/etc/passwd"),
              "/etc/passwd is not allowed by system.allowed_devices");
}

std::string problem_text(std::string_view yaml) {
    std::string out;
    for (const auto& p : parse_yaml(yaml).problems) out += format_problem("f.yaml", p) + "\n";
    return out;
}

TEST(DeviceAllowListYaml, PortOutsideTheListIsRefusedWithTheSameTextWhetherOrNotItExists) {
    // /etc/passwd exists, /nonexistent/x does not: the problem differs only in the path itself.
    const std::string a = problem_text("ports:\n  - {port: 1, device: /etc/passwd}\n");
    const std::string b = problem_text("ports:\n  - {port: 1, device: /nonexistent/x}\n");
    EXPECT_EQ(a, "f.yaml: ports[0].device: /etc/passwd is not allowed by system.allowed_devices\n");
    EXPECT_EQ(b,
              "f.yaml: ports[0].device: /nonexistent/x is not allowed by "
              "system.allowed_devices\n");
    EXPECT_NE(problem_text("ports:\n  - {port: 1, device: /dev/pts/0}\n"), "");
    EXPECT_EQ(problem_text("system: {allowed_devices: [/dev/pts/*]}\n"
                           "ports:\n  - {port: 1, device: /dev/pts/0}\n"),
              "");
    EXPECT_EQ(problem_text("system: {allowed_devices: []}\n"
                           "ports:\n  - {port: 1, device: sim:echo}\n"),
              "");
}

TEST(DeviceAllowListYaml, BadPatternsAreRefusedWithTheirPlace) {
    EXPECT_EQ(problem_text("system:\n  allowed_devices:\n    - /dev/ttyS*\n    - ttyUSB*\n"),
              "f.yaml:4:7: system.allowed_devices[1]: 'ttyUSB*' is not an absolute path pattern "
              "such as /dev/ttyUSB* (no empty, '.' or '..' components; sim: devices are always "
              "allowed)\n");
    EXPECT_NE(problem_text("system: {allowed_devices: /dev/ttyS*}\n"), "");
    EXPECT_NE(problem_text("system: {allowed_devices: [[/dev/ttyS*]]}\n"), "");
    std::string many = "system:\n  allowed_devices:\n";
    for (std::size_t i = 0; i <= kMaxDevicePatterns; ++i)
        many += "    - /dev/x" + std::to_string(i) + "\n";
    EXPECT_NE(problem_text(many), "");
}

TEST(DeviceAllowListYaml, RoundTripsThroughExport) {
    for (const std::vector<std::string>& list :
         {kDefaults, std::vector<std::string>{}, std::vector<std::string>{"/dev/pts/*"}}) {
        Config c;
        c.system.allowed_devices = list;
        auto r = parse_yaml(to_yaml(c));
        ASSERT_TRUE(r.config) << to_yaml(c);
        EXPECT_EQ(r.config->system.allowed_devices, list) << to_yaml(c);
    }
}

}  // namespace
}  // namespace sg::config
