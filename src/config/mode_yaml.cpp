// mode_yaml.cpp: every operation mode's settings in YAML, with the device reference's ranges and
// "+ N" defaults (device ref. §3). Called by yaml.cpp only; no side effects.
#include "config/mode_yaml.h"

#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>

namespace sg::config {

namespace {
constexpr std::pair<const char*, DelimiterProcess> kDelimProcess[] = {
    {"do_nothing", DelimiterProcess::DoNothing},
    {"delimiter_plus_1", DelimiterProcess::DelimiterPlus1},
    {"delimiter_plus_2", DelimiterProcess::DelimiterPlus2},
    {"strip_delimiter", DelimiterProcess::StripDelimiter}};
constexpr std::pair<const char*, ConnectionControl> kConnectionControl[] = {
    {"startup/none", ConnectionControl::StartupNone},
    {"any_character/none", ConnectionControl::AnyCharacterNone},
    {"any_character/inactivity_time", ConnectionControl::AnyCharacterInactivity},
    {"dsr_on/dsr_off", ConnectionControl::DsrOnDsrOff},
    {"dsr_on/none", ConnectionControl::DsrOnNone},
    {"dcd_on/dcd_off", ConnectionControl::DcdOnDcdOff},
    {"dcd_on/none", ConnectionControl::DcdOnNone}};

constexpr std::pair<const char*, Security> kSecurity[] = {
    {"plain", Security::Plain},
    {"encrypted", Security::Encrypted},
    {"encrypted_authenticated", Security::EncryptedAuthenticated}};

template <typename E, std::size_t N>
const char* name_of(E v, const std::pair<const char*, E> (&names)[N]) {
    for (const auto& [n, e] : names) {
        if (e == v) return n;
    }
    return "?";
}

bool is_ipv4(const std::string& s) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(s, ec);
    return !ec && a.is_v4();
}
}  // namespace

const char* to_string(DelimiterProcess v) {
    return name_of(v, kDelimProcess);
}
const char* to_string(ConnectionControl v) {
    return name_of(v, kConnectionControl);
}
const char* to_string(Security v) {
    return name_of(v, kSecurity);
}

const char* mode_type_name(const ModeSettings& m) {
    struct V {
        const char* operator()(const DisabledSettings&) const { return "disabled"; }
        const char* operator()(const TcpServerSettings&) const { return "tcp_server"; }
        const char* operator()(const RealComSettings&) const { return "real_com"; }
        const char* operator()(const Rfc2217Settings&) const { return "rfc2217"; }
        const char* operator()(const TcpClientSettings&) const { return "tcp_client"; }
        const char* operator()(const UdpSettings&) const { return "udp"; }
        const char* operator()(const PairMasterSettings&) const { return "pair_master"; }
        const char* operator()(const PairSlaveSettings&) const { return "pair_slave"; }
    };
    return std::visit(V{}, m);
}

namespace detail {

namespace {

void read_packing(Reader& r, PackingSettings& p) {
    p.packing_length = static_cast<std::uint16_t>(r.integer("packing_length", 0, 0, 1024));
    p.delimiter_1 = r.byte("delimiter_1");
    p.delimiter_2 = r.byte("delimiter_2");
    p.delimiter_process = r.choice("delimiter_process", p.delimiter_process, kDelimProcess);
    p.force_transmit_ms = static_cast<std::uint16_t>(r.integer("force_transmit_ms", 0, 0, 65535));
    if (p.delimiter_2 && !p.delimiter_1) {
        r.problem("delimiter_2", "needs delimiter_1 (the pair must match in order)");
    }
    if (p.delimiter_process != DelimiterProcess::DoNothing && !p.delimiter_1) {
        r.problem("delimiter_process", "needs delimiter_1");
    }
}

std::uint16_t port_number(Reader& r, std::string_view key, std::uint32_t def) {
    return static_cast<std::uint16_t>(r.integer(key, def <= 65535 ? def : 0, 1, 65535));
}

std::uint8_t alive(Reader& r) {
    return static_cast<std::uint8_t>(r.integer("tcp_alive_check_min", 7, 0, 99));
}

Security security(Reader& r) {
    return r.choice("security", Security::Plain, kSecurity);
}

std::string host(Reader& r, std::string_view key) {
    std::string h = r.text(key, "", 253);
    if (!r.has(key)) r.problem_here(fmt::format("needs '{}' (an IP address or host name)", key));
    for (char c : h) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
              c == '_')) {
            r.problem(key, "'" + h + "' is not an IP address or host name");
            break;
        }
    }
    return h;
}

