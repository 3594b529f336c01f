// status_command.cpp: `serialgate status` — the port monitor (device ref. §11): per port the mode,
// state, line settings in force, modem lines, line errors, byte counters and connected peers, read
// from a running serve through DATA_DIR/control.sock.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/commands.h"
#include "app/control.h"
#include "app/exit_codes.h"

namespace sg::app {

namespace {
std::string text_of(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "-";
    return v.dump();
}
}  // namespace

int status(const std::string& data_dir, const std::string& format) {
    const auto sock = std::filesystem::path(data_dir) / "control.sock";
    auto answer = control_request(sock, "status");
    if (!answer) {
        fmt::print(stderr, "serialgate: no serve is running on {} ({})\n", data_dir,
                   answer.error().message);
        return kExitFailure;
    }
    if (format == "json") {
        fmt::print("{}", *answer);
        return kExitOk;
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(*answer);
    } catch (const std::exception& e) {
        fmt::print(stderr, "serialgate: unreadable answer from serve: {}\n", e.what());
        return kExitFailure;
    }
    fmt::print("{}  data plane {}  {}\n", text_of(j["device_name"]), text_of(j["data_plane"]),
               text_of(j["time"]));
    for (const auto& p : j["ports"]) {
        fmt::print("port {} {} ({}): {} — {}\n", text_of(p["number"]), text_of(p["alias"]),
                   text_of(p["device"]), text_of(p["mode"]), text_of(p["state"]));
        if (!p["serial"].is_null()) {
            const auto& s = p["serial"];
            fmt::print("  line {} {}{}{} flow {} {}\n", text_of(s["baud"]), text_of(s["data_bits"]),
                       text_of(s["parity"]).substr(0, 1), text_of(s["stop_bits"]),
                       text_of(s["flow_control"]), text_of(s["interface"]));
        }
        if (!p["modem"].is_null()) {
            const auto& m = p["modem"];
            auto on = [&](const char* k) {
                return m[k].is_boolean() && m[k].get<bool>() ? "on" : "off";
            };
            if (m.value("virtual", false)) {
                fmt::print("  modem RTS {} DTR {} — {}\n", on("rts"), on("dtr"),
                           text_of(m["note"]));
            } else {
                fmt::print("  modem RTS {} DTR {} CTS {} DSR {} DCD {} RI {}\n", on("rts"),
                           on("dtr"), on("cts"), on("dsr"), on("dcd"), on("ri"));
            }
        }
        if (!p["counters"].is_null()) {
            const auto& c = p["counters"];
            const auto& e = p["line_errors"];
            fmt::print("  serial rx {} tx {}  net rx {} tx {}  connections {} refused {}\n",
                       text_of(c["serial_rx_bytes"]), text_of(c["serial_tx_bytes"]),
                       text_of(c["net_rx_bytes"]), text_of(c["net_tx_bytes"]),
                       text_of(c["connections"]), text_of(c["refused"]));
            fmt::print("  refused by the allowlist {}  by the DoS defense {}\n",
                       text_of(c["refused_allowlist"]), text_of(c["refused_dos"]));
            fmt::print("  errors framing {} parity {} overrun {} breaks {}\n",
                       text_of(e["framing"]), text_of(e["parity"]), text_of(e["overrun"]),
                       text_of(e["breaks"]));
        }
        for (const auto& peer : p["peers"]) {
            fmt::print("  peer {} since {} tx {} rx {}\n", text_of(peer["address"]),
                       text_of(peer["connected_at"]), text_of(peer["tx_bytes"]),
                       text_of(peer["rx_bytes"]));
        }
    }
    return kExitOk;
}

}  // namespace sg::app
