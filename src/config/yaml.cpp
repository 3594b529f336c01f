// yaml.cpp: the configuration document (issue 3 §9) in and out. Called by `serve --config`, SIGHUP,
// `config validate|import|export` and the store, never on the data plane. Reading is strict: every
// field has a type, range and default from the device reference, unknown keys are errors, and any
// problem means nothing of the document is used.
#include "config/yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <type_traits>
#include <variant>

#include "config/allowlist.h"
#include "config/devices.h"
#include "config/mode_yaml.h"
#include "config/reader.h"

namespace sg::config {

// ---------------------------------------------------------------- names

namespace {
// Event type names as the catalogue spells them ("serial.connected"): 1..64 bytes of [a-z0-9_.],
// no empty segment.
bool is_event_type_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
        if (!ok || (c == '.' && prev == '.')) return false;
        prev = c;
    }
    return true;
}

constexpr std::pair<const char*, Parity> kParity[] = {{"none", Parity::None},
                                                      {"odd", Parity::Odd},
                                                      {"even", Parity::Even},
                                                      {"mark", Parity::Mark},
                                                      {"space", Parity::Space}};
constexpr std::pair<const char*, FlowControl> kFlow[] = {{"none", FlowControl::None},
                                                         {"rts_cts", FlowControl::RtsCts},
                                                         {"xon_xoff", FlowControl::XonXoff},
                                                         {"dtr_dsr", FlowControl::DtrDsr}};
constexpr std::pair<const char*, Interface> kInterface[] = {
    {"rs232", Interface::Rs232},
    {"rs422", Interface::Rs422},
    {"rs485_2wire", Interface::Rs485TwoWire},
    {"rs485_4wire", Interface::Rs485FourWire}};

template <typename E, std::size_t N>
const char* name_of(E v, const std::pair<const char*, E> (&names)[N]) {
    for (const auto& [n, e] : names) {
        if (e == v) return n;
    }
    return "?";
}

}  // namespace

const char* to_string(Parity v) {
    return name_of(v, kParity);
}
const char* to_string(FlowControl v) {
    return name_of(v, kFlow);
}
const char* to_string(Interface v) {
    return name_of(v, kInterface);
}
const char* to_string(StopBits v) {
    switch (v) {
        case StopBits::One: return "1";
        case StopBits::OneAndHalf: return "1.5";
        case StopBits::Two: return "2";
    }
    return "?";
}

bool https_restart_required(const HttpsSettings& a, const HttpsSettings& b) {
    // What the API reads at each request is masked out; everything else is taken at start.
    auto taken_at_start = [](HttpsSettings h) {
        const DosSettings defaults;
        h.dos.requests_per_second_per_session = defaults.requests_per_second_per_session;
        h.dos.request_burst_per_session = defaults.request_burst_per_session;
        h.dos.argon2_parallel = defaults.argon2_parallel;
        h.dos.argon2_max_wait_ms = defaults.argon2_max_wait_ms;
        return h;
    };
    return !(taken_at_start(a) == taken_at_start(b));
}

const PortConfig* Config::port(std::uint32_t number) const {
    for (const auto& p : ports) {
        if (p.number == number) return &p;
    }
    return nullptr;
}

std::string format_problem(std::string_view source, const Problem& p) {
    if (p.line > 0)
        return fmt::format("{}:{}:{}: {}: {}", source, p.line, p.column, p.path, p.message);
    return fmt::format("{}: {}: {}", source, p.path, p.message);
}

// ---------------------------------------------------------------- reading

