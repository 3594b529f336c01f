// reader.h: a cursor over one YAML mapping that reads typed, range-checked settings and collects
// every problem with its path and place (STYLE.md §3.7). Keys that no one reads are reported as
// unknown by finish(), so a typo is an error, never a silently ignored setting.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/yaml.h"

namespace sg::config {

class Reader {
public:
    Reader(const YAML::Node& node, std::string path, std::vector<Problem>& problems);

    bool has(std::string_view key) const;
    YAML::Node raw(std::string_view key);  // marks the key read

    std::int64_t integer(std::string_view key, std::int64_t def, std::int64_t min,
                         std::int64_t max);
    bool boolean(std::string_view key, bool def);
    std::string text(std::string_view key, std::string def, std::size_t max_len);
    std::optional<std::uint8_t> byte(std::string_view key);  // 0..255, 0x-prefixed allowed
    /// A list of at most `max_items` texts, each checked as text() does and then by `check`
    /// (which returns a problem message, or nullopt). `def` when absent; on any problem too.
    std::vector<std::string> text_list(
        std::string_view key, std::vector<std::string> def, std::size_t max_items,
        std::size_t max_len,
        const std::function<std::optional<std::string>(const std::string&)>& check = {});
    double number(std::string_view key, double def);

    /// One of `names` (index into it is returned); `def` when absent.
    template <typename E, std::size_t N>
    E choice(std::string_view key, E def, const std::pair<const char*, E> (&names)[N]) {
        auto s = scalar(key);
        if (!s) return def;
        for (const auto& [name, value] : names) {
            if (*s == name) return value;
        }
        std::string list;
        for (const auto& [name, value] : names)
            list += (list.empty() ? "" : ", ") + std::string(name);
        problem(key, "'" + *s + "' is not one of: " + list);
        return def;
    }

    /// A child mapping (absent = empty mapping).
    Reader child(std::string_view key);
    /// Each element of a sequence; problem when `key` is not a sequence.
    std::vector<Reader> sequence(std::string_view key);

    void problem(std::string_view key, std::string message);
    void problem_here(std::string message);
    /// Reports keys present but never read.
    void finish();

    const std::string& path() const { return path_; }
    bool is_map() const { return node_.IsMap() || !node_.IsDefined() || node_.IsNull(); }
    std::vector<Problem>& problems() { return problems_; }
    YAML::Node node() const { return node_; }

private:
    std::optional<std::string> scalar(std::string_view key);
    std::string key_path(std::string_view key) const;

    YAML::Node node_;
    std::string path_;
    std::vector<Problem>& problems_;
    std::set<std::string, std::less<>> read_;
};

}  // namespace sg::config