TcpServerSettings read_tcp_server(Reader& r, std::uint32_t n) {
    TcpServerSettings s;
    s.local_port = port_number(r, "local_port", 4000 + n);
    s.command_port = port_number(r, "command_port", 965 + n);
    s.max_connections = static_cast<std::uint8_t>(r.integer("max_connections", 1, 1, 8));
    s.ignore_jammed_ip = r.boolean("ignore_jammed_ip", false);
    s.allow_driver_control = r.boolean("allow_driver_control", false);
    s.tcp_alive_check_min = alive(r);
    s.inactivity_time_ms = static_cast<std::uint16_t>(r.integer("inactivity_time_ms", 0, 0, 65535));
    s.security = security(r);
    read_packing(r, s.packing);
    if (s.local_port == s.command_port) r.problem("command_port", "must differ from local_port");
    if (s.inactivity_time_ms != 0 && s.packing.force_transmit_ms != 0 &&
        s.inactivity_time_ms < s.packing.force_transmit_ms) {
        r.problem("inactivity_time_ms", "must not be shorter than force_transmit_ms");
    }
    return s;
}

RealComSettings read_real_com(Reader& r, std::uint32_t n) {
    RealComSettings s;
    s.data_port = port_number(r, "data_port", 949 + n);
    s.command_port = port_number(r, "command_port", 965 + n);
    s.max_connections = static_cast<std::uint8_t>(r.integer("max_connections", 1, 1, 8));
    s.ignore_jammed_ip = r.boolean("ignore_jammed_ip", false);
    s.allow_driver_control = r.boolean("allow_driver_control", false);
    s.tcp_alive_check_min = alive(r);
    s.security = security(r);
    read_packing(r, s.packing);
    if (s.data_port == s.command_port) r.problem("command_port", "must differ from data_port");
    return s;
}

Rfc2217Settings read_rfc2217(Reader& r, std::uint32_t n) {
    Rfc2217Settings s;
    s.local_port = port_number(r, "local_port", 4000 + n);
    s.tcp_alive_check_min = alive(r);
    s.security = security(r);
    read_packing(r, s.packing);
    return s;
}

TcpClientSettings read_tcp_client(Reader& r) {
    TcpClientSettings s;
    for (auto& d : r.sequence("destinations")) {
        Destination dest;
        dest.host = host(d, "host");
        dest.port = static_cast<std::uint16_t>(d.integer("port", 4001, 1, 65535));
        dest.local_port = static_cast<std::uint16_t>(d.integer("local_port", 0, 0, 65535));
        dest.verify = d.boolean("verify", true);
        d.finish();
        s.destinations.push_back(std::move(dest));
    }
    if (s.destinations.empty() || s.destinations.size() > 4) {
        r.problem("destinations", "needs 1 to 4 destinations (host and port)");
    }
    s.connection_control = r.choice("connection_control", s.connection_control, kConnectionControl);
    s.inactivity_time_ms = static_cast<std::uint16_t>(r.integer("inactivity_time_ms", 0, 0, 65535));
    s.tcp_alive_check_min = alive(r);
    s.ignore_jammed_ip = r.boolean("ignore_jammed_ip", false);
    s.security = security(r);
    read_packing(r, s.packing);
    if (s.connection_control == ConnectionControl::AnyCharacterInactivity &&
        s.inactivity_time_ms == 0) {
        r.problem("inactivity_time_ms", "any_character/inactivity_time needs inactivity_time_ms");
    }
    return s;
}