namespace {

constexpr std::uint32_t kMaxPorts = 4096;

SerialSettings read_serial(Reader r) {
    SerialSettings s;
    s.baud = static_cast<std::uint32_t>(r.integer("baud", s.baud, kMinBaud, kMaxBaud));
    s.data_bits = static_cast<std::uint8_t>(r.integer("data_bits", s.data_bits, 5, 8));
    s.parity = r.choice("parity", s.parity, kParity);
    if (r.has("stop_bits")) {
        YAML::Node n = r.raw("stop_bits");
        std::string v = n.IsScalar() ? n.Scalar() : "";
        if (v == "1") {
            s.stop_bits = StopBits::One;
        } else if (v == "1.5") {
            s.stop_bits = StopBits::OneAndHalf;
        } else if (v == "2") {
            s.stop_bits = StopBits::Two;
        } else {
            r.problem("stop_bits", "'" + v + "' is not one of: 1, 1.5, 2");
        }
    }
    s.flow_control = r.choice("flow_control", s.flow_control, kFlow);
    s.interface = r.choice("interface", s.interface, kInterface);
    s.fifo = r.boolean("fifo", s.fifo);
    if (s.stop_bits == StopBits::OneAndHalf && s.data_bits != 5) {
        r.problem("stop_bits", "1.5 stop bits need 5 data bits (device ref. §2)");
    }
    if (s.stop_bits == StopBits::Two && s.data_bits == 5) {
        // A 16550-style UART sends 1.5 stop bits when asked for 2 with 5 data bits.
        r.problem("stop_bits", "with 5 data bits the UART sends 1.5 stop bits: use 1 or 1.5");
    }
    r.finish();
    return s;
}

// https.dos (NE-5, NE-6): each bound's range. No zero caps; timeouts 1..600 s; sizes from 1 KiB.
// max_connections stays well under web::http::Limits::max_sources (4096), which must exceed it.
constexpr std::int64_t kMaxConnections = 1024;
constexpr std::int64_t kMaxRatePerSecond = 1000;  // connections and handshakes
constexpr std::int64_t kMaxConnectionBurst = 10000;
constexpr std::int64_t kMaxRequestsPerSecond = 10000;
constexpr std::int64_t kMaxRequestBurst = 100000;
constexpr std::int64_t kMinArgon2WaitMs =
    100;  // below one Argon2id run: a second login never waits
constexpr std::int64_t kMaxArgon2WaitMs = 10000;  // a waiting request holds a handler thread
constexpr std::int64_t kMinBytes = 1024;
constexpr std::int64_t kMaxHeaderBytes = 64 * 1024;
constexpr std::int64_t kMaxBodyBytes = 16 * 1024 * 1024;
constexpr std::int64_t kMaxTimeoutS = 600;
constexpr std::int64_t kMaxBodyMinRate = 1024 * 1024;

// The one list of https.dos keys: read_dos() and write_dos() both walk it, in this order (the
// export order). config's unit test checks it covers every field of DosSettings in declaration
// order.
constexpr DosKey kDosKeys[] = {
    {"max_connections", &DosSettings::max_connections, 1, kMaxConnections},
    {"max_connections_per_source", &DosSettings::max_connections_per_source, 1, kMaxConnections},
    {"connections_per_second_per_source", &DosSettings::connections_per_second_per_source, 1,
     kMaxRatePerSecond},
    {"connection_burst_per_source", &DosSettings::connection_burst_per_source, 1,
     kMaxConnectionBurst},
    {"handshakes_per_second_per_source", &DosSettings::handshakes_per_second_per_source, 1,
     kMaxRatePerSecond},
    {"handshake_burst_per_source", &DosSettings::handshake_burst_per_source, 1,
     kMaxConnectionBurst},
    {"requests_per_second_per_source", &DosSettings::requests_per_second_per_source, 1,
     kMaxRequestsPerSecond},
    {"request_burst_per_source", &DosSettings::request_burst_per_source, 1, kMaxRequestBurst},
    {"requests_per_second_per_session", &DosSettings::requests_per_second_per_session, 1,
     kMaxRequestsPerSecond},
    {"request_burst_per_session", &DosSettings::request_burst_per_session, 1, kMaxRequestBurst},
    // "auto" (the default) follows the host: min(2, cores − 1), at least 1 (NE-5). A number is
    // not checked against this host's cores: a stored configuration must still load on a smaller
    // machine. Applied as min(value, cores) (set_argon2_parallelism).
    {"argon2_parallel", &DosSettings::argon2_parallel, 1, kMaxArgon2Parallel, true},
    {"argon2_max_wait_ms", &DosSettings::argon2_max_wait_ms, kMinArgon2WaitMs, kMaxArgon2WaitMs},
    {"header_bytes", &DosSettings::header_bytes, kMinBytes, kMaxHeaderBytes},
    {"body_bytes", &DosSettings::body_bytes, kMinBytes, kMaxBodyBytes},
    {"handshake_timeout_s", &DosSettings::handshake_timeout_s, 1, kMaxTimeoutS},
    {"header_timeout_s", &DosSettings::header_timeout_s, 1, kMaxTimeoutS},
    {"body_timeout_s", &DosSettings::body_timeout_s, 1, kMaxTimeoutS},
    {"body_min_bytes_per_second", &DosSettings::body_min_bytes_per_second, 1, kMaxBodyMinRate},
    {"idle_timeout_s", &DosSettings::idle_timeout_s, 1, kMaxTimeoutS},
};

// Every range fits its field's type (read_dos_key() casts the checked value to it).
constexpr bool dos_ranges_fit() {
    for (const DosKey& k : kDosKeys) {
        const bool fits = std::visit(
            [&](auto field) {
                using T = std::remove_reference_t<decltype(DosSettings{}.*field)>;
                return 0 <= k.min && k.min <= k.max && k.max <= std::numeric_limits<T>::max();
            },
            k.field);
        if (!fits) return false;
    }
    return true;
}
static_assert(dos_ranges_fit());

// One row of kDosKeys into `value`, which holds the default. A refused value leaves the default.
template <typename T>
void read_dos_key(Reader& r, const DosKey& k, T& value) {
    if (!k.auto_is_zero) {
        value = static_cast<T>(r.integer(k.key, value, k.min, k.max));
        return;
    }
    if (!r.has(k.key)) return;
    const YAML::Node n = r.raw(k.key);
    const std::string v = n.IsScalar() ? n.Scalar() : "";
    const bool digits =
        !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (v == "auto") {
        value = 0;
    } else if (!digits) {
        r.problem(k.key, fmt::format("'{}' is not auto or an integer in {}..{}", v, k.min, k.max));
    } else {
        value = static_cast<T>(r.integer(k.key, value, k.min, k.max));
    }
}

DosSettings read_dos(Reader r) {
    DosSettings d;
    const std::size_t problems_before = r.problems().size();
    for (const DosKey& k : kDosKeys) {
        std::visit([&](auto field) { read_dos_key(r, k, d.*field); }, k.field);
    }
    // Cross-field rules only over values that passed their own range (a refused one would be
    // compared as its default, naming the wrong culprit).
    if (r.problems().size() == problems_before) {
        if (d.max_connections_per_source > d.max_connections) {
            r.problem("max_connections_per_source",
                      fmt::format("{} is above max_connections ({})", d.max_connections_per_source,
                                  d.max_connections));
        }
        // A bucket must hold at least one second's worth of its rate.
        auto burst = [&r](std::string_view key, std::uint32_t v, std::string_view rate_key,
                          std::uint32_t rate) {
            if (v < rate) r.problem(key, fmt::format("{} is below {} ({})", v, rate_key, rate));
        };
        burst("connection_burst_per_source", d.connection_burst_per_source,
              "connections_per_second_per_source", d.connections_per_second_per_source);
        burst("handshake_burst_per_source", d.handshake_burst_per_source,
              "handshakes_per_second_per_source", d.handshakes_per_second_per_source);
        burst("request_burst_per_source", d.request_burst_per_source,
              "requests_per_second_per_source", d.requests_per_second_per_source);
        burst("request_burst_per_session", d.request_burst_per_session,
              "requests_per_second_per_session", d.requests_per_second_per_session);
    }
    r.finish();
    return d;
}

// serial_dos (guide §3.7; NE-5): the data plane's per-source bounds, one table for reading and
// writing (export order).
constexpr SerialDosKey kSerialDosKeys[] = {
    {"max_connections_per_source", &SerialDosSettings::max_connections_per_source, 1, 1024},
    {"connections_per_second_per_source", &SerialDosSettings::connections_per_second_per_source, 1,
     1000},
    {"connection_burst_per_source", &SerialDosSettings::connection_burst_per_source, 1, 10000,
     "connections_per_second_per_source"},
    {"handshakes_per_second_per_source", &SerialDosSettings::handshakes_per_second_per_source, 1,
     1000},
    {"handshake_burst_per_source", &SerialDosSettings::handshake_burst_per_source, 1, 10000,
     "handshakes_per_second_per_source"},
    {"datagrams_per_second_per_source", &SerialDosSettings::datagrams_per_second_per_source, 1,
     100000},
    {"datagram_burst_per_source", &SerialDosSettings::datagram_burst_per_source, 1, 1000000,
     "datagrams_per_second_per_source"},
};

SerialDosSettings read_serial_dos(Reader r) {
    SerialDosSettings d;
    const std::size_t problems_before = r.problems().size();
    d.enabled = r.boolean("enabled", d.enabled);
    for (const SerialDosKey& k : kSerialDosKeys) {
        d.*k.field = static_cast<std::uint32_t>(r.integer(k.key, d.*k.field, k.min, k.max));
    }
    if (r.problems().size() == problems_before) {
        // A bucket holds at least one second's worth of its rate (as in https.dos).
        for (const SerialDosKey& burst : kSerialDosKeys) {
            if (*burst.burst_of == 0) continue;
            for (const SerialDosKey& rate : kSerialDosKeys) {
                if (std::string_view(rate.key) != burst.burst_of) continue;
                if (d.*burst.field < d.*rate.field) {
                    r.problem(burst.key, fmt::format("{} is below {} ({})", d.*burst.field,
                                                     rate.key, d.*rate.field));
                }
            }
        }
    }
    r.finish();
    return d;
}

// allowlist (guide §3.5; NE-2, NE-3): every entry parsed here, so a bad one names its key.
AllowlistSettings read_allowlist(Reader r) {
    AllowlistSettings a;
    const std::size_t problems_before = r.problems().size();
    a.enabled = r.boolean("enabled", a.enabled);
    const YAML::Node list = r.raw("entries");
    if (list.IsDefined() && !list.IsNull()) {
        if (!list.IsSequence()) {
            r.problem("entries", "expected a list");
        } else if (list.size() > kMaxAllowlistEntries) {
            r.problem("entries", fmt::format("{} entries; at most {} allowed", list.size(),
                                             kMaxAllowlistEntries));
        } else {
            std::vector<Problem>& problems = r.problems();
            std::set<std::string> seen;
            for (std::size_t i = 0; i < list.size(); ++i) {
                const YAML::Node n = list[i];
                const std::string at = r.path() + ".entries[" + std::to_string(i) + "]";
                const auto mark = n.Mark();
                auto report = [&](std::string message) {
                    problems.push_back(Problem{at, mark.line >= 0 ? mark.line + 1 : 0,
                                               mark.line >= 0 ? mark.column + 1 : 0,
                                               std::move(message)});
                };
                if (!n.IsScalar()) {
                    report("expected a single value");
                    continue;
                }
                const std::string& text = n.Scalar();
                const auto parsed = parse_allow_entry(text);
                if (const auto* why = std::get_if<std::string>(&parsed)) {
                    report(*why);
                } else if (!seen.insert(text).second) {
                    report("'" + text + "' is listed twice");
                } else {
                    a.entries.push_back(text);
                }
            }
        }
    }
    if (a.enabled && a.entries.empty() && r.problems().size() == problems_before) {
        // NE-3: an enabled empty list would refuse every client, the administrator included.
        r.problem_here(std::string(kEmptyAllowlistMessage));
    }
    r.finish();
    return a;
}

// remote_certificates (CE-5): a list of PEM texts, one CA certificate each. Read by hand rather
// than with text_list(): a PEM is many lines.
std::vector<std::string> read_remote_certificates(Reader& r, const ParseOptions& options) {
    std::vector<std::string> out;
    const YAML::Node list = r.raw("remote_certificates");
    if (!list.IsDefined() || list.IsNull()) return out;
    if (!list.IsSequence()) {
        r.problem("remote_certificates", "expected a list of PEM certificates");
        return out;
    }
    if (list.size() > kMaxRemoteCertificates) {
        r.problem("remote_certificates", fmt::format("{} entries; at most {} allowed", list.size(),
                                                     kMaxRemoteCertificates));
        return out;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const YAML::Node n = list[i];
        const auto mark = n.Mark();
        auto report = [&](std::string message) {
            r.problems().push_back(Problem{"remote_certificates[" + std::to_string(i) + "]",
                                           mark.line >= 0 ? mark.line + 1 : 0,
                                           mark.line >= 0 ? mark.column + 1 : 0,
                                           std::move(message)});
        };
        if (!n.IsScalar() || n.Scalar().empty()) {
            report("expected one PEM certificate");
            continue;
        }
        const std::string& pem = n.Scalar();
        if (pem.size() > kMaxRemoteCertificateBytes) {
            report(fmt::format("is {} bytes; at most {} allowed", pem.size(),
                               kMaxRemoteCertificateBytes));
            continue;
        }
        std::string result = pem;
        if (options.check_remote_certificate && !options.check_remote_certificate(pem, result)) {
            report(result);
            continue;
        }
        if (!seen.insert(result).second) {
            report("the same certificate is listed twice");
            continue;
        }
        out.push_back(pem);
    }
    return out;
}

PortConfig read_port(Reader r) {
    PortConfig p;
    p.number = static_cast<std::uint32_t>(r.integer("port", 0, 1, kMaxPorts));
    if (!r.has("port")) r.problem_here("port needs a 'port' number");
    p.alias = r.text("alias", "", 16);
    p.device = r.text("device", "", 4096);
    if (p.device.empty()) r.problem_here("port needs a 'device'");
    p.serial = read_serial(r.child("serial"));
    p.mode = detail::read_mode(r.child("mode"), p.number);
    r.finish();
    return p;
}

}  // namespace

