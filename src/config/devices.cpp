// devices.cpp: the device allow-list's rules (devices.h; issue 14 item 12). Called by
// config::validate() (start-up, SIGHUP, import, every API change) and by serial::open() on a port's
// strand before it opens a path. Pure: no file-system access, so the answer for a path that does
// not exist is the answer for one that does.
#include "config/devices.h"

#include <fnmatch.h>

#include <algorithm>

namespace sg::config {

namespace {

// An absolute path whose components are all non-empty and neither "." nor "..". Matching is on
// the text, so "/dev/ttyS0/../../etc/passwd" or "/dev//ttyS0" must never reach fnmatch: they would
// name another file than the text suggests to a reader of the list.
bool is_plain_absolute(std::string_view path) {
    if (path.size() < 2 || path.front() != '/') return false;
    std::size_t i = 1;
    while (i <= path.size()) {
        const std::size_t j = std::min(path.find('/', i), path.size());
        const std::string_view part = path.substr(i, j - i);
        if (part.empty() || part == "." || part == "..") return false;
        i = j + 1;
    }
    return true;
}

bool has_control(std::string_view s) {
    for (const unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return true;
    }
    return false;
}

}  // namespace

bool is_sim_device(std::string_view device) {
    return device.starts_with("sim:");
}

std::optional<std::string> device_pattern_problem(std::string_view pattern) {
    if (pattern.size() > kMaxDevicePatternLength) {
        return "is " + std::to_string(pattern.size()) + " characters; at most " +
               std::to_string(kMaxDevicePatternLength) + " allowed";
    }
    if (has_control(pattern)) return "contains a control character";
    if (!is_plain_absolute(pattern)) {
        return std::string("'").append(pattern) +
               "' is not an absolute path pattern such as /dev/ttyUSB* (no empty, '.' or '..' "
               "components; sim: devices are always allowed)";
    }
    return std::nullopt;
}

bool device_allowed(std::span<const std::string> patterns, std::string_view device) {
    if (is_sim_device(device)) return true;  // opens no file (serial/sim_device.h)
    if (!is_plain_absolute(device) || has_control(device)) return false;
    const std::string path(device);  // fnmatch wants NUL-terminated strings
    for (const std::string& p : patterns) {
        if (::fnmatch(p.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) return true;
    }
    return false;
}

std::string device_not_allowed_message(std::string_view device) {
    return std::string(device) + " is not allowed by system.allowed_devices";
}

}  // namespace sg::config
