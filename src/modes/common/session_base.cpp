// session_base.cpp: life and end of one accepted connection (session_base.h). Created by a
// mode's accept callback; its coroutines, drain timer and end run on the port strand.
#include "modes/common/session_base.h"

#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/listener.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::common {

using asio::ip::tcp;

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
      watch_(ctx_) {
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
    watch_.abandon();
    stream_.close();
    on_end();
}

core::Task<void> SessionBase::finish_drained() {
    if (draining_ && !ended_) co_await stream_.shutdown();
    end();
}

core::Task<std::error_code> SessionBase::write_serial(SerialWriter& writer,
                                                      std::span<const std::byte> bytes) {
    // A reset, or a close while the line takes nothing, ends the session (issue 14 item 2).
    co_return co_await watch_.write(writer, bytes, stream_, &ended_, [this](PeerGone) { end(); });
}

}  // namespace sg::modes::common
