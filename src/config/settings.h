// settings.h: the typed model of every setting SerialGate has (STYLE.md §2, config/). Names, ranges
// and defaults come from ../shared/specs/device-reference.md ("device ref. §N" below). This is pure
// data: parsing lives in yaml.cpp, behaviour in the layers that use it.
//
// Mode settings live here too, not in modes/ (docs/adr/0002-mode-interface.md): config::Config must
// hold them and config sits left of modes in the layer order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace sg::config {

// ---------------------------------------------------------------- serial line (device ref. §2)

enum class Parity { None, Odd, Even, Mark, Space };
enum class StopBits { One, OneAndHalf, Two };
enum class FlowControl { None, RtsCts, XonXoff, DtrDsr };
enum class Interface { Rs232, Rs422, Rs485TwoWire, Rs485FourWire };

inline constexpr std::uint32_t kMinBaud = 50;
inline constexpr std::uint32_t kMaxBaud = 921600;

struct SerialSettings {
    std::uint32_t baud =
        115200;                  // bits per second; any value in 50..921600 (custom = non-standard)
    std::uint8_t data_bits = 8;  // 5..8
    Parity parity = Parity::None;
    StopBits stop_bits = StopBits::One;  // 1.5 only with 5 data bits
    FlowControl flow_control =
        FlowControl::RtsCts;  // device ref. §2: rts_cts (assumed, NPort 5000)
    Interface interface = Interface::Rs232;
    bool fifo = true;  // UART FIFO; off trades throughput for latency on real UARTs
    bool operator==(const SerialSettings&) const = default;
};

// ---------------------------------------------------------------- data packing (device ref. §3)

enum class DelimiterProcess { DoNothing, DelimiterPlus1, DelimiterPlus2, StripDelimiter };

struct PackingSettings {
    std::uint16_t packing_length = 0;         // 0..1024 bytes, 0 = off
    std::optional<std::uint8_t> delimiter_1;  // enabled when set
    std::optional<std::uint8_t> delimiter_2;  // only together with delimiter_1 (pair in order)
    DelimiterProcess delimiter_process = DelimiterProcess::DoNothing;
    std::uint16_t force_transmit_ms = 0;  // 0..65535 ms, 0 = off
    bool operator==(const PackingSettings&) const = default;
    bool active() const { return packing_length != 0 || delimiter_1 || force_transmit_ms != 0; }
};

// ---------------------------------------------------------------- operation modes (device ref. §3)

struct DisabledSettings {
    bool operator==(const DisabledSettings&) const = default;
};

/// Secure Connection of a TCP mode's connections (issue 11 item 1; device ref. §3): `plain`,
/// `encrypted` (TLS 1.2/1.3 with the device certificate), `encrypted_authenticated` (mutual TLS: a
/// peer's certificate must chain to a CA of the Remote Device Certificate list; a client of this
/// level presents the device certificate, and the server it connects to checks it).
enum class Security { Plain, Encrypted, EncryptedAuthenticated };

struct TcpServerSettings {
    std::uint16_t local_port = 0;       // default 4000 + N
    std::uint16_t command_port = 0;     // default 965 + N (served from the Real COM work, issue 5)
    std::uint8_t max_connections = 1;   // 1..8; serial data fans out to every client
    bool ignore_jammed_ip = false;      // a client that cannot keep up is skipped, not waited on
    bool allow_driver_control = false;  // only meaningful with max_connections > 1
    std::uint8_t tcp_alive_check_min = 7;  // 0..99 min, 0 = off
    std::uint16_t inactivity_time_ms = 0;  // 0..65535 ms, 0 = off
    Security security = Security::Plain;   // data and command port
    PackingSettings packing;
    bool operator==(const TcpServerSettings&) const = default;
};

struct RealComSettings {
    std::uint16_t data_port = 0;       // default 949 + N
    std::uint16_t command_port = 0;    // default 965 + N
    std::uint8_t max_connections = 1;  // 1 = "real TTY": the driver controls the line
    bool ignore_jammed_ip = false;
    bool allow_driver_control = false;  // with max_connections > 1: drivers may still set the line
    std::uint8_t tcp_alive_check_min = 7;
    Security security = Security::Plain;  // data and command channel
    PackingSettings packing;
    bool operator==(const RealComSettings&) const = default;
};

struct Rfc2217Settings {
    std::uint16_t local_port = 0;  // default 4000 + N
    std::uint8_t tcp_alive_check_min = 7;
    Security security = Security::Plain;
    PackingSettings packing;
    bool operator==(const Rfc2217Settings&) const = default;
};

