// peer_watch.cpp: the serial write of one connection and the watch on its peer while it waits
// (peer_watch.h). On the port strand.
#include "modes/common/peer_watch.h"

#include <poll.h>

#include <utility>

namespace sg::modes::common {

using asio::ip::tcp;

namespace {

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

std::string left_during_write(PeerGone how) {
    if (how == PeerGone::Reset) return "reset by the peer while the serial line took nothing";
    return "closed by the peer; the serial line took nothing for " +
           std::to_string(kStalledLine.count()) + " ms";
}

struct PeerWatch::State {
    explicit State(PortContext& c) : ctx(c), timer(c.strand) {}

    PortContext& ctx;
    asio::steady_timer timer;  // ticks while `writer` is set
    bool armed = false;
    SerialWriter* writer = nullptr;  // the write in progress waits on it
    const bool* gone = nullptr;      // that write's "I have left" flag
    tcp::socket* socket = nullptr;   // its connection
    std::function<void(PeerGone)> on_gone;
    // The line's tx_progress() when the peer was first seen closed, taken then and not at every
    // write (an ioctl on a tty: one per write cost a streaming connection a syscall per turn).
    bool have_progress = false;
    std::uint64_t progress = 0;
    std::chrono::milliseconds stalled{};  // peer closed and the line has not moved since
};

core::Task<std::error_code> PeerWatch::write(SerialWriter& writer, std::span<const std::byte> bytes,
                                             Stream& stream, const bool* gone,
                                             std::function<void(PeerGone)> on_gone) {
    if (gone != nullptr && *gone)
        co_return boost::system::error_code(asio::error::operation_aborted);
    if (!state_) state_ = std::make_shared<State>(ctx_);
    const auto s = state_;  // alive across the await whatever the owner does
    s->writer = &writer;
    s->gone = gone;
    s->socket = &stream.socket();
    s->on_gone = std::move(on_gone);
    s->stalled = {};
    s->have_progress = false;
    // One timer per connection, armed only while a write waits: a busy connection's quick writes
    // cost a flag test, not a timer each.
    arm(s);
    const std::error_code ec = co_await writer.write(bytes, gone);
    s->writer = nullptr;
    s->on_gone = nullptr;
    co_return ec;
}

void PeerWatch::abandon() {
    if (!state_ || state_->writer == nullptr) return;
    const auto s = state_;
    SerialWriter* writer = std::exchange(s->writer, nullptr);
    s->on_gone = nullptr;
    s->timer.cancel();
    writer->abandon(s->gone);
}

void PeerWatch::arm(const std::shared_ptr<State>& s) {
    if (s->armed || s->writer == nullptr) return;
    s->armed = true;
    s->timer.expires_after(kPeerWatchTick);
    s->timer.async_wait([s](boost::system::error_code ec) {
        s->armed = false;
        if (!ec) tick(s);
    });
}

void PeerWatch::tick(const std::shared_ptr<State>& s) {
    if (s->writer == nullptr) return;  // the write is done or abandoned: no more ticks
    switch (peer_state(*s->socket)) {
        case PeerState::Reset: {
            auto gone = s->on_gone;  // it ends the connection, which clears s->on_gone
            if (gone) gone(PeerGone::Reset);
            return;
        }
        case PeerState::Closed: {
            const std::uint64_t progress = s->ctx.serial.tx_progress();
            if (!s->have_progress || progress != s->progress) {
                s->have_progress = true;
                s->progress = progress;
                s->stalled = {};
            } else {
                s->stalled += kPeerWatchTick;
            }
            if (s->stalled >= kStalledLine) {
                auto gone = s->on_gone;
                if (gone) gone(PeerGone::Closed);
                return;
            }
            break;
        }
        case PeerState::Here:
            s->have_progress = false;
            s->stalled = {};
            break;
    }
    arm(s);
}

}  // namespace sg::modes::common
