// mode_yaml.h: reading and writing each operation mode's settings (internal to config/). One
// function pair per document part keeps yaml.cpp about the document and this file about modes.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>

#include "config/reader.h"
#include "config/settings.h"

namespace sg::config::detail {

/// `r` is the port's `mode` mapping (absent: Real COM); `n` the port number for "+ N" defaults.
ModeSettings read_mode(Reader r, std::uint32_t n);
void write_mode(YAML::Emitter& e, const ModeSettings& m);

/// Listening sockets a mode claims, for the cross-port uniqueness check.
struct Claim {
    bool udp;
    std::uint16_t port;
    const char* field;
};
std::vector<Claim> listening(const ModeSettings& m);

}  // namespace sg::config::detail