/// TCP Client connection control (device ref. §3): when to connect / when to disconnect.
enum class ConnectionControl {
    StartupNone,             // connect at start, never disconnect on purpose
    AnyCharacterNone,        // connect when a serial byte arrives
    AnyCharacterInactivity,  // ... and disconnect after inactivity_time_ms
    DsrOnDsrOff,
    DsrOnNone,
    DcdOnDcdOff,
    DcdOnNone,
};

struct Destination {
    std::string host;              // IP address or host name
    std::uint16_t port = 4001;     // 1..65535
    std::uint16_t local_port = 0;  // designated local port; 0 = any (our default, see docs)
    /// Secure Connection: check the server's chain and name (SAN). false is an explicit opt-out,
    /// logged as a Warning at every connect (issue 11 item 3).
    bool verify = true;
    bool operator==(const Destination&) const = default;
};

struct TcpClientSettings {
    std::vector<Destination> destinations;  // 1..4
    ConnectionControl connection_control = ConnectionControl::StartupNone;
    std::uint16_t inactivity_time_ms = 0;  // 0..65535, 0 = off
    std::uint8_t tcp_alive_check_min = 7;
    bool ignore_jammed_ip = false;
    Security security = Security::Plain;  // every destination
    PackingSettings packing;
    bool operator==(const TcpClientSettings&) const = default;
};

struct UdpDestination {
    std::string begin;  // first IPv4 address of the range
    std::string end;    // last IPv4 address (= begin for one host)
    std::uint16_t port = 4001;
    bool operator==(const UdpDestination&) const = default;
};

struct UdpSettings {
    std::uint16_t local_port = 0;              // listen port, default 4000 + N
    std::vector<UdpDestination> destinations;  // 0..4 ranges; serial data goes to every address
    bool accept_from_any = false;  // false: datagrams from outside the ranges are dropped (counted)
    PackingSettings packing;
    bool operator==(const UdpSettings&) const = default;
};

struct PairMasterSettings {
    std::string host;  // the slave
    std::uint16_t port = 4001;
    std::uint8_t tcp_alive_check_min = 7;
    Security security = Security::Plain;
    bool verify = true;  // as Destination::verify
    bool operator==(const PairMasterSettings&) const = default;
};

struct PairSlaveSettings {
    std::uint16_t local_port = 0;  // default 4000 + N
    std::uint8_t tcp_alive_check_min = 7;
    Security security = Security::Plain;
    bool operator==(const PairSlaveSettings&) const = default;
};

/// Index order is the public order of `mode.type` names in mode_type_name() and
/// modes/registry.cpp.
using ModeSettings =
    std::variant<DisabledSettings, TcpServerSettings, RealComSettings, Rfc2217Settings,
                 TcpClientSettings, UdpSettings, PairMasterSettings, PairSlaveSettings>;

/// "disabled", "tcp_server", "real_com", "rfc2217", "tcp_client", "udp", "pair_master",
/// "pair_slave": the YAML/JSON name of a mode.
const char* mode_type_name(const ModeSettings& m);

// ---------------------------------------------------------------- ports

struct PortConfig {
    std::uint32_t number = 0;  // 1-based; every "+ N" default uses it
    std::string alias;         // ≤ 16 chars
    std::string device;        // /dev/tty..., a pty path, or sim:...
    SerialSettings serial;
    ModeSettings mode = DisabledSettings{};  // omitted in YAML: Real COM (guide §3.1)
    bool operator==(const PortConfig&) const = default;
};

// ---------------------------------------------------------------- system and security

inline constexpr unsigned kMaxIoThreads = 64;

struct SystemSettings {
    std::string device_name = "SerialGate";  // ≤ 39 chars (device ref. §4)
    std::string location;
    std::string description;
    std::string contact;
    std::string listen_address = "0.0.0.0";  // address every data-plane listener binds
    /// Globs of the paths a port's `device` may name (issue 14 item 12; config/devices.h): serial
    /// lines only, so that a port cannot be pointed at a console, another user's pty or a device
    /// whose open has side effects. sim: devices are always allowed. Changed only with the
    /// Security privilege (web/api/config_handlers.cpp).
    std::vector<std::string> allowed_devices{"/dev/ttyS*", "/dev/ttyUSB*", "/dev/ttyACM*",
                                             "/dev/ttyAMA*", "/dev/serial/by-id/*"};
    /// Threads that run the data plane (issue 12 item 3; docs/adr/0012-scale-io-threads.md):
    /// 0 = one per core, else 1..kMaxIoThreads. Taken at the start of serve.
    std::uint8_t io_threads = 0;
    bool operator==(const SystemSettings&) const = default;
};

struct PasswordPolicy {
    std::uint8_t min_length = 8;  // 8..64 (device ref. §7)
    bool strength_check = false;  // master switch of the three below
    bool require_digit = true;
    bool require_mixed_case = true;
    bool require_special = true;
    std::uint16_t lifetime_days = 90;     // 0..180, 0 = never expires
    bool force_change_at_expiry = false;  // false: reminder only (NPort behaviour)
    bool operator==(const PasswordPolicy&) const = default;
};

