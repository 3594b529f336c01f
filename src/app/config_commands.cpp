// config_commands.cpp: `config validate|export|import` and `setup` (docs/cli.md). Offline tools on
// the data directory; a running `serve` notices their commits through the store (data_version).
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "app/commands.h"
#include "app/common.h"
#include "app/exit_codes.h"
#include "app/services.h"
#include "core/files.h"
#include "events/audit.h"
#include "events/log.h"
#include "security/accounts/accounts.h"

namespace sg::app {

int config_validate(const std::string& file) {
    if (!read_config_file(file)) return kExitInvalid;
    fmt::print("{}: OK\n", file);
    return kExitOk;
}

int config_export(const std::string& data_dir, const std::string& output) {
    int rc = 0;
    auto store = open_store(data_dir, rc);
    if (!store) return rc;
    auto cfg = load_config(*store);
    if (!cfg) {
        fmt::print(stderr, "serialgate: {}\n", cfg.error().message);
        return kExitStore;
    }
    const std::string doc = config::to_yaml(*cfg);
    if (output.empty() || output == "-") {
        fmt::print("{}", doc);
    } else if (auto st = core::write_private_file(output, doc); !st) {
        fmt::print(stderr, "serialgate: {}\n", st.error().message);
        return kExitFailure;
    }
    events::Log log(*store, cfg->event_log);
    log.emit(events::types::kConfigExported, {.source = "cli"});
    log.flush();
    return kExitOk;
}

int config_import(const std::string& data_dir, const std::string& file) {
    auto cfg = read_config_file(file);
    if (!cfg) return kExitInvalid;
    int rc = 0;
    auto store = open_store(data_dir, rc);
    if (!store) return rc;
    auto before = load_config(*store);
    if (!before) {
        fmt::print(stderr, "serialgate: {}\n", before.error().message);
        return kExitStore;
    }
    auto rev = store->save_config(config::to_yaml(*cfg));
    if (!rev) {
        fmt::print(stderr, "serialgate: {}\n", rev.error().message);
        return kExitStore;
    }
    // AU-3, issue 14 item 7: whoever runs this owns the data directory (an administrator by
    // definition); a change of what records the administrators' actions is still recorded, under
    // the settings in force before it.
    if (auto audit = events::audit_changes(before->event_log, cfg->event_log); !audit.empty()) {
        events::Log old_log(*store, before->event_log);
        old_log.emit(events::types::kPolicyChanged, {.source = "cli"},
                     fmt::format("event_log.types: {} ({})",
                                 events::describe_audit_changes(audit, cfg->event_log), file));
        old_log.flush();
    }
    events::Log log(*store, cfg->event_log);
    audit_local_change(log, *before, *cfg, "cli", *rev);  // AU-2: serve running or not
    log.emit(events::types::kConfigImported, {.source = "cli"},
             fmt::format("{} (revision {})", file, *rev));
    log.flush();
    fmt::print("imported {} as revision {}\n", file, *rev);
    return kExitOk;
}

int setup(const std::string& data_dir, const std::string& admin, bool password_stdin) {
    if (!password_stdin) {
        // Never from the command line: argv is visible to every user through /proc.
        fmt::print(stderr,
                   "serialgate: setup reads the password from standard input: pass "
                   "--password-stdin\n");
        return kExitUsage;
    }
    // One line from standard input, read with read(2): an interrupted read is retried (stdio gives
    // up on EINTR and would hand over a short or empty password), a failed one is an error of its
    // own, not a password-policy refusal. Bounded: a password longer than this is not one.
    constexpr std::size_t kMaxLine = 4096;
    std::string line;
    line.reserve(kMaxLine + 1);  // no reallocation leaves a copy of part of it behind
    for (char c = 0; line.size() <= kMaxLine;) {
        const ssize_t n = ::read(STDIN_FILENO, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const std::error_code ec(errno, std::generic_category());
            fmt::print(stderr,
                       "serialgate: setup could not read the password from standard input: {}\n",
                       ec.message());
            return kExitFailure;
        }
        if (n == 0 || c == '\n') break;
        line.push_back(c);
    }
    if (line.size() > kMaxLine) {
        fmt::print(stderr, "serialgate: setup: the password line is longer than {} bytes\n",
                   kMaxLine);
        return kExitInvalid;
    }
    while (!line.empty() && line.back() == '\r') line.pop_back();
    security::Secret password(std::move(line));

    int rc = 0;
    auto store = open_store(data_dir, rc);
    if (!store) return rc;
    auto cfg = load_config(*store);
    if (!cfg) {
        fmt::print(stderr, "serialgate: {}\n", cfg.error().message);
        return kExitStore;
    }
    events::Log log(*store, cfg->event_log);
    security::accounts::Accounts accounts(*store);
    auto st = accounts.create_first_admin(admin, password, cfg->password_policy);
    if (!st) {
        log.emit(events::types::kSetupRefused, {.account = admin, .source = "cli"},
                 st.error().message);
        log.flush();
        fmt::print(stderr, "serialgate: setup refused: {}\n", st.error().message);
        if (st.error().code == core::Errc::store_error) return kExitStore;
        if (st.error().code == core::Errc::invalid_config) return kExitInvalid;
        return kExitRefused;
    }
    log.emit(events::types::kAccountCreated, {.account = admin, .source = "cli"},
             "first administrator '" + admin + "' created offline");
    log.flush();
    fmt::print("administrator '{}' created\n", admin);
    return kExitOk;
}

}  // namespace sg::app
