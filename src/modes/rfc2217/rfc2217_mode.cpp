// rfc2217_mode.cpp: RFC 2217 mode. Created by the Port on its strand; the accept loop
// (common::Listener), the one session's three coroutines (reader, serial worker, writer;
// rfc2217_session.cpp) and the force-transmit timer all run on that strand (no locks).
//
// One client at a time, as the device and ser2net's default (max-connections 1) do: a second
// connection is accepted and closed at once (serial.refused), so it sees EOF, not a timeout.
//
// Network → serial: reader → TelnetDecoder → data bytes and requests, kept in wire order in a
// queue bounded by wire bytes (kPendingSerialBytes; each request or break charged at least what it
// holds in memory); the serial worker writes the data and applies the line requests
// (SET-BAUDRATE ... SET-CONTROL, IAC BRK) in that order, so a baud change lands after the bytes
// sent before it. The reader never waits on the line itself, so requests that must not wait behind
// data (PURGE-DATA, FLOWCONTROL-SUSPEND/RESUME, the masks, polls, SIGNATURE, SET-CONTROL's DTR and
// RTS) are handled as soon as they are read: a client purging a blocked transmit buffer, or
// raising the RTS it dropped, must be heard while the blocked write is still pending (issue 14).
// A session that ends (the client left) abandons its write in flight: the port is free at once.
// Serial → network: on_serial_data → common::PackingStage → on_frame (the mode is its sink) →
// IAC-escaped chunk. With nothing queued and no write in flight the chunk goes straight into the
// socket (non-blocking, as common::FanOutSession::offer() does); what the socket does not take
// goes on the session's data queue. The writer sends
// control bytes (negotiation, answers, notifications) first and data unless the client sent
// FLOWCONTROL-SUSPEND. A data queue over kClientQueueBytes pauses the port's serial reads until
// it drains to half (backpressure; nothing grows unbounded).
#include "modes/rfc2217/rfc2217_mode.h"

#include <optional>

#include "modes/common/listener.h"
#include "modes/common/packing_stage.h"
#include "modes/common/read_pause.h"
#include "modes/common/tcp_options.h"
#include "modes/rfc2217/rfc2217_session.h"

namespace sg::modes::rfc2217 {

namespace {

using asio::ip::tcp;

class Rfc2217Mode final : public Mode,
                          public common::Listener::Owner,
                          public SessionOwner,
                          public common::FrameSink {
public:
    Rfc2217Mode(PortContext& ctx, const config::Rfc2217Settings& s)
        : ctx_(ctx), settings_(s), acceptor_(ctx.strand) {}

    std::error_code start() override {
        if (auto ec = common::listen(acceptor_, ctx_.listen_address, settings_.local_port)) {
            return ec;
        }
        listening_ = acceptor_.local_endpoint().address().to_string() + ":" +
                     std::to_string(settings_.local_port);
        // The line as configured: each client starts from it and leaves it so (restore_line()).
        if (auto st = ctx_.serial.settings(); st) configured_ = *st;
        listener_.accept(acceptor_, {.refusal = [this] { return refusal(); },
                                     .take = [this](common::Stream s) { take(std::move(s)); },
                                     .security = settings_.security});
        return {};
    }

    void on_serial_data(std::span<const std::byte> bytes) override {
        if (session_ == nullptr) return;  // the device drops serial data with no client
        packing_.feed(bytes);
    }

    void on_serial_notification(const serial::Notification& n) override {
        if (session_ != nullptr) session_->on_notification(n);
    }

    void stop(std::function<void()> done) override {
        // Bytes still held by the packer go out before the session drains.
        listener_.stop(std::move(done), [this] { packing_.flush(); });
    }

    void revoke() override { listener_.revoke(); }  // NE-4

    ModeStatus status() const override {
        ModeStatus st{
            "rfc2217", listener_.stopping() ? "stopping" : "listening on " + listening_, {}};
        if (session_ != nullptr) st.peers.push_back(session_->status());
        return st;
    }

    // ---- common::Listener::Owner
    void session_ended(common::SessionBase& s) override {
        if (session_ == &s) session_ = nullptr;
        // Whatever the packer held was for that client; the next one starts clean.
        discard_held();
        restore_line();
        update_backpressure();
    }
    bool busy() const override { return packing_.waiting(); }
    void stopped() override { read_pause_.release(); }

    // ---- SessionOwner
    /// PURGE-DATA "receive": serial bytes not yet sent to the client are dropped, including a
    /// frame the packer holds.
    void discard_held() override { packing_.discard(); }

    void update_backpressure() override {
        read_pause_.update(session_ != nullptr ? session_->data_queued() : 0);
    }

    // ---- common::FrameSink: the packing stage's frames, one call each
    void on_frame(std::span<const std::byte> frame) override {
        if (session_ == nullptr) return;
        session_->send_data(frame);
        update_backpressure();
    }

private:
    /// The port is one client's serial line: a second client would fight the first over baud
    /// rate and modem lines.
    std::optional<std::string> refusal() const {
        if (session_ == nullptr) return std::nullopt;
        return "RFC 2217 port already in use by " + session_->peer();
    }

    void take(common::Stream stream) {
        listener_.connected(common::peer_string(stream));
        auto session = std::make_shared<Session>(std::move(stream), listener_, *this,
                                                 settings_.tcp_alive_check_min);
        listener_.add(*session);
        session_ = session.get();
        session->start();
    }

    /// A client's line settings, modem outputs and break last as long as its connection, as with
    /// ser2net (which reopens the device per connection): the next client finds the line as the
    /// configuration says, RTS and DTR on as after an open, no break.
    void restore_line() {
        if (configured_) (void)ctx_.serial.configure(*configured_);
        (void)ctx_.serial.set_break(false);
        (void)ctx_.serial.set_rts(true);
        (void)ctx_.serial.set_dtr(true);
    }

    PortContext& ctx_;
    config::Rfc2217Settings settings_;
    tcp::acceptor acceptor_;
    Session* session_ = nullptr;                        // the listener's one session, typed
    std::optional<config::SerialSettings> configured_;  // the line at start()
    std::string listening_;
    common::Listener listener_{ctx_, *this};
    common::ReadPause read_pause_{ctx_};  // after ctx_: initialised from it
    // The mode is its sink; a timer wait settles the listener's stop.
    common::PackingStage packing_{ctx_.strand, settings_.packing, *this,
                                  [this] { listener_.settle(); }};
};

}  // namespace

ModePtr create(PortContext& ctx, const config::ModeSettings& settings, std::error_code& ec) {
    ec = {};
    return std::make_unique<Rfc2217Mode>(ctx, std::get<config::Rfc2217Settings>(settings));
}

}  // namespace sg::modes::rfc2217
