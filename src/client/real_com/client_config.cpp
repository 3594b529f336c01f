// client_config.cpp: PortSpec defaults, checks and the `realcom --config` YAML list
// (client_config.h). Called once by the `realcom` command before anything starts; never on the
// data plane. Uses config::Reader so problems read like those of `serve --config`.
#include "client/real_com/client_config.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <utility>

#include "client/real_com/link.h"
#include "config/reader.h"

namespace sg::client::real_com {

namespace {

constexpr std::pair<const char*, config::Parity> kParity[] = {{"none", config::Parity::None},
                                                              {"odd", config::Parity::Odd},
                                                              {"even", config::Parity::Even},
                                                              {"mark", config::Parity::Mark},
                                                              {"space", config::Parity::Space}};

core::Status invalid(std::string message) {
    return core::make_error(core::Errc::invalid_config, std::move(message));
}

}  // namespace

void fill_defaults(PortSpec& spec) {
    if (spec.data_port == 0 && spec.port + 949 <= 65535) {
        spec.data_port = static_cast<std::uint16_t>(949 + spec.port);
    }
    if (spec.command_port == 0 && spec.port + 965 <= 65535) {
        spec.command_port = static_cast<std::uint16_t>(965 + spec.port);
    }
}

core::Status validate(const PortSpec& s, const std::string& where) {
    if (s.device.empty()) return invalid(where + ": no device (host name or address) given");
    if (s.port < 1 || s.port > kMaxPortNumber) {
        return invalid(where + ": port " + std::to_string(s.port) + " is outside 1.." +
                       std::to_string(kMaxPortNumber));
    }
    if (s.link.empty()) return invalid(where + ": no link (the name applications open) given");
    if (s.data_port == 0 || s.command_port == 0) {
        return invalid(where + ": data and command ports must be 1..65535");
    }
    if (s.data_port == s.command_port) {
        return invalid(where + ": data port and command port are both " +
                       std::to_string(s.data_port));
    }
    if (s.framing.data_bits < 5 || s.framing.data_bits > 8) {
        return invalid(where + ": data bits " + std::to_string(s.framing.data_bits) +
                       " is outside 5..8");
    }
    return {};
}

core::Result<std::vector<PortSpec>> parse_config(std::string_view text, std::string_view source) {
    std::vector<config::Problem> problems;
    std::vector<PortSpec> specs;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        problems.push_back({"(document)", e.mark.line + 1, e.mark.column + 1, e.msg});
    }
    if (problems.empty() && !root.IsSequence()) {
        problems.push_back({"(document)", 0, 0,
                            "expected a list of ports: - {device: HOST, port: N, link: PATH}"});
    }
    if (problems.empty() && root.size() == 0) {
        problems.push_back({"(document)", 0, 0, "the list of ports is empty"});
    }
    // Every element is read even after a problem, so that one run reports them all.
    const std::size_t count = problems.empty() ? root.size() : 0;
    for (std::size_t i = 0; i < count; ++i) {
        std::string at = "[";
        at += std::to_string(i);
        at += ']';
        config::Reader r(root[i], at, problems);
        PortSpec s;
        if (!r.has("device")) r.problem_here("needs 'device' (host name or address)");
        if (!r.has("port")) r.problem_here("needs 'port' (the device's serial port number)");
        if (!r.has("link")) r.problem_here("needs 'link' (the name applications open)");
        s.device = r.text("device", "", 253);
        s.port = static_cast<std::uint32_t>(r.integer("port", 1, 1, kMaxPortNumber));
        s.link = r.text("link", "", 4095);
        s.data_port = static_cast<std::uint16_t>(r.integer("data_port", 0, 1, 65535));
        s.command_port = static_cast<std::uint16_t>(r.integer("command_port", 0, 1, 65535));
        s.framing.data_bits = static_cast<std::uint8_t>(r.integer("data_bits", 8, 5, 8));
        s.framing.parity = r.choice("parity", config::Parity::None, kParity);
        r.finish();
        fill_defaults(s);
        if (s.data_port == s.command_port) {
            r.problem_here("data_port and command_port are both " + std::to_string(s.data_port));
        }
        specs.push_back(std::move(s));
    }
    if (problems.empty()) {
        std::set<std::string> links;
        for (std::size_t i = 0; i < specs.size(); ++i) {
            if (!links.insert(Link::resolve(specs[i].link)).second) {
                std::string at = "[";
                at += std::to_string(i);
                at += "].link";
                problems.push_back(
                    {std::move(at), 0, 0, Link::resolve(specs[i].link) + " is used twice"});
            }
        }
    }
    if (!problems.empty()) {
        std::string msg;
        for (const auto& p : problems) {
            if (!msg.empty()) msg += '\n';
            msg += config::format_problem(source, p);
        }
        return core::make_error(core::Errc::invalid_config, msg);
    }
    return specs;
}

}  // namespace sg::client::real_com
