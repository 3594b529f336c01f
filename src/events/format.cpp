// format.cpp: JSON and CSV of events, and the filter words (see format.h). Pure functions.
#include "events/format.h"

#include <fmt/format.h>
#include <strings.h>

#include <cctype>

#include "core/clock.h"

namespace sg::events {

namespace {

std::string csv_field(const std::string& s) {
    std::string v = s;
    // OWASP CSV injection: a spreadsheet runs a cell that starts with = + - @, and also one whose
    // = follows a leading TAB or CR (issue 14 item 11); a quote first makes any of them text.
    if (!v.empty() && std::string_view("=+-@\t\r").find(v[0]) != std::string_view::npos) {
        v = "'" + v;
    }
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

template <typename E>
std::optional<E> parse_enum(std::string_view s,
                            std::initializer_list<std::pair<const char*, E>> l) {
    const std::string v(s);
    for (const auto& [n, e] : l) {
        if (strcasecmp(v.c_str(), n) == 0) return e;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Category> parse_category(std::string_view s) {
    return parse_enum<Category>(s, {{"system", Category::System},
                                    {"network", Category::Network},
                                    {"security", Category::Security},
                                    {"maintenance", Category::Maintenance},
                                    {"serial", Category::Serial}});
}

std::optional<Severity> parse_severity(std::string_view s) {
    return parse_enum<Severity>(s, {{"error", Severity::Error},
                                    {"1", Severity::Error},
                                    {"warning", Severity::Warning},
                                    {"2", Severity::Warning},
                                    {"notice", Severity::Notice},
                                    {"3", Severity::Notice},
                                    {"informational", Severity::Informational},
                                    {"info", Severity::Informational},
                                    {"4", Severity::Informational}});
}

nlohmann::json to_json(const Event& e) {
    return {{"id", e.id},
            {"time", core::format_utc(e.time_us)},
            {"type", e.type_key},
            {"category", to_string(e.category)},
            {"severity", to_string(e.severity)},
            {"port", e.port ? nlohmann::json(*e.port) : nlohmann::json()},
            {"account", e.account},
            {"source", e.source},
            {"message", e.message}};
}

nlohmann::json to_json(const Retention& r) {
    nlohmann::json kept = nlohmann::json::object();
    nlohmann::json overwritten = nlohmann::json::object();
    for (const auto c : {Category::System, Category::Network, Category::Security,
                         Category::Maintenance, Category::Serial}) {
        std::string name = to_string(c);
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        kept[name] = r.kept[static_cast<std::size_t>(c)];
        overwritten[name] = r.overwritten[static_cast<std::size_t>(c)];
    }
    kept["total"] = r.kept_total();
    overwritten["total"] = r.overwritten_total();
    return {{"capacity", r.capacity},
            {"security_share", r.security_share},
            {"kept", kept},
            {"overwritten", overwritten}};
}

std::string to_csv_line(const Event& e) {
    return fmt::format("{},{},{},{},{},{},{},{},{}\n", e.id, core::format_utc(e.time_us),
                       csv_field(e.type_key), to_string(e.category), to_string(e.severity),
                       e.port ? std::to_string(*e.port) : "", csv_field(e.account),
                       csv_field(e.source), csv_field(e.message));
}

}  // namespace sg::events