std::span<const DosKey> dos_keys() {
    return kDosKeys;
}

std::span<const SerialDosKey> serial_dos_keys() {
    return kSerialDosKeys;
}

ParseResult parse_yaml(std::string_view text, const ParseOptions& options) {
    ParseResult out;
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        out.problems.push_back(Problem{"(document)", e.mark.line + 1, e.mark.column + 1, e.msg});
        return out;
    }
    Config c;
    Reader r(root, "", out.problems);
    if (!r.is_map()) return out;

    Reader sys = r.child("system");
    c.system.device_name = sys.text("device_name", c.system.device_name, 39);
    c.system.location = sys.text("location", "", 80);
    c.system.description = sys.text("description", "", 80);
    c.system.contact = sys.text("contact", "", 80);
    c.system.listen_address = sys.text("listen_address", c.system.listen_address, 64);
    c.system.allowed_devices = sys.text_list(
        "allowed_devices", c.system.allowed_devices, kMaxDevicePatterns, kMaxDevicePatternLength,
        [](const std::string& pattern) { return device_pattern_problem(pattern); });
    c.system.io_threads =
        static_cast<std::uint8_t>(sys.integer("io_threads", c.system.io_threads, 0, kMaxIoThreads));
    sys.finish();

    Reader pw = r.child("password_policy");
    auto& pp = c.password_policy;
    pp.min_length = static_cast<std::uint8_t>(pw.integer("min_length", pp.min_length, 8, 64));
    pp.strength_check = pw.boolean("strength_check", pp.strength_check);
    pp.require_digit = pw.boolean("require_digit", pp.require_digit);
    pp.require_mixed_case = pw.boolean("require_mixed_case", pp.require_mixed_case);
    pp.require_special = pw.boolean("require_special", pp.require_special);
    pp.lifetime_days =
        static_cast<std::uint16_t>(pw.integer("lifetime_days", pp.lifetime_days, 0, 180));
    pp.force_change_at_expiry = pw.boolean("force_change_at_expiry", pp.force_change_at_expiry);
    pw.finish();

    Reader lg = r.child("login");
    auto& ls = c.login;
    ls.lockout_enabled = lg.boolean("lockout_enabled", ls.lockout_enabled);
    ls.retry_failure_threshold = static_cast<std::uint8_t>(
        lg.integer("retry_failure_threshold", ls.retry_failure_threshold, 1, 10));
    ls.lockout_duration_min = static_cast<std::uint8_t>(
        lg.integer("lockout_duration_min", ls.lockout_duration_min, 1, 60));
    ls.login_message = lg.text("login_message", "", 240);
    ls.login_failure_message = lg.text("login_failure_message", "", 240);
    ls.max_web_sessions =
        static_cast<std::uint8_t>(lg.integer("max_web_sessions", ls.max_web_sessions, 1, 10));
    ls.max_sessions_per_account = static_cast<std::uint8_t>(
        lg.integer("max_sessions_per_account", ls.max_sessions_per_account, 1, 10));
    if (ls.max_sessions_per_account > ls.max_web_sessions) {
        lg.problem("max_sessions_per_account", "must not exceed max_web_sessions");
    }
    ls.session_timeout_min = static_cast<std::uint16_t>(
        lg.integer("session_timeout_min", ls.session_timeout_min, 1, 1440));
    lg.finish();

    Reader hs = r.child("https");
    auto& h = c.https;
    h.enabled = hs.boolean("enabled", h.enabled);
    h.port = static_cast<std::uint16_t>(hs.integer("port", h.port, 1, 65535));
    h.listen_address = hs.text("listen_address", h.listen_address, 64);
    h.http_redirect = hs.boolean("http_redirect", h.http_redirect);
    h.http_port = static_cast<std::uint16_t>(hs.integer("http_port", h.http_port, 1, 65535));
    h.allow_rsa_1024 = hs.boolean("allow_rsa_1024", h.allow_rsa_1024);
    h.dos = read_dos(hs.child("dos"));
    hs.finish();

    c.allowlist = read_allowlist(r.child("allowlist"));
    c.serial_dos = read_serial_dos(r.child("serial_dos"));
    c.remote_certificates = read_remote_certificates(r, options);

    Reader ev = r.child("event_log");
    Reader types = ev.child("types");
    std::vector<std::string> type_keys;  // collected first: reading must not disturb the iteration
    if (types.node().IsMap()) {
        for (const auto& kv : types.node()) type_keys.push_back(kv.first.Scalar());
    }
    {
        for (const std::string& key : type_keys) {
            if (!is_event_type_name(key)) {
                // Checked before any catalogue lookup so that a name that cannot round-trip
                // through the exporter (control bytes, invalid UTF-8) never enters the model
                // (found by config_yaml_fuzz).
                types.problem(key, "an event type is lower-case letters, digits, '_' and '.'");
                types.raw(key);
                continue;
            }
            if (options.is_event_type && !options.is_event_type(key)) {
                types.problem(key, "unknown event type");
                types.raw(key);
                continue;
            }
            const bool on = types.boolean(key, true);
            if (!on && options.is_mandatory_event && options.is_mandatory_event(key)) {
                // AU-3: Security Error/Warning events are always recorded.
                types.problem(key,
                              "a Security event of severity Error or Warning cannot be "
                              "switched off");
                continue;
            }
            c.event_log.types[key] = on;
        }
    }
    types.finish();
    ev.finish();

    for (auto& pr : r.sequence("ports")) c.ports.push_back(read_port(std::move(pr)));
    r.finish();

    if (out.problems.empty()) {
        auto more = validate(c);
        out.problems.insert(out.problems.end(), more.begin(), more.end());
    }
    if (out.problems.empty()) {
        std::sort(c.ports.begin(), c.ports.end(),
                  [](const PortConfig& a, const PortConfig& b) { return a.number < b.number; });
        out.config = std::move(c);
    }
    return out;
}

