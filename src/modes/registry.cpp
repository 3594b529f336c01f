// registry.cpp: the one list of operation modes (STYLE.md §2: explicit, greppable, no static-init
// order). Indexed like config::ModeSettings' alternatives.
#include <variant>

#include "modes/mode.h"
#include "modes/tcp_server/tcp_server_mode.h"

namespace sg::modes {

namespace {

ModePtr create_disabled(PortContext&, const config::ModeSettings&, std::error_code& ec) {
    ec = {};
    return nullptr;  // Disabled (No Operation): nothing listens, the serial line stays closed
}

ModePtr create_unavailable(PortContext&, const config::ModeSettings&, std::error_code& ec) {
    // A mode the schema names but this build does not have: the port is left off and the log
    // says so (ModeKind::available is false, so the Port never calls this).
    ec = std::make_error_code(std::errc::function_not_supported);
    return nullptr;
}

constexpr ModeKind kKinds[] = {
    {"disabled", true, &create_disabled},        {"tcp_server", true, &tcp_server::create},
    {"real_com", false, &create_unavailable},     // issue 5, in progress
    {"rfc2217", false, &create_unavailable},      // issue 5, in progress
    {"tcp_client", false, &create_unavailable},   // issue 5, in progress
    {"udp", false, &create_unavailable},          // issue 5, in progress
    {"pair_master", false, &create_unavailable},  // issue 5, in progress
    {"pair_slave", false, &create_unavailable},   // issue 5, in progress
};
static_assert(std::size(kKinds) == std::variant_size_v<config::ModeSettings>,
              "one registry entry per ModeSettings alternative");

}  // namespace

const ModeKind& kind_for(const config::ModeSettings& settings) {
    return kKinds[settings.index()];
}

}  // namespace sg::modes
