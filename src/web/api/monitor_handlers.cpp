// monitor_handlers.cpp: GET /api/v1/ports/{n}/monitor/ws, the live serial monitor (issue 13 item
// 4). dispatch() has already checked the session cookie, the session's request rate and the
// Diagnostics read privilege; this handler checks what a WebSocket adds — that it is one, that the
// Origin is the console's own (a page of another site must not open it with the user's cookie:
// cross-site WebSocket hijacking) and the subscriber caps — then leaves a MonitorFeed for the
// HTTP server, which accepts the WebSocket and polls the feed on the connection's strand. The feed
// sends what the port's tap queued (docs/api.md "Serial monitor"), keeps its session from going
// idle, ends with the session or when the session loses the right to it (Sessions::
// revoke_monitors: its group lost Diagnostics, its account was locked), and logs the start and the
// end with account and source. Runs on the handler pool; the feed on the web io thread (never
// blocking: no SQLite).
#include <fmt/format.h>
#include <sodium.h>

#include <boost/beast/websocket/rfc6455.hpp>

#include "web/api/api.h"
#include "web/api/call.h"
#include "web/http/websocket.h"

namespace sg::web::api {

namespace {

/// Close codes of the monitor (RFC 6455 §7.4.2: 4000-4999 are the application's).
constexpr std::uint16_t kCloseSessionEnded = 4001;
/// The session goes on but lost the right to watch: its group no longer has Diagnostics read, or
/// its account is locked.
constexpr std::uint16_t kCloseRevoked = 4003;
/// A close reason fits in a control frame (RFC 6455 §5.5: 125 bytes with the code).
constexpr std::size_t kMaxCloseReason = 123;
/// The session is checked (and kept from going idle) this often: every Nth poll, ~0.5 s.
constexpr int kSessionCheckPolls = 10;
/// With no traffic, a message this often still carries the loss totals (and finds a dead peer).
constexpr int kHeartbeatPolls = 100;

std::string base64(const std::vector<std::byte>& b) {
    std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(b.data()),
                      b.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

/// Issue 13: the Origin must be present and name this very origin ("https://" + Host). Browsers
/// always send it on a WebSocket upgrade; unlike the API's CSRF check, there is no token here.
bool console_origin(const http::Request& req) {
    const auto origin = req[bhttp::field::origin];
    const auto host = req[bhttp::field::host];
    return !host.empty() && origin.size() == 8 + host.size() && origin.starts_with("https://") &&
           origin.substr(8) == host;
}

class MonitorFeed final : public http::WebSocketFeed {
public:
    MonitorFeed(std::shared_ptr<modes::common::TapSubscription> sub, Sessions& sessions,
                Device& device, events::Log& log, const SessionView& session, events::Fields who)
        : sub_(std::move(sub)),
          sessions_(sessions),
          device_(device),
          log_(log),
          public_id_(session.public_id),
          epoch_(session.monitor_epoch),
          who_(std::move(who)) {}

    Step poll() override {
        Step step;
        if (!hello_sent_) {
            hello_sent_ = true;
            step.text = nlohmann::json{{"type", "hello"},
                                       {"port", sub_->port()},
                                       {"interval_ms", poll_interval().count()}}
                            .dump();
            return step;
        }
        if (++polls_ % kSessionCheckPolls == 0) {
            // Issue 13: a watching user is active (the idle clock restarts here), and the monitor
            // ends within this period of the session's end or of losing the right to watch.
            if (auto end = sessions_.keep_monitor(public_id_, epoch_, device_.config()->login)) {
                step.close = true;
                step.code = end->revoked ? kCloseRevoked : kCloseSessionEnded;
                step.reason = std::move(end->why);
                if (step.reason.size() > kMaxCloseReason) step.reason.resize(kMaxCloseReason);
                return step;
            }
        }
        auto batch = sub_->take();
        const bool lost_more = batch.lost_frames != lost_frames_;
        lost_frames_ = batch.lost_frames;
        lost_bytes_ = batch.lost_bytes;
        if (batch.frames.empty() && !lost_more && polls_ % kHeartbeatPolls != 0) return step;
        nlohmann::json frames = nlohmann::json::array();
        for (const auto& f : batch.frames) {
            frames.push_back({{"dir", modes::common::to_string(f.dir)},
                              {"ts_us", f.ts_us},
                              {"data", base64(f.bytes)}});
            sent_bytes_ += f.bytes.size();
        }
        sent_frames_ += batch.frames.size();
        step.text = nlohmann::json{{"type", "data"},
                                   {"frames", std::move(frames)},
                                   {"lost_frames", batch.lost_frames},
                                   {"lost_bytes", batch.lost_bytes}}
                        .dump();
        return step;
    }

    void ended(std::string_view why) override {
        log_.emit(
            events::types::kMonitorStopped, who_,
            fmt::format("port {}: {}; {} frames ({} bytes) shown, {} frames ({} bytes) lost",
                        sub_->port(), why, sent_frames_, sent_bytes_, lost_frames_, lost_bytes_));
        sub_.reset();  // leaves the tap now, not when the connection's memory goes
    }

private:
    std::shared_ptr<modes::common::TapSubscription> sub_;
    Sessions& sessions_;
    Device& device_;
    events::Log& log_;
    std::string public_id_;
    std::uint64_t epoch_;  // the session's monitor_epoch when the monitor opened
    events::Fields who_;
    bool hello_sent_ = false;
    std::uint64_t polls_ = 0;
    std::uint64_t sent_frames_ = 0;
    std::uint64_t sent_bytes_ = 0;
    std::uint64_t lost_frames_ = 0;
    std::uint64_t lost_bytes_ = 0;
};

}  // namespace

http::Response Api::monitor(Call& call) {
    if (call.peer.upgrade == nullptr) {
        auto res = error(call, bhttp::status::upgrade_required, "websocket_required",
                         "open this URL as a WebSocket");
        res.set(bhttp::field::upgrade, "websocket");
        return res;
    }
    auto who = call.who();
    if (!console_origin(call.req)) {
        // A page of another origin using the user's cookie (or a client naming none): refused,
        // logged at most once per source a minute (a stranger's page can cause it).
        log_.emit_limited(
            events::types::kAccessDenied, who,
            fmt::format("GET {}: WebSocket Origin \"{}\" is not this console's", call.path,
                        std::string_view(call.req[bhttp::field::origin]).substr(0, 64)),
            events::kRefusalLimit);
        return error(call, bhttp::status::forbidden, "csrf", "the Origin is not this console");
    }
    const auto number = port_number(call.params.at(0));
    if (!number || device_.config()->port(*number) == nullptr) {
        return error(call, bhttp::status::not_found, "not_found");
    }
    const std::uint32_t port = *number;
    // Issue 13: a locked account's sessions go on (IA-6) but watch nothing until the lock ends.
    // The session (and its monitor epoch) was read before this: a lock from now on ends the
    // monitor through revoke_monitors_locked().
    if (accounts_.lock_state(call.account()).locked) {
        return error(call, bhttp::status::locked, "locked", "the account is locked");
    }
    std::string why;
    auto sub = device_.monitor(port, why);
    if (!sub) {
        log_.emit_limited(events::types::kDosRefused, who,
                          fmt::format("port {}: serial monitor refused: {} monitor sessions are at "
                                      "their cap",
                                      port, why == "port" ? "this port's" : "the device's"),
                          events::kRefusalLimit);
        auto res = error(call, bhttp::status::service_unavailable, "too_many_monitors",
                         why == "port" ? "this port has as many monitor sessions as it allows"
                                       : "the device has as many monitor sessions as it allows");
        res.set(bhttp::field::retry_after, "10");
        return res;
    }
    who.port = port;
    log_.emit(events::types::kMonitorStarted, who, fmt::format("port {}", port));
    call.peer.upgrade->feed =
        std::make_shared<MonitorFeed>(std::move(sub), sessions_, device_, log_, *call.session, who);
    http::Response res{bhttp::status::switching_protocols, call.req.version()};
    return res;
}

}  // namespace sg::web::api