core::Result<Config> load_yaml(std::string_view text, std::string_view source,
                               const ParseOptions& options) {
    auto res = parse_yaml(text, options);
    if (res.config) return std::move(*res.config);
    std::string msg;
    for (const auto& p : res.problems) {
        if (!msg.empty()) msg += '\n';
        msg += format_problem(source, p);
    }
    return core::make_error(core::Errc::invalid_config, msg);
}

// ---------------------------------------------------------------- cross-field rules

namespace {
bool valid_ipv4_or_6(const std::string& s);
}

std::vector<Problem> validate(const Config& c) {
    std::vector<Problem> out;
    if (!valid_ipv4_or_6(c.system.listen_address)) {
        out.push_back({"system.listen_address", 0, 0,
                       "'" + c.system.listen_address + "' is not an IP address"});
    }
    if (!valid_ipv4_or_6(c.https.listen_address)) {
        out.push_back({"https.listen_address", 0, 0,
                       "'" + c.https.listen_address + "' is not an IP address"});
    }
    std::map<std::uint32_t, std::size_t> numbers;
    std::map<std::uint16_t, std::string> tcp_ports;  // listening port -> who
    if (c.https.enabled) tcp_ports.emplace(c.https.port, "https.port");
    if (c.https.http_redirect && !tcp_ports.emplace(c.https.http_port, "https.http_port").second) {
        out.push_back({"https.http_port", 0, 0, "the HTTP redirect cannot share the HTTPS port"});
    }
    std::map<std::uint16_t, std::string> udp_ports;
    std::map<std::string, std::uint32_t> devices;
    std::map<std::string, int> null_modem_ends;
    for (std::size_t i = 0; i < c.ports.size(); ++i) {
        const auto& p = c.ports[i];
        const std::string at = "ports[" + std::to_string(i) + "]";
        if (!numbers.emplace(p.number, i).second) {
            out.push_back(
                {at + ".port", 0, 0, "port " + std::to_string(p.number) + " is defined twice"});
        }
        // Issue 14 item 12: matched on the text alone, so the message is the same whether or not
        // the path exists (and serial::open() checks again before it opens anything).
        if (!device_allowed(c.system.allowed_devices, p.device)) {
            out.push_back({at + ".device", 0, 0, device_not_allowed_message(p.device)});
        }
        if (p.device.rfind("sim:null-modem:", 0) == 0) {
            if (++null_modem_ends[p.device] > 2) {
                out.push_back(
                    {at + ".device", 0, 0, "a null-modem pair has only two ends: " + p.device});
            }
        } else if (auto [it, fresh] = devices.emplace(p.device, p.number); !fresh) {
            out.push_back({at + ".device", 0, 0,
                           p.device + " is already used by port " + std::to_string(it->second)});
        }
        for (const auto& claim : detail::listening(p.mode)) {
            auto& used = claim.udp ? udp_ports : tcp_ports;
            const std::string who = "port " + std::to_string(p.number) + " " + claim.field;
            auto [it, fresh] = used.emplace(claim.port, who);
            if (!fresh) {
                out.push_back({at + ".mode." + claim.field, 0, 0,
                               std::string(claim.udp ? "UDP" : "TCP") + " port " +
                                   std::to_string(claim.port) + " is already used by " +
                                   it->second});
            }
        }
    }
    return out;
}