UdpSettings read_udp(Reader& r, std::uint32_t n) {
    UdpSettings s;
    s.local_port = port_number(r, "local_port", 4000 + n);
    for (auto& d : r.sequence("destinations")) {
        UdpDestination dest;
        dest.begin = d.text("begin", "", 15);
        dest.end = d.text("end", dest.begin, 15);
        dest.port = static_cast<std::uint16_t>(d.integer("port", 4001, 1, 65535));
        if (!is_ipv4(dest.begin)) {
            d.problem("begin", "'" + dest.begin + "' is not an IPv4 address");
        } else if (!is_ipv4(dest.end)) {
            d.problem("end", "'" + dest.end + "' is not an IPv4 address");
        } else if (boost::asio::ip::make_address_v4(dest.end).to_uint() <
                   boost::asio::ip::make_address_v4(dest.begin).to_uint()) {
            d.problem("end", "comes before begin");
        } else if (boost::asio::ip::make_address_v4(dest.end).to_uint() -
                       boost::asio::ip::make_address_v4(dest.begin).to_uint() >=
                   256) {
            d.problem("end", "a range holds at most 256 addresses");
        }
        d.finish();
        s.destinations.push_back(std::move(dest));
    }
    if (s.destinations.size() > 4) r.problem("destinations", "at most 4 ranges");
    s.accept_from_any = r.boolean("accept_from_any", false);
    read_packing(r, s.packing);
    return s;
}

void write_packing(YAML::Emitter& e, const PackingSettings& p) {
    e << YAML::Key << "packing_length" << YAML::Value << p.packing_length;
    if (p.delimiter_1) {
        e << YAML::Key << "delimiter_1" << YAML::Value << fmt::format("0x{:02x}", *p.delimiter_1);
    }
    if (p.delimiter_2) {
        e << YAML::Key << "delimiter_2" << YAML::Value << fmt::format("0x{:02x}", *p.delimiter_2);
    }
    e << YAML::Key << "delimiter_process" << YAML::Value << to_string(p.delimiter_process);
    e << YAML::Key << "force_transmit_ms" << YAML::Value << p.force_transmit_ms;
}

template <typename T>
void kv(YAML::Emitter& e, const char* k, const T& v) {
    e << YAML::Key << k << YAML::Value << v;
}

}  // namespace

ModeSettings read_mode(Reader r, std::uint32_t n) {
    if (!r.is_map()) return DisabledSettings{};
    const bool present = r.node().IsDefined() && !r.node().IsNull();
    // Omitted mode: Real COM, the guide's default once the first administrator exists (§3.1).
    std::string type = r.has("type") ? r.text("type", "", 32) : "real_com";
    if (present && !r.has("type")) {
        r.problem_here("mode needs a 'type'");
        return DisabledSettings{};
    }
    ModeSettings out = DisabledSettings{};
    if (type == "disabled") {
        out = DisabledSettings{};
    } else if (type == "tcp_server") {
        out = read_tcp_server(r, n);
    } else if (type == "real_com") {
        out = read_real_com(r, n);
    } else if (type == "rfc2217") {
        out = read_rfc2217(r, n);
    } else if (type == "tcp_client") {
        out = read_tcp_client(r);
    } else if (type == "udp") {
        out = read_udp(r, n);
    } else if (type == "pair_master") {
        PairMasterSettings s;
        s.host = host(r, "host");
        s.port = static_cast<std::uint16_t>(r.integer("port", 4001, 1, 65535));
        s.tcp_alive_check_min = alive(r);
        s.security = security(r);
        s.verify = r.boolean("verify", true);
        out = s;
    } else if (type == "pair_slave") {
        PairSlaveSettings s;
        s.local_port = port_number(r, "local_port", 4000 + n);
        s.tcp_alive_check_min = alive(r);
        s.security = security(r);
        out = s;
    } else if (!type.empty()) {
        r.problem("type", "'" + type +
                              "' is not one of: real_com, rfc2217, tcp_server, tcp_client, udp, "
                              "pair_master, pair_slave, disabled");
    }
    r.finish();
    return out;
}

