// commands.h: the subcommands of `serialgate` (docs/cli.md). main.cpp parses the command line with
// CLI11 and calls one of these; each returns an exit code from exit_codes.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sg::app {

struct ServeOptions {
    std::string data_dir;
    std::string config_file;  // empty: the store's configuration
    bool demo = false;        // seed an empty store with the embedded demo configuration
    int https_port = -1;      // >= 0: overrides https.port (0: the OS picks; printed at start)
};
int serve(const ServeOptions& options);

int setup(const std::string& data_dir, const std::string& admin, bool password_stdin);

int config_validate(const std::string& file);
int config_export(const std::string& data_dir, const std::string& output);
int config_import(const std::string& data_dir, const std::string& file);

struct LogShowOptions {
    std::string data_dir;
    std::string category;
    std::string severity;
    std::optional<std::uint32_t> port;
    std::string type;
    std::size_t limit = 1000;
    std::string format = "text";
};
int log_show(const LogShowOptions& options);
/// `log status`: rows kept and overwritten per category (AU-3), as text or JSON.
int log_status(const std::string& data_dir, const std::string& format);

/// `remote-ca list|add FILE|delete FINGERPRINT`: the Remote Device Certificate list (CE-5) in the
/// store, offline like `config import`.
struct RemoteCaOptions {
    std::string data_dir;
    std::string action;    // list | add | delete
    std::string argument;  // add: a PEM file; delete: a SHA-256 fingerprint
    std::string format = "text";
};
int remote_ca(const RemoteCaOptions& options);

/// `status`: the port monitor of a running serve, through its control socket.
int status(const std::string& data_dir, const std::string& format);

/// `hardening-rules`: the nftables ruleset for the ports of the configuration in `data_dir`'s
/// store or in `config_file` (exactly one of them), on stdout (guide §3.7; NE-7).
int hardening_rules(const std::string& data_dir, const std::string& config_file);

/// The embedded demo configuration: four simulated ports in TCP Server mode.
const char* demo_config_yaml();

}  // namespace sg::app
