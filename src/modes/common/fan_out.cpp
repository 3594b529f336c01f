// fan_out.cpp: fan-out of serial frames to the sessions of TCP Server and Real COM, with their
// per-client queue bound (fan_out.h). Called on the port strand from the PackingStage (frames),
// the sessions' writers (a queue drained) and Listener::Owner::session_ended.
#include "modes/common/fan_out.h"

#include <algorithm>

#include "core/limits.h"

namespace sg::modes::common {

void FanOut::on_frame(std::span<const std::byte> frame) {
    if (listener_.sessions().empty()) return;  // the device drops serial data with no client
    Chunk chunk;  // the frame's shared copy, made only if some client must queue it
    for (FanOutSession* s : listener_.sessions_as<FanOutSession>()) s->offer(frame, chunk);
    update_backpressure();
}

void FanOut::update_backpressure() {
    if (ignore_jammed_ip_) return;
    std::size_t fullest = 0;
    for (const FanOutSession* s : listener_.sessions_as<FanOutSession>()) {
        fullest = std::max(fullest, s->queued());
    }
    read_pause_.update(fullest);
}

FanOutSession::FanOutSession(Stream stream, FanOut& fan_out, std::uint8_t alive_check_min,
                             const char* what)
    : SessionBase(std::move(stream), fan_out.listener(), alive_check_min, what),
      fan_out_(fan_out),
      out_(ctx_.strand) {}

void FanOutSession::count_sent(std::size_t n) {
    tx_ += n;
    ctx_.stats.net_tx_bytes.fetch_add(n, std::memory_order_relaxed);
    on_sent();
}

void FanOutSession::offer(std::span<const std::byte> frame, Chunk& shared) {
    if (ended_ || draining_) return;
    boost::system::error_code ec;
    // Nothing queued means no write in flight either (the writer keeps a chunk queued until its
    // write completed), so the bytes may go straight into the socket, in order.
    const std::size_t sent = out_.try_write(stream_, frame, ec);
    if (ec) {
        end();  // reset by the peer: the reader and writer see it and finish
        return;
    }
    if (sent != 0) {
        count_sent(sent);
        if (sent == frame.size()) return;
        enqueue(make_chunk(frame.subspan(sent)));
        return;
    }
    if (!shared) shared = make_chunk(frame);
    enqueue(shared);
}

void FanOutSession::enqueue(const Chunk& chunk) {
    if (ended_ || draining_) return;
    if (out_.queued() + chunk->size() > core::limits::kClientQueueBytes &&
        fan_out_.ignore_jammed_ip()) {
        ctx_.stats.jammed_drops.fetch_add(chunk->size(), std::memory_order_relaxed);
        if (!jammed_) {
            jammed_ = true;  // one event per jam episode, not per dropped chunk
            ctx_.events.emit(events::types::kJammed, {.port = ctx_.id, .source = peer_});
        }
        return;
    }
    out_.push(chunk);
}

core::Task<void> FanOutSession::writer() {
    const std::error_code ec = co_await out_.run(stream_, [this](std::size_t n) {
        count_sent(n);
        if (jammed_ && out_.queued() < core::limits::kClientQueueBytes / 2) jammed_ = false;
        fan_out_.update_backpressure();
    });
    // Drained, aborted or failed: the session is over either way; a drained TLS connection ends
    // with close_notify first.
    if (ec) {
        end();
    } else {
        co_await finish_drained();
    }
}

}  // namespace sg::modes::common