void write_mode(YAML::Emitter& e, const ModeSettings& m) {
    e << YAML::Key << "mode" << YAML::Value << YAML::BeginMap;
    kv(e, "type", mode_type_name(m));
    if (const auto* t = std::get_if<TcpServerSettings>(&m)) {
        kv(e, "local_port", t->local_port);
        kv(e, "command_port", t->command_port);
        kv(e, "max_connections", int{t->max_connections});
        kv(e, "ignore_jammed_ip", t->ignore_jammed_ip);
        kv(e, "allow_driver_control", t->allow_driver_control);
        kv(e, "tcp_alive_check_min", int{t->tcp_alive_check_min});
        kv(e, "inactivity_time_ms", t->inactivity_time_ms);
        kv(e, "security", to_string(t->security));
        write_packing(e, t->packing);
    } else if (const auto* rc = std::get_if<RealComSettings>(&m)) {
        kv(e, "data_port", rc->data_port);
        kv(e, "command_port", rc->command_port);
        kv(e, "max_connections", int{rc->max_connections});
        kv(e, "ignore_jammed_ip", rc->ignore_jammed_ip);
        kv(e, "allow_driver_control", rc->allow_driver_control);
        kv(e, "tcp_alive_check_min", int{rc->tcp_alive_check_min});
        kv(e, "security", to_string(rc->security));
        write_packing(e, rc->packing);
    } else if (const auto* rf = std::get_if<Rfc2217Settings>(&m)) {
        kv(e, "local_port", rf->local_port);
        kv(e, "tcp_alive_check_min", int{rf->tcp_alive_check_min});
        kv(e, "security", to_string(rf->security));
        write_packing(e, rf->packing);
    } else if (const auto* tc = std::get_if<TcpClientSettings>(&m)) {
        e << YAML::Key << "destinations" << YAML::Value << YAML::BeginSeq;
        for (const auto& d : tc->destinations) {
            e << YAML::Flow << YAML::BeginMap;
            kv(e, "host", d.host);
            kv(e, "port", d.port);
            kv(e, "local_port", d.local_port);
            kv(e, "verify", d.verify);
            e << YAML::EndMap;
        }
        e << YAML::EndSeq;
        kv(e, "connection_control", to_string(tc->connection_control));
        kv(e, "inactivity_time_ms", tc->inactivity_time_ms);
        kv(e, "tcp_alive_check_min", int{tc->tcp_alive_check_min});
        kv(e, "ignore_jammed_ip", tc->ignore_jammed_ip);
        kv(e, "security", to_string(tc->security));
        write_packing(e, tc->packing);
    } else if (const auto* u = std::get_if<UdpSettings>(&m)) {
        kv(e, "local_port", u->local_port);
        e << YAML::Key << "destinations" << YAML::Value << YAML::BeginSeq;
        for (const auto& d : u->destinations) {
            e << YAML::Flow << YAML::BeginMap;
            kv(e, "begin", d.begin);
            kv(e, "end", d.end);
            kv(e, "port", d.port);
            e << YAML::EndMap;
        }
        e << YAML::EndSeq;
        kv(e, "accept_from_any", u->accept_from_any);
        write_packing(e, u->packing);
    } else if (const auto* pm = std::get_if<PairMasterSettings>(&m)) {
        kv(e, "host", pm->host);
        kv(e, "port", pm->port);
        kv(e, "tcp_alive_check_min", int{pm->tcp_alive_check_min});
        kv(e, "security", to_string(pm->security));
        kv(e, "verify", pm->verify);
    } else if (const auto* ps = std::get_if<PairSlaveSettings>(&m)) {
        kv(e, "local_port", ps->local_port);
        kv(e, "tcp_alive_check_min", int{ps->tcp_alive_check_min});
        kv(e, "security", to_string(ps->security));
    }
    e << YAML::EndMap;
}

std::vector<Claim> listening(const ModeSettings& m) {
    if (const auto* t = std::get_if<TcpServerSettings>(&m)) {
        return {{false, t->local_port, "local_port"}, {false, t->command_port, "command_port"}};
    }
    if (const auto* rc = std::get_if<RealComSettings>(&m)) {
        return {{false, rc->data_port, "data_port"}, {false, rc->command_port, "command_port"}};
    }
    if (const auto* rf = std::get_if<Rfc2217Settings>(&m)) {
        return {{false, rf->local_port, "local_port"}};
    }
    if (const auto* u = std::get_if<UdpSettings>(&m)) return {{true, u->local_port, "local_port"}};
    if (const auto* ps = std::get_if<PairSlaveSettings>(&m)) {
        return {{false, ps->local_port, "local_port"}};
    }
    return {};
}

}  // namespace detail
}  // namespace sg::config
