// devices.h: which serial devices a port may name (issue 14 item 12). `system.allowed_devices` is a
// list of path globs set by an Administrator; a port's `device` must match one of them, or be a
// simulated line ("sim:..."), which opens no file. Pure string rules, no file-system access: the
// same answer whether or not the path exists, so a refusal tells nothing about other paths.
// Checked by config::validate() and again by serial::open() before anything is opened.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sg::config {

/// At most this many patterns, each at most kMaxDevicePatternLength bytes.
inline constexpr std::size_t kMaxDevicePatterns = 64;
inline constexpr std::size_t kMaxDevicePatternLength = 256;

/// "sim:loopback", "sim:null-modem:a", ...: a simulated line, always allowed.
bool is_sim_device(std::string_view device);

/// Why `pattern` cannot be an entry of system.allowed_devices, or nullopt when it can: an absolute
/// path ("/dev/ttyUSB*") without empty, "." or ".." components or control characters.
std::optional<std::string> device_pattern_problem(std::string_view pattern);

/// Whether `device` may be opened under `patterns`: a sim: name, or an absolute path without empty,
/// "." or ".." components that matches a pattern as fnmatch(3) does with FNM_PATHNAME |
/// FNM_PERIOD ('*' and '?' never match '/' nor a leading '.' of a component).
bool device_allowed(std::span<const std::string> patterns, std::string_view device);

/// "/x is not allowed by system.allowed_devices": the one refusal text, for config and open alike.
std::string device_not_allowed_message(std::string_view device);

}  // namespace sg::config
