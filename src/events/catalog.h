// catalog.h: every event SerialGate records, declared once (guide §3.6, device ref. §9; STYLE.md
// §3.12). A key names an event type in the config (`event_log.types`), the API and `log show
// --type`; keys are public and never renamed.
#pragma once

#include <span>
#include <string_view>

namespace sg::events {

enum class Category { System = 0, Network = 1, Security = 2, Maintenance = 3, Serial = 4 };
enum class Severity { Error = 1, Warning = 2, Notice = 3, Informational = 4 };

struct Type {
    std::string_view key;  // "serial.connected"
    Category category;
    Severity severity;
    std::string_view title;  // one line, for people
    bool default_on = true;
};

const char* to_string(Category c);
const char* to_string(Severity s);

namespace types {
// System
inline constexpr Type kStart{"system.start", Category::System, Severity::Notice,
                             "SerialGate started"};
inline constexpr Type kStop{"system.stop", Category::System, Severity::Notice,
                            "SerialGate stopped"};
inline constexpr Type kConfigChanged{"system.config_changed", Category::System, Severity::Notice,
                                     "Configuration changed"};
inline constexpr Type kConfigRejected{"system.config_rejected", Category::System, Severity::Warning,
                                      "Configuration change rejected"};
inline constexpr Type kDataPlaneOff{"system.data_plane_off", Category::System, Severity::Warning,
                                    "No account exists: serial data plane stays off"};
inline constexpr Type kDataPlaneOn{"system.data_plane_on", Category::System, Severity::Notice,
                                   "First account exists: serial data plane on"};
// AU-3: written once when the log reaches 90 % of its 10,000 rows, whatever event_log.types says
// (events/log.cpp); the overwrite counters are in GET /api/v1/event-log/status and `log status`.
inline constexpr Type kLogNearlyFull{"system.event_log_nearly_full", Category::System,
                                     Severity::Warning,
                                     "Event log 90 % full: the oldest events will be overwritten"};
// Maintenance
inline constexpr Type kConfigImported{"maintenance.config_imported", Category::Maintenance,
                                      Severity::Notice, "Configuration imported"};
inline constexpr Type kConfigExported{"maintenance.config_exported", Category::Maintenance,
                                      Severity::Informational, "Configuration exported"};
// Security
inline constexpr Type kAccountCreated{"security.account_created", Category::Security,
                                      Severity::Notice, "Account created"};
inline constexpr Type kSetupRefused{"security.setup_refused", Category::Security, Severity::Warning,
                                    "First-account setup refused"};
// Security: the management plane's audit trail (AU-2); each carries account and source address.
inline constexpr Type kLoginSucceeded{"security.login_succeeded", Category::Security,
                                      Severity::Informational, "Login succeeded"};
inline constexpr Type kLoginFailed{"security.login_failed", Category::Security, Severity::Warning,
                                   "Login failed"};
inline constexpr Type kAccountLocked{"security.account_locked", Category::Security,
                                     Severity::Warning, "Account locked after failed logins"};
inline constexpr Type kAccountUnlocked{"security.account_unlocked", Category::Security,
                                       Severity::Notice, "Account unlocked by an administrator"};
inline constexpr Type kLoginThrottled{"security.login_throttled", Category::Security,
                                      Severity::Warning,
                                      "Logins from a source throttled"};  // <= 1/source/minute
inline constexpr Type kLogout{"security.logout", Category::Security, Severity::Informational,
                              "Logout"};
inline constexpr Type kSessionEnded{"security.session_ended", Category::Security, Severity::Notice,
                                    "Session ended by an administrator"};
inline constexpr Type kSessionExpired{"security.session_expired", Category::Security,
                                      Severity::Informational, "Session expired"};
inline constexpr Type kSessionRefused{"security.session_refused", Category::Security,
                                      Severity::Warning, "Login refused: too many sessions"};
inline constexpr Type kAccountChanged{"security.account_changed", Category::Security,
                                      Severity::Notice, "Account changed"};
inline constexpr Type kAccountDeleted{"security.account_deleted", Category::Security,
                                      Severity::Notice, "Account deleted"};
inline constexpr Type kPasswordChanged{"security.password_changed", Category::Security,
                                       Severity::Notice, "Password changed"};
inline constexpr Type kGroupChanged{"security.group_changed", Category::Security, Severity::Notice,
                                    "Group changed"};
inline constexpr Type kPolicyChanged{"security.policy_changed", Category::Security,
                                     Severity::Notice, "Security settings changed"};
inline constexpr Type kCertificateChanged{"security.certificate_changed", Category::Security,
                                          Severity::Notice, "HTTPS certificate changed"};
inline constexpr Type kCertificateRefused{"security.certificate_refused", Category::Security,
                                          Severity::Warning, "Certificate import refused"};
inline constexpr Type kWeakCertificate{"security.certificate_weak_key", Category::Security,
                                       Severity::Warning,
                                       "Certificate with a weak key accepted by override"};
inline constexpr Type kAccessDenied{"security.access_denied", Category::Security, Severity::Warning,
                                    "Request refused: no privilege or CSRF"};
// Security: the IP allowlist (guide §3.5; NE-2..NE-4, AU-2).
inline constexpr Type kAllowlistChanged{"security.allowlist_changed", Category::Security,
                                        Severity::Notice, "Allowlist changed"};
inline constexpr Type kAllowlistRefused{"security.allowlist_refused", Category::Security,
                                        Severity::Warning,
                                        "Connection refused by the allowlist"};  // <= 1/source/min
// Security: Secure Connection of the serial modes (issue 11 items 1 and 3).
inline constexpr Type kTlsRefused{"security.tls_refused", Category::Security, Severity::Warning,
                                  "Secure Connection refused: TLS handshake failed or peer "
                                  "certificate not trusted"};  // <= 5/source/min per port
inline constexpr Type kTlsUnverified{"security.tls_unverified", Category::Security,
                                     Severity::Warning,
                                     "TLS connection made without verifying the server "
                                     "(verify: false)"};
inline constexpr Type kPlaintextPort{"security.plaintext_port", Category::Security,
                                     Severity::Notice, "Serial port carries its data in plaintext"};
// Security: services and the DoS defense (guide §3.1, §3.7; AU-2, NE-5, NE-7).
inline constexpr Type kServicesChanged{"security.services_changed", Category::Security,
                                       Severity::Notice, "Network services changed"};
// At most one per source (and port) per minute, like allowlist_refused.
inline constexpr Type kDosRefused{"security.dos_refused", Category::Security, Severity::Warning,
                                  "Connection or datagram refused by the DoS defense"};
inline constexpr Type kSynCookiesOff{"security.syn_cookies_off", Category::Security,
                                     Severity::Warning,
                                     "SYN cookies are off (net.ipv4.tcp_syncookies is not 1)"};
// Security: the Remote Device Certificate list (CE-5; issue 11 item 2).
inline constexpr Type kRemoteCaChanged{"security.remote_ca_changed", Category::Security,
                                       Severity::Notice, "Remote Device Certificate list changed"};
// Issue 13 item 4: a live serial monitor (WebSocket) began or ended, with account and source.
inline constexpr Type kMonitorStarted{"security.monitor_started", Category::Security,
                                      Severity::Notice, "Serial monitor session started"};
inline constexpr Type kMonitorStopped{"security.monitor_stopped", Category::Security,
                                      Severity::Informational, "Serial monitor session ended"};
inline constexpr Type kRemoteCaExpiry{"security.remote_ca_expiry", Category::Security,
                                      Severity::Warning,
                                      "Remote Device Certificate expired or expiring"};
// Serial
inline constexpr Type kConnected{"serial.connected", Category::Serial, Severity::Informational,
                                 "Client connected"};
inline constexpr Type kDisconnected{"serial.disconnected", Category::Serial,
                                    Severity::Informational, "Client disconnected"};
inline constexpr Type kRefused{"serial.refused", Category::Serial, Severity::Warning,
                               "Client refused"};
inline constexpr Type kModeStarted{"serial.mode_started", Category::Serial, Severity::Informational,
                                   "Operation mode started"};
inline constexpr Type kModeStopped{"serial.mode_stopped", Category::Serial, Severity::Informational,
                                   "Operation mode stopped"};
inline constexpr Type kModeFailed{"serial.mode_failed", Category::Serial, Severity::Error,
                                  "Operation mode could not start"};
inline constexpr Type kDeviceFailed{"serial.device_failed", Category::Serial, Severity::Error,
                                    "Serial device failed"};
inline constexpr Type kDeviceOpened{"serial.device_opened", Category::Serial,
                                    Severity::Informational, "Serial device opened"};
inline constexpr Type kModemLines{"serial.modem_lines", Category::Serial, Severity::Informational,
                                  "DCD/DSR changed"};
inline constexpr Type kLineError{"serial.line_error", Category::Serial, Severity::Warning,
                                 "Line error received"};
inline constexpr Type kJammed{"serial.jammed", Category::Serial, Severity::Warning,
                              "Data dropped for a jammed client"};
inline constexpr Type kUnreachable{"serial.unreachable", Category::Serial, Severity::Warning,
                                   "Destination unreachable"};  // once per outage, not per retry
inline constexpr Type kDatagramDropped{"serial.datagram_dropped", Category::Serial,
                                       Severity::Warning,
                                       "Datagram from outside the destination ranges dropped"};
inline constexpr Type kProtocolError{"serial.protocol_error", Category::Serial, Severity::Warning,
                                     "Malformed protocol data from a client"};  // once per session
}  // namespace types

std::span<const Type* const> catalog();
const Type* find(std::string_view key);

}  // namespace sg::events