inline constexpr std::size_t kMaxPasswordLength = 128;

/// Login and web-session settings (device ref. §7, guide §3.4 and §4.3).
struct LoginSettings {
    bool lockout_enabled = true;                // device: off; SerialGate: on (guide recommends on)
    std::uint8_t retry_failure_threshold = 5;   // 1..10 failures within the window lock the account
    std::uint8_t lockout_duration_min = 5;      // 1..60
    std::string login_message;                  // <= 240 chars, shown before login (plain text)
    std::string login_failure_message;          // <= 240 chars; empty = the generic message
    std::uint8_t max_web_sessions = 5;          // 1..10, device-wide (guide §4.3)
    std::uint8_t max_sessions_per_account = 3;  // 1..10, and never above max_web_sessions
    std::uint16_t session_timeout_min = 5;      // 1..1440, idle timeout
    bool operator==(const LoginSettings&) const = default;
};

/// NE-5 / NE-6: the management plane's DoS bounds (`https.dos`, docs/configuration.md). The
/// defaults are the requirements' values, so an absent section changes nothing. Integers only
/// (rates are per second, sizes bytes, times whole seconds or milliseconds): export → import is
/// exact. web::http::limits_from() maps them onto web::http::Limits (checked there against its
/// defaults at compile time); the per-session bucket and the Argon2id values are read by the API.
/// Upper bound of https.dos.argon2_parallel (each run holds 64 MiB: 16 runs are 1 GiB).
inline constexpr std::uint32_t kMaxArgon2Parallel = 16;

struct DosSettings {
    // Connections (HTTPS and redirect ports together); beyond a cap: accepted and closed at once.
    std::uint32_t max_connections = 128;                   // 1..1024, all sources
    std::uint32_t max_connections_per_source = 16;         // 1..1024, ≤ max_connections
    std::uint32_t connections_per_second_per_source = 20;  // 1..1000 new TCP connections/s
    std::uint32_t connection_burst_per_source = 40;        // 1..10000, ≥ the rate
    std::uint32_t handshakes_per_second_per_source = 10;   // 1..1000 TLS handshakes/s
    std::uint32_t handshake_burst_per_source = 40;         // 1..10000, ≥ the rate
    // Requests: token buckets per source address (HTTP server) and per web session (API).
    std::uint32_t requests_per_second_per_source = 50;   // 1..10000
    std::uint32_t request_burst_per_source = 100;        // 1..100000, ≥ the rate
    std::uint32_t requests_per_second_per_session = 50;  // 1..10000
    std::uint32_t request_burst_per_session = 100;       // 1..100000, ≥ the rate
    // Argon2id (password hashing): runs at once, and how long a request waits for one (then 503).
    // 0 = "auto": min(2, cores − 1), at least 1; else 1..kMaxArgon2Parallel, applied as
    // min(value, cores) so that a stored configuration loads on any host.
    std::uint32_t argon2_parallel = 0;
    std::uint32_t argon2_max_wait_ms = 2000;  // 100..10000
    // Slow and large requests (NE-6).
    std::uint32_t header_bytes = 16 * 1024;          // 1 KiB..64 KiB, request line + headers
    std::uint32_t body_bytes = 1024 * 1024;          // 1 KiB..16 MiB
    std::uint16_t handshake_timeout_s = 10;          // 1..600, accept → TLS handshake done
    std::uint16_t header_timeout_s = 10;             // 1..600, full request headers
    std::uint16_t body_timeout_s = 60;               // 1..600, whole body after the headers
    std::uint32_t body_min_bytes_per_second = 1024;  // 1..1 MiB, after a 5 s grace
    std::uint16_t idle_timeout_s = 15;               // 1..600, keep-alive idle
    bool operator==(const DosSettings&) const = default;
};

/// One key of https.dos: its YAML (and JSON) name, its field, and its range. The default is the
/// field's value in a default-constructed DosSettings. yaml.cpp reads and writes the section by
/// walking dos_keys() in order, which is the export order (declaration order above); the
/// cross-field rules (per-source cap <= global cap, burst >= rate) are checked after the walk.
struct DosKey {
    const char* key;  // "max_connections"
    std::variant<std::uint32_t DosSettings::*, std::uint16_t DosSettings::*> field;
    std::int64_t min;
    std::int64_t max;
    bool auto_is_zero = false;  // also takes "auto", stored and exported as 0 (argon2_parallel)
};

/// Every key of DosSettings, once, in export order (defined in yaml.cpp).
std::span<const DosKey> dos_keys();

