// registry.cpp: the one list of operation modes (STYLE.md §2: explicit, greppable, no static-init
// order). Indexed like config::ModeSettings' alternatives.
#include <variant>

#include "modes/mode.h"
#include "modes/pair/pair_mode.h"
#include "modes/real_com/real_com_mode.h"
#include "modes/rfc2217/rfc2217_mode.h"
#include "modes/tcp_client/tcp_client_mode.h"
#include "modes/tcp_server/tcp_server_mode.h"
#include "modes/udp/udp_mode.h"

namespace sg::modes {

namespace {

ModePtr create_disabled(PortContext&, const config::ModeSettings&, std::error_code& ec) {
    ec = {};
    return nullptr;  // Disabled (No Operation): nothing listens, the serial line stays closed
}

constexpr ModeKind kKinds[] = {
    {"disabled", true, &create_disabled},        {"tcp_server", true, &tcp_server::create},
    {"real_com", true, &real_com::create},       {"rfc2217", true, &rfc2217::create},
    {"tcp_client", true, &tcp_client::create},   {"udp", true, &udp::create},
    {"pair_master", true, &pair::create_master}, {"pair_slave", true, &pair::create_slave},
};
static_assert(std::size(kKinds) == std::variant_size_v<config::ModeSettings>,
              "one registry entry per ModeSettings alternative");

}  // namespace

const ModeKind& kind_for(const config::ModeSettings& settings) {
    return kKinds[settings.index()];
}

}  // namespace sg::modes
