// session_base.cpp: life and end of one accepted connection (session_base.h). Created by a
// mode's accept callback; its coroutines, drain timer and end run on the port strand.
#include "modes/common/session_base.h"

#include <poll.h>

#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/listener.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::common {

using asio::ip::tcp;

namespace {

/// How often a session waiting on the serial line looks at its peer.
constexpr std::chrono::milliseconds kPeerWatchTick{250};
/// A peer that closed is gone for good once the line has not moved for this long: its bytes wait
/// for flow control or a reader that will not come (issue 14 item 2).
constexpr std::chrono::milliseconds kStalledLine{1000};

enum class PeerState { Here, Closed, Reset };

/// What the socket says of the peer without reading: POLLRDHUP is the peer's FIN even with unread
/// data before it (the reader is not reading now); POLLHUP/POLLERR a reset.
PeerState peer_state(tcp::socket& socket) {
    if (!socket.is_open()) return PeerState::Reset;
    pollfd p{socket.native_handle(), POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return PeerState::Here;
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return PeerState::Reset;
    if ((p.revents & POLLRDHUP) != 0) return PeerState::Closed;
    return PeerState::Here;
}

}  // namespace

void close_now(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
}

void reset_now(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

SessionBase::SessionBase(Stream stream, Listener& listener, std::uint8_t alive_check_min,
                         const char* what)
    : ctx_(listener.ctx()),
      stream_(std::move(stream)),
      peer_(peer_string(stream_)),
      address_(peer_address(stream_)),
      connected_at_(core::now_utc_us()),
      listener_(listener),
      connect_logged_(listener.last_connect_logged()),
      what_(what),
      drain_timer_(ctx_.strand),
      watch_timer_(ctx_.strand) {
    boost::system::error_code ignored;
    tcp::socket& socket = stream_.socket();
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);
    set_alive_check(socket, alive_check_min);
}

void SessionBase::spawn(core::Task<void> task) {
    ++running_;
    asio::co_spawn(ctx_.strand, std::move(task),
                   [self = shared_from_this()](const std::exception_ptr& e) {
                       if (e) self->listener_.failure(self->what_);
                       self->coroutine_done();
                   });
}

void SessionBase::coroutine_done() {
    if (--running_ != 0) return;
    if (connect_logged_) {
        ctx_.events.emit(events::types::kDisconnected, {.port = ctx_.id, .source = peer_},
                         "sent " + std::to_string(tx_) + " bytes, received " + std::to_string(rx_));
    } else {
        ctx_.events.count_limited(events::types::kDisconnected, {.port = ctx_.id, .source = peer_},
                                  kConnectionEventLimit);
    }
    listener_.session_ended(*this);
}

void SessionBase::drain() {
    if (ended_ || draining_) return;
    draining_ = true;
    on_drain();
    drain_timer_.expires_after(core::limits::kDrainTimeout);
    drain_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->end();
    });
}

void SessionBase::end() {
    if (ended_) return;
    ended_ = true;
    drain_timer_.cancel();
    watch_timer_.cancel();
    if (writing_to_ != nullptr) writing_to_->abandon(&ended_);
    stream_.close();
    on_end();
}

core::Task<void> SessionBase::finish_drained() {
    if (draining_ && !ended_) co_await stream_.shutdown();
    end();
}

core::Task<std::error_code> SessionBase::write_serial(SerialWriter& writer,
                                                      std::span<const std::byte> bytes) {
    if (ended_) co_return boost::system::error_code(asio::error::operation_aborted);
    writing_to_ = &writer;
    watch_stalled_ = {};
    watch_progress_ = ctx_.serial.tx_progress();
    watch_peer();
    const std::error_code ec = co_await writer.write(bytes, &ended_);
    writing_to_ = nullptr;
    co_return ec;
}

void SessionBase::watch_peer() {
    // One timer per session, armed only while a write waits: a busy session's quick writes cost a
    // flag test, not a timer each.
    if (watch_armed_ || ended_) return;
    watch_armed_ = true;
    watch_timer_.expires_after(kPeerWatchTick);
    watch_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        self->watch_armed_ = false;
        if (!ec) self->on_watch_tick();
    });
}

void SessionBase::on_watch_tick() {
    if (ended_ || writing_to_ == nullptr) return;  // the write is done: no more ticks
    switch (peer_state(stream_.socket())) {
        case PeerState::Reset: end(); return;
        case PeerState::Closed: {
            const std::uint64_t progress = ctx_.serial.tx_progress();
            if (progress != watch_progress_) {
                watch_progress_ = progress;
                watch_stalled_ = {};
            } else {
                watch_stalled_ += kPeerWatchTick;
            }
            if (watch_stalled_ >= kStalledLine) {
                end();
                return;
            }
            break;
        }
        case PeerState::Here:
            watch_progress_ = ctx_.serial.tx_progress();
            watch_stalled_ = {};
            break;
    }
    watch_peer();
}

}  // namespace sg::modes::common
