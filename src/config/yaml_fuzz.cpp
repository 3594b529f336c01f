// config_yaml_fuzz.cpp: libFuzzer target over the configuration parser — the first parser of
// untrusted input (`config import` files, later API uploads). Invariants: never crashes, and any
// document it accepts exports to a document that parses back to the same configuration.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/yaml.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = sg::config::parse_yaml(text);
    if (r.config) {
        auto again = sg::config::parse_yaml(sg::config::to_yaml(*r.config));
        SG_ASSERT(again.config.has_value());
        SG_ASSERT(*again.config == *r.config);
    } else {
        SG_ASSERT(!r.problems.empty());
    }
    return 0;
}