/// The HTTPS server of the management plane (guide §3.1, §3.3).
struct HttpsSettings {
    bool enabled = true;
    std::uint16_t port = 443;
    std::string listen_address = "0.0.0.0";
    bool http_redirect = false;  // plain HTTP on http_port answers only 301 to HTTPS (WS-9)
    std::uint16_t http_port = 80;
    bool allow_rsa_1024 = false;  // CE-2: weak-key override for imported certificates (logged)
    DosSettings dos;
    bool operator==(const HttpsSettings&) const = default;
};

/// The IP allowlist (guide §3.5; NE-2..NE-4): who may connect to any listener (HTTPS, every serial
/// mode's data and command ports, UDP). Off: every source is allowed. Entries are kept as written
/// (config/allowlist.h gives their syntax), so export = import; at most kMaxAllowlistEntries, and
/// an enabled list is never empty (NE-3).
struct AllowlistSettings {
    bool enabled = false;
    std::vector<std::string> entries;  // "192.0.2.0/24", "127.0.0.2", "2001:db8::/32", "all"
    bool operator==(const AllowlistSettings&) const = default;
};

/// Guide §3.7; NE-5, NE-7: the data plane's DoS bounds (top-level `serial_dos`, beside the
/// management plane's https.dos; docs/configuration.md). Per serial port and per source address,
/// on every listener of a serial mode (data and command ports; UDP datagrams), checked before a
/// session is made; beyond a bound the connection is closed at once (datagram dropped), counted
/// in the port's refused_dos and logged rate-limited. Live: the next connection sees a change.
/// The connection and handshake defaults are NE-5's for HTTPS; the datagram rate is higher than
/// NE-5's 20/s (that one is for the discovery and SNMP ports): UDP mode carries serial data, and
/// 921600 baud sent a byte per datagram is ~92,000 datagrams/s.
struct SerialDosSettings {
    bool enabled = true;                                   // guide §3.7: on by default
    std::uint32_t max_connections_per_source = 16;         // 1..1024 open at once, per port
    std::uint32_t connections_per_second_per_source = 20;  // 1..1000 new TCP connections/s
    std::uint32_t connection_burst_per_source = 40;        // 1..10000, >= the rate
    std::uint32_t handshakes_per_second_per_source = 10;   // 1..1000 TLS handshakes/s
    std::uint32_t handshake_burst_per_source = 10;         // 1..10000, >= the rate
    std::uint32_t datagrams_per_second_per_source = 2000;  // 1..100000 UDP datagrams/s
    std::uint32_t datagram_burst_per_source = 4000;        // 1..1000000, >= the rate
    bool operator==(const SerialDosSettings&) const = default;
};

/// One integer key of serial_dos: YAML/JSON name, field, range (default: the field's value in a
/// default-constructed SerialDosSettings), and the rate a burst must not be below ("" for none).
struct SerialDosKey {
    const char* key;
    std::uint32_t SerialDosSettings::*field;
    std::uint32_t min;
    std::uint32_t max;
    const char* burst_of = "";  // this key is the burst of that rate key
};
/// Every integer key of SerialDosSettings, once, in export order (defined in yaml.cpp).
std::span<const SerialDosKey> serial_dos_keys();

struct EventLogSettings {
    /// Per event type (events/catalog.h key) on/off, overriding the catalog default.
    std::map<std::string, bool> types;
    bool operator==(const EventLogSettings&) const = default;
};

struct Config {
    SystemSettings system;
    PasswordPolicy password_policy;
    LoginSettings login;
    HttpsSettings https;
    AllowlistSettings allowlist;
    SerialDosSettings serial_dos;  // after allowlist in the document too
    /// CE-5, the Remote Device Certificate list: the PEM of each CA certificate a peer of Secure
    /// Connection `encrypted_authenticated` (and a TLS server this device connects to) must chain
    /// to. YAML `remote_certificates`; checked by ParseOptions::check_remote_certificate.
    std::vector<std::string> remote_certificates;
    EventLogSettings event_log;
    std::vector<PortConfig> ports;  // sorted by number, numbers unique
    bool operator==(const Config&) const = default;

    const PortConfig* port(std::uint32_t number) const;
};

/// Whether going from `a` to `b` changes something the running serve takes only at its next start:
/// every https setting except dos.requests_per_second_per_session, dos.request_burst_per_session,
/// dos.argon2_parallel and dos.argon2_max_wait_ms, which the API reads at each request.
bool https_restart_required(const HttpsSettings& a, const HttpsSettings& b);

// Names used in YAML and JSON (device ref. snake_case).
const char* to_string(Parity);
const char* to_string(StopBits);
const char* to_string(FlowControl);
const char* to_string(Interface);
const char* to_string(DelimiterProcess);
const char* to_string(ConnectionControl);
const char* to_string(Security);

}  // namespace sg::config
