// reader.cpp: typed, range-checked access to YAML settings with problem collection. Used only by
// yaml.cpp (and mode settings parsers), at start-up, SIGHUP and import: never on the data plane.
#include "config/reader.h"

#include <charconv>

namespace sg::config {

namespace {
Problem at(const YAML::Node& n, std::string path, std::string message) {
    Problem p{std::move(path), 0, 0, std::move(message)};
    if (n.IsDefined()) {
        auto m = n.Mark();
        if (m.line >= 0) {
            p.line = m.line + 1;
            p.column = m.column + 1;
        }
    }
    return p;
}

std::optional<std::int64_t> parse_int(const std::string& s) {
    std::string_view v = s;
    bool neg = false;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
        neg = v[0] == '-';
        v.remove_prefix(1);
    }
    int base = 10;
    if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v.remove_prefix(2);
    }
    std::int64_t out = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out, base);
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty()) return std::nullopt;
    return neg ? -out : out;
}
}  // namespace

// YAML::Node is a handle with no move constructor: copying it copies the reference, not the tree.
Reader::Reader(const YAML::Node& node, std::string path, std::vector<Problem>& problems)
    : node_(node), path_(std::move(path)), problems_(problems) {
    if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
        problems_.push_back(at(node_, path_.empty() ? "(document)" : path_, "expected a mapping"));
    }
}

std::string Reader::key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool Reader::has(std::string_view key) const {
    return node_.IsMap() && node_[std::string(key)].IsDefined() &&
           !node_[std::string(key)].IsNull();
}

YAML::Node Reader::raw(std::string_view key) {
    read_.insert(std::string(key));
    if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    // Look up through a const reference: yaml-cpp's non-const operator[] inserts a key it does not
    // find, which invalidates any iteration over this mapping (found by config_yaml_fuzz).
    const YAML::Node& map = node_;
    YAML::Node n = map[std::string(key)];
    // A missing key yields yaml-cpp's "zombie" node, which throws on most uses: hand out a plain
    // undefined node instead.
    return n.IsDefined() ? n : YAML::Node(YAML::NodeType::Undefined);
}

void Reader::problem(std::string_view key, std::string message) {
    const YAML::Node& map = node_;
    YAML::Node n = map.IsMap() ? map[std::string(key)] : map;
    problems_.push_back(at(n.IsDefined() ? n : node_, key_path(key), std::move(message)));
}

void Reader::problem_here(std::string message) {
    problems_.push_back(at(node_, path_, std::move(message)));
}

std::optional<std::string> Reader::scalar(std::string_view key) {
    YAML::Node n = raw(key);
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
        problem(key, "expected a single value");
        return std::nullopt;
    }
    return n.Scalar();
}

std::int64_t Reader::integer(std::string_view key, std::int64_t def, std::int64_t min,
                             std::int64_t max) {
    auto s = scalar(key);
    if (!s) return def;
    auto v = parse_int(*s);
    if (!v) {
        problem(key, "'" + *s + "' is not an integer");
        return def;
    }
    if (*v < min || *v > max) {
        problem(key, std::to_string(*v) + " is outside " + std::to_string(min) + ".." +
                         std::to_string(max));
        return def;
    }
    return *v;
}

double Reader::number(std::string_view key, double def) {
    auto s = scalar(key);
    if (!s) return def;
    try {
        std::size_t used = 0;
        double v = std::stod(*s, &used);
        if (used == s->size()) return v;
    } catch (const std::exception&) {
    }
    problem(key, "'" + *s + "' is not a number");
    return def;
}

bool Reader::boolean(std::string_view key, bool def) {
    auto s = scalar(key);
    if (!s) return def;
    // YAML 1.1 and 1.2 spellings people write in device configs.
    if (*s == "true" || *s == "yes" || *s == "on" || *s == "enable" || *s == "enabled") return true;
    if (*s == "false" || *s == "no" || *s == "off" || *s == "disable" || *s == "disabled") {
        return false;
    }
    problem(key, "'" + *s + "' is not true or false");
    return def;
}

std::string Reader::text(std::string_view key, std::string def, std::size_t max_len) {
    auto s = scalar(key);
    if (!s) return def;
    if (s->size() > max_len) {
        problem(key, "is " + std::to_string(s->size()) + " characters; at most " +
                         std::to_string(max_len) + " allowed");
        return def;
    }
    for (unsigned char c : *s) {
        if (c < 0x20 || c == 0x7f) {
            problem(key, "contains a control character");
            return def;
        }
    }
    return *s;
}

std::optional<std::uint8_t> Reader::byte(std::string_view key) {
    auto s = scalar(key);
    if (!s) return std::nullopt;
    auto v = parse_int(*s);
    if (!v || *v < 0 || *v > 255) {
        problem(key, "'" + *s + "' is not a byte (0..255 or 0x00..0xff)");
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(*v);
}

std::vector<std::string> Reader::text_list(
    std::string_view key, std::vector<std::string> def, std::size_t max_items, std::size_t max_len,
    const std::function<std::optional<std::string>(const std::string&)>& check) {
    YAML::Node n = raw(key);
    if (!n.IsDefined() || n.IsNull()) return def;
    if (!n.IsSequence()) {
        problem(key, "expected a list");
        return def;
    }
    if (n.size() > max_items) {
        problem(key, "has " + std::to_string(n.size()) + " entries; at most " +
                         std::to_string(max_items) + " allowed");
        return def;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const YAML::Node item = n[i];
        const std::string where = key_path(key) + "[" + std::to_string(i) + "]";
        auto refuse = [&](std::string message) {
            problems_.push_back(at(item, where, std::move(message)));
            ok = false;
        };
        if (!item.IsScalar()) {
            refuse("expected a single value");
            continue;
        }
        const std::string& s = item.Scalar();
        if (s.size() > max_len) {
            refuse("is " + std::to_string(s.size()) + " characters; at most " +
                   std::to_string(max_len) + " allowed");
            continue;
        }
        bool control = false;
        for (unsigned char c : s) control = control || c < 0x20 || c == 0x7f;
        if (control) {
            refuse("contains a control character");
            continue;
        }
        if (check) {
            if (auto why = check(s)) {
                refuse(std::move(*why));
                continue;
            }
        }
        out.push_back(s);
    }
    return ok ? out : def;
}

Reader Reader::child(std::string_view key) {
    return Reader(raw(key), key_path(key), problems_);
}

std::vector<Reader> Reader::sequence(std::string_view key) {
    YAML::Node n = raw(key);
    std::vector<Reader> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsSequence()) {
        problem(key, "expected a list");
        return out;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        out.emplace_back(n[i], key_path(key) + "[" + std::to_string(i) + "]", problems_);
    }
    return out;
}

void Reader::finish() {
    if (!node_.IsMap()) return;
    for (const auto& kv : node_) {
        const std::string k = kv.first.Scalar();
        if (!read_.contains(k)) {
            problems_.push_back(at(kv.first, key_path(k), "unknown setting"));
        }
    }
}

}  // namespace sg::config
