// common.h: helpers shared by the subcommands: opening the store with the right exit code, loading
// the configuration in force, parse options that know the event catalog.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/yaml.h"
#include "events/log.h"
#include "store/store.h"

namespace sg::app {

/// Opens the data directory's store, or prints why and sets `exit_code`.
std::unique_ptr<store::Store> open_store(const std::string& data_dir, int& exit_code);

config::ParseOptions parse_options();

/// Reads and validates a configuration file (at most 1 MiB); prints every problem on stderr as
/// FILE:LINE:COLUMN: PATH: MESSAGE. nullopt when it is unreadable or invalid.
std::optional<config::Config> read_config_file(const std::string& file);

/// NE-7, at serve's start: a Warning event (security.syn_cookies_off) when `path`
/// (net.ipv4.tcp_syncookies) reads 0.
void check_syn_cookies(events::Log& log,
                       const std::string& path = "/proc/sys/net/ipv4/tcp_syncookies");

/// The configuration committed in the store; the built-in defaults when none was ever committed.
/// A document that no longer validates is an error (exit 4): the store is not silently reset.
core::Result<config::Config> load_config(store::Store& store, std::int64_t* revision = nullptr);

}  // namespace sg::app
