// common.h: helpers shared by the subcommands: opening the store with the right exit code, loading
// the configuration in force, parse options that know the event catalog.
#pragma once

#include <memory>
#include <string>

#include "config/yaml.h"
#include "store/store.h"

namespace sg::app {

/// Opens the data directory's store, or prints why and sets `exit_code`.
std::unique_ptr<store::Store> open_store(const std::string& data_dir, int& exit_code);

config::ParseOptions parse_options();

/// The configuration committed in the store; the built-in defaults when none was ever committed.
/// A document that no longer validates is an error (exit 4): the store is not silently reset.
core::Result<config::Config> load_config(store::Store& store, std::int64_t* revision = nullptr);

}  // namespace sg::app
