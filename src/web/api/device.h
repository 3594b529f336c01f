// device.h: what the API needs from the running device, implemented by app/serve (the only code
// that knows every part). Every method is called from API handlers on the handler pool and must be
// thread-safe; the implementation hops to the io thread where the port manager lives.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>

#include "config/settings.h"
#include "config/yaml.h"
#include "core/result.h"
#include "events/log.h"
#include "modes/common/monitor_tap.h"

namespace sg::web::api {

class Device {
public:
    virtual ~Device() = default;
    /// The configuration in force (an immutable snapshot).
    virtual std::shared_ptr<const config::Config> config() = 0;
    /// Commits a validated configuration in one store transaction and applies it (changed ports
    /// restart, others keep running). Returns the new revision; an error changes nothing.
    virtual core::Result<std::int64_t> commit(config::Config next, const events::Fields& who) = 0;
    /// The port monitor (same JSON as `serialgate status --format json`).
    virtual nlohmann::json status() = 0;
    /// An account was created, or removed: the first administrator switches the data plane on.
    virtual void accounts_changed() = 0;
    /// The stored certificate changed: new TLS connections use it, established ones keep theirs.
    virtual void certificate_changed() = 0;
    /// GET /api/v1/services (guide §3.1): each network service of the configuration with its
    /// switch and the addresses it is bound to now, from the process's live sockets.
    virtual nlohmann::json services() = 0;
    /// The parse options of this build (event catalog keys).
    virtual config::ParseOptions parse_options() = 0;
    virtual std::string version() = 0;
    /// Issue 13 item 4: a live monitor subscription to port `port`; null when a cap is full
    /// (`why`: "port" or "device") or the device has no monitor (unit tests: the default).
    virtual std::shared_ptr<modes::common::TapSubscription> monitor(std::uint32_t port,
                                                                    std::string& why) {
        (void)port;
        why = "device";
        return nullptr;
    }
};

}  // namespace sg::web::api