namespace {
bool valid_ipv4_or_6(const std::string& s) {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(s, ec);
    return !ec;
}
}  // namespace

// ---------------------------------------------------------------- writing

namespace {

void write_dos(YAML::Emitter& e, const DosSettings& d) {
    e << YAML::Key << "dos" << YAML::Value << YAML::BeginMap;
    for (const DosKey& k : kDosKeys) {
        e << YAML::Key << k.key << YAML::Value;
        std::visit(
            [&](auto field) {
                if (k.auto_is_zero && d.*field == 0) {
                    e << "auto";
                } else {
                    e << d.*field;
                }
            },
            k.field);
    }
    e << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Config& c) {
    YAML::Emitter e;
    e << YAML::BeginMap;
    e << YAML::Key << "system" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "device_name" << YAML::Value << c.system.device_name;
    e << YAML::Key << "location" << YAML::Value << c.system.location;
    e << YAML::Key << "description" << YAML::Value << c.system.description;
    e << YAML::Key << "contact" << YAML::Value << c.system.contact;
    e << YAML::Key << "listen_address" << YAML::Value << c.system.listen_address;
    e << YAML::Key << "allowed_devices" << YAML::Value << YAML::BeginSeq;
    for (const auto& pattern : c.system.allowed_devices) e << YAML::DoubleQuoted << pattern;
    e << YAML::EndSeq;
    e << YAML::Key << "io_threads" << YAML::Value << int{c.system.io_threads};
    e << YAML::EndMap;

    const auto& pp = c.password_policy;
    e << YAML::Key << "password_policy" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "min_length" << YAML::Value << int{pp.min_length};
    e << YAML::Key << "strength_check" << YAML::Value << pp.strength_check;
    e << YAML::Key << "require_digit" << YAML::Value << pp.require_digit;
    e << YAML::Key << "require_mixed_case" << YAML::Value << pp.require_mixed_case;
    e << YAML::Key << "require_special" << YAML::Value << pp.require_special;
    e << YAML::Key << "lifetime_days" << YAML::Value << pp.lifetime_days;
    e << YAML::Key << "force_change_at_expiry" << YAML::Value << pp.force_change_at_expiry;
    e << YAML::EndMap;

    const auto& ls = c.login;
    e << YAML::Key << "login" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "lockout_enabled" << YAML::Value << ls.lockout_enabled;
    e << YAML::Key << "retry_failure_threshold" << YAML::Value << int{ls.retry_failure_threshold};
    e << YAML::Key << "lockout_duration_min" << YAML::Value << int{ls.lockout_duration_min};
    e << YAML::Key << "login_message" << YAML::Value << YAML::DoubleQuoted << ls.login_message;
    e << YAML::Key << "login_failure_message" << YAML::Value << YAML::DoubleQuoted
      << ls.login_failure_message;
    e << YAML::Key << "max_web_sessions" << YAML::Value << int{ls.max_web_sessions};
    e << YAML::Key << "max_sessions_per_account" << YAML::Value << int{ls.max_sessions_per_account};
    e << YAML::Key << "session_timeout_min" << YAML::Value << ls.session_timeout_min;
    e << YAML::EndMap;

    const auto& h = c.https;
    e << YAML::Key << "https" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "enabled" << YAML::Value << h.enabled;
    e << YAML::Key << "port" << YAML::Value << h.port;
    e << YAML::Key << "listen_address" << YAML::Value << h.listen_address;
    e << YAML::Key << "http_redirect" << YAML::Value << h.http_redirect;
    e << YAML::Key << "http_port" << YAML::Value << h.http_port;
    e << YAML::Key << "allow_rsa_1024" << YAML::Value << h.allow_rsa_1024;
    write_dos(e, h.dos);
    e << YAML::EndMap;

    e << YAML::Key << "allowlist" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "enabled" << YAML::Value << c.allowlist.enabled;
    e << YAML::Key << "entries" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& entry : c.allowlist.entries) e << YAML::DoubleQuoted << entry;
    e << YAML::EndSeq << YAML::EndMap;

