// hardening_command.cpp: the host side of the DoS defense (guide §3.7; NE-7, docs/cli.md):
// `serialgate hardening-rules` prints the nftables ruleset for the ports of a configuration (the
// store of --data-dir, or a YAML file given with --config), and serve's start-up check of SYN
// cookies. Offline; nothing here changes the host.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "app/common.h"
#include "app/exit_codes.h"
#include "core/files.h"
#include "security/dos/nftables.h"

namespace sg::app {

namespace {
constexpr std::size_t kMaxProcBytes = 64;
}  // namespace

int hardening_rules(const std::string& data_dir, const std::string& config_file) {
    if (data_dir.empty() == config_file.empty()) {
        fmt::print(stderr, "serialgate: hardening-rules needs one of --data-dir or --config\n");
        return kExitUsage;
    }
    config::Config cfg;
    std::string source = config_file;
    if (!config_file.empty()) {
        auto read = read_config_file(config_file);  // prints each problem
        if (!read) return kExitInvalid;
        cfg = std::move(*read);
    } else {
        int rc = 0;
        auto store = open_store(data_dir, rc);
        if (!store) return rc;
        auto loaded = load_config(*store);
        if (!loaded) {
            fmt::print(stderr, "serialgate: {}\n", loaded.error().message);
            return kExitStore;
        }
        cfg = std::move(*loaded);
        source = "the configuration in " + data_dir;
    }
    fmt::print("{}", security::dos::nftables_rules(cfg, source));
    return kExitOk;
}

void check_syn_cookies(events::Log& log, const std::string& path) {
    // NE-7: without SYN cookies a SYN flood fills the listen queues of every port (the kernel's,
    // before any code of ours runs). 1 (when a queue overflows) and 2 (always) both defend.
    auto text = core::read_file(path, kMaxProcBytes);
    if (!text) {
        spdlog::warn("cannot read {} ({}): SYN cookies not checked", path, text.error().message);
        return;
    }
    if (text->empty() || text->front() != '0') return;
    log.emit(events::types::kSynCookiesOff, {},
             fmt::format("{} is 0: a SYN flood can fill the listen queues; set "
                         "net.ipv4.tcp_syncookies = 1 (sysctl) and see `serialgate "
                         "hardening-rules` (guide 3.7, NE-7)",
                         path));
    spdlog::warn("SYN cookies are off ({} is 0): set net.ipv4.tcp_syncookies = 1", path);
}

}  // namespace sg::app
