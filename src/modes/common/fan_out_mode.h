// fan_out_mode.h: the part TCP Server and Real COM share as listening modes that serve several
// clients alike: their settings, the Listener, the FanOut with its backpressure, the PackingStage
// feeding it, the SerialWriter the sessions take turns on, and the Listener::Owner duties these
// imply. The mode adds its acceptors, command channels and Session; the Session (a
// FanOutSession) reaches the shared parts through the accessors. On the port strand; no locks.
#pragma once

#include "modes/common/fan_out.h"
#include "modes/common/listener.h"
#include "modes/common/packing_stage.h"
#include "modes/common/serial_writer.h"
#include "modes/mode.h"

namespace sg::modes::common {

/// `Settings` has `packing` (config::PackingSettings) and `ignore_jammed_ip`.
template <class Settings>
class FanOutMode : public Mode, public Listener::Owner {
public:
    // ---- Listener::Owner
    /// A mode that does more when a session ends overrides this and calls it last.
    void session_ended(SessionBase&) override { fan_out_.update_backpressure(); }
    bool busy() const override { return packing_.waiting() || also_busy(); }
    void stopped() override { fan_out_.release(); }

    // ---- used by the mode's Session
    FanOut& fan_out() { return fan_out_; }
    const Settings& settings() const { return settings_; }
    SerialWriter& serial_writer() { return serial_writer_; }

protected:
    FanOutMode(PortContext& ctx, const Settings& settings)
        : ctx_(ctx), settings_(settings), serial_writer_(ctx) {}

    /// Something of the mode's own besides the force-transmit timer still runs (a command
    /// channel): a stop waits for it; the mode calls listener_.settle() once it has ended.
    virtual bool also_busy() const { return false; }

    PortContext& ctx_;
    Settings settings_;
    SerialWriter serial_writer_;
    Listener listener_{ctx_, *this};  // the sessions, in order of acceptance
    FanOut fan_out_{ctx_, listener_, settings_.ignore_jammed_ip};
    // fan_out_ is its sink; a timer wait settles the listener's stop.
    PackingStage packing_{ctx_.strand, settings_.packing, fan_out_, [this] { listener_.settle(); }};
};

}  // namespace sg::modes::common