    e << YAML::Key << "serial_dos" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "enabled" << YAML::Value << c.serial_dos.enabled;
    for (const SerialDosKey& k : kSerialDosKeys) {
        e << YAML::Key << k.key << YAML::Value << c.serial_dos.*k.field;
    }
    e << YAML::EndMap;
    if (!c.remote_certificates.empty()) {
        e << YAML::Key << "remote_certificates" << YAML::Value << YAML::BeginSeq;
        for (const auto& pem : c.remote_certificates) e << YAML::Literal << pem;
        e << YAML::EndSeq;
    }

    e << YAML::Key << "event_log" << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "types" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : c.event_log.types) e << YAML::Key << k << YAML::Value << v;
    e << YAML::EndMap << YAML::EndMap;

    e << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : c.ports) {
        e << YAML::BeginMap;
        e << YAML::Key << "port" << YAML::Value << p.number;
        if (!p.alias.empty()) e << YAML::Key << "alias" << YAML::Value << p.alias;
        e << YAML::Key << "device" << YAML::Value << p.device;
        e << YAML::Key << "serial" << YAML::Value << YAML::Flow << YAML::BeginMap;
        e << YAML::Key << "baud" << YAML::Value << p.serial.baud;
        e << YAML::Key << "data_bits" << YAML::Value << int{p.serial.data_bits};
        e << YAML::Key << "parity" << YAML::Value << to_string(p.serial.parity);
        e << YAML::Key << "stop_bits" << YAML::Value << to_string(p.serial.stop_bits);
        e << YAML::Key << "flow_control" << YAML::Value << to_string(p.serial.flow_control);
        e << YAML::Key << "interface" << YAML::Value << to_string(p.serial.interface);
        e << YAML::Key << "fifo" << YAML::Value << p.serial.fifo;
        e << YAML::EndMap;
        detail::write_mode(e, p.mode);
        e << YAML::EndMap;
    }
    e << YAML::EndSeq;
    e << YAML::EndMap;
    return std::string(e.c_str()) + "\n";
}

}  // namespace sg::config
