// catalog.cpp: the one list of event types (explicit, greppable; STYLE.md §2 registry rule).
#include "events/catalog.h"

namespace sg::events {

namespace {
constexpr const Type* kAll[] = {
    &types::kStart,
    &types::kStop,
    &types::kConfigChanged,
    &types::kConfigRejected,
    &types::kDataPlaneOff,
    &types::kDataPlaneOn,
    &types::kLogNearlyFull,
    &types::kConfigImported,
    &types::kConfigExported,
    &types::kAccountCreated,
    &types::kSetupRefused,
    &types::kLoginSucceeded,
    &types::kLoginFailed,
    &types::kAccountLocked,
    &types::kAccountUnlocked,
    &types::kLoginThrottled,
    &types::kLogout,
    &types::kSessionEnded,
    &types::kSessionExpired,
    &types::kSessionRefused,
    &types::kAccountChanged,
    &types::kAccountDeleted,
    &types::kPasswordChanged,
    &types::kGroupChanged,
    &types::kPolicyChanged,
    &types::kCertificateChanged,
    &types::kCertificateRefused,
    &types::kWeakCertificate,
    &types::kAccessDenied,
    &types::kAllowlistChanged,
    &types::kAllowlistRefused,
    &types::kTlsRefused,
    &types::kTlsUnverified,
    &types::kPlaintextPort,
    &types::kServicesChanged,
    &types::kDosRefused,
    &types::kSynCookiesOff,
    &types::kRemoteCaChanged,
    &types::kRemoteCaExpiry,
    &types::kMonitorStarted,
    &types::kMonitorStopped,
    &types::kConnected,
    &types::kDisconnected,
    &types::kRefused,
    &types::kModeStarted,
    &types::kModeStopped,
    &types::kModeFailed,
    &types::kDeviceFailed,
    &types::kDeviceOpened,
    &types::kModemLines,
    &types::kLineError,
    &types::kJammed,
    &types::kUnreachable,
    &types::kDatagramDropped,
    &types::kProtocolError,
};
}  // namespace

std::span<const Type* const> catalog() {
    return kAll;
}

const Type* find(std::string_view key) {
    for (const Type* t : kAll) {
        if (t->key == key) return t;
    }
    return nullptr;
}

const char* to_string(Category c) {
    switch (c) {
        case Category::System: return "System";
        case Category::Network: return "Network";
        case Category::Security: return "Security";
        case Category::Maintenance: return "Maintenance";
        case Category::Serial: return "Serial";
    }
    return "?";
}

const char* to_string(Severity s) {
    switch (s) {
        case Severity::Error: return "Error";
        case Severity::Warning: return "Warning";
        case Severity::Notice: return "Notice";
        case Severity::Informational: return "Informational";
    }
    return "?";
}

}  // namespace sg::events
