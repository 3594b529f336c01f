// client_pty.cpp: the pty side of one `serialgate realcom` port (client_impl.h; shared/specs/
// realcom-aspp.md §5). Runs on the port's strand: the pty loop, and check_line() also from the
// session (client_session.cpp).
//
// pty loop: while no application holds the slave open, the master reports POLLHUP; it is polled
// every 100 ms (epoll would report the hang-up without end). Once an application opens the link,
// the loop reads the master in packet mode: data goes to a bounded queue for the device, flush
// packets become FLUSH commands, and the termios is re-read before each chunk of data, so that
// bytes written after tcsetattr() follow the commands that change the line. What one wake-up
// reads (until the pty is empty or the queue full) goes to the data connection at once, in one
// non-blocking write, when nothing else is being written and no line-setting command awaits its
// answer; the data writer sends whatever the socket did not take. The data path thus costs a
// read per pty chunk and a send per batch, with no coroutine hop or wake-up of the other loops
// (waking all of them, with their timers, per 4 KiB chunk cost a fifth of the client's CPU).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <span>

#include "client/real_com/client_impl.h"

namespace sg::client::real_com {

namespace {

using namespace std::chrono_literals;

constexpr auto kHangUpPoll = 100ms;  // a slave nobody holds open is checked this often

}  // namespace

core::Task<void> Client::Impl::pty_loop() {
    while (!stopping_) {
        if (!app_open_) {
            co_await changed_.wait_until(Clock::now() + kHangUpPoll);
            if (stopping_) break;
            const auto ready = pty::poll_now(fd());
            if (!ready.hung_up) {
                application_opened();
            } else if (ready.readable) {
                read_available();  // written just before the last close
            }
            continue;
        }
        if (holding_back()) {  // backpressure: the application's write() blocks meanwhile
            co_await changed_.wait();
            continue;
        }
        auto [ec] = co_await master_.async_wait(asio::posix::stream_descriptor::wait_read,
                                                core::use_nothrow);
        if (stopping_) break;
        if (ec && ec != asio::error::operation_aborted) {
            spdlog::error("{}: waiting on the pty failed: {}", name_, ec.message());
            co_await changed_.wait_until(Clock::now() + kHangUpPoll);
            continue;
        }
        read_available();
    }
}

void Client::Impl::read_available() {
    for (;;) {
        bool empty = false;  // the pty has nothing more for now (or the application is gone)
        while (!holding_back()) {
            const ssize_t n = ::read(fd(), pty_buf_.data(), pty_buf_.size());
            if (n > 0) {
                on_packet(pty::decode(std::span(pty_buf_).first(static_cast<std::size_t>(n))));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            empty = true;
            if (n < 0 && errno == EAGAIN) break;
            // EIO: no process holds the slave open any more.
            if (app_open_) application_closed();
            break;
        }
        // One write for the batch; while it made room and the pty may hold more, read on.
        if (!send_now() || empty) return;
    }
}

bool Client::Impl::send_now() {
    if (queue_.empty()) return false;
    if (!session_open_ || closing_ || writing_data_ || proto_.settings_pending() || data_tls_) {
        // No session yet (session loop), or the data writer's turn: always with TLS, whose
        // records only the stream's own (asynchronous) write may produce.
        changed_.notify();
        return false;
    }
    boost::system::error_code ec;
    std::size_t n = data_.write_some(asio::buffer(queue_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
        n = 0;
    } else if (ec) {
        changed_.notify();  // the data writer's write meets the same error and ends the session
        return false;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    queued_ -= n;
    tx_ += n;
    // The rest is the data writer's; an emptied queue may let a graceful end go on.
    if (!queue_.empty() || stopping_ || !app_open_) changed_.notify();
    return n > 0;
}

void Client::Impl::on_packet(const pty::Packet& p) {
    if (p.termios || !p.data.empty()) check_line();
    if (p.flush_write) {
        // tcflush(TCOFLUSH): what the application wrote and we still hold is discarded too.
        queued_ -= queue_.size();
        queue_.clear();
    }
    if ((p.flush_read || p.flush_write) && session_open_) {
        const FlushWhich which = p.flush_read && p.flush_write ? FlushWhich::Both
                                 : p.flush_read                ? FlushWhich::Receive
                                                               : FlushWhich::Transmit;
        proto_.flush(which, cmd_out_);
        spdlog::debug("{}: application flushed its {} buffer: FLUSH {}", name_,
                      which == FlushWhich::Both      ? "input and output"
                      : which == FlushWhich::Receive ? "input"
                                                     : "output",
                      static_cast<int>(which));
        changed_.notify();
    }
    if (!p.data.empty()) enqueue(p.data);
}

void Client::Impl::enqueue(std::span<const std::byte> data) {
    std::size_t take = data.size();
    if (!backpressure()) {
        // The device is unreachable: keep a little for when it is back, drop the rest rather
        // than block the application for as long as the outage lasts.
        take = std::min(take, kPtyQueueBytes - std::min(queued_, kPtyQueueBytes));
        if (take < data.size()) {
            dropped_ += data.size() - take;
            if (!drop_reported_) {
                drop_reported_ = true;
                spdlog::warn(
                    "{}: the device is unreachable: bytes the application writes beyond "
                    "{} KiB are dropped (counted on the status line)",
                    name_, kPtyQueueBytes / 1024);
            }
        }
    }
    if (take == 0) return;
    queue_.insert(queue_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    queued_ += take;
    // No wake-up here: read_available() hands the batch to send_now(), which wakes whoever
    // must send it.
}

void Client::Impl::drop_queue() {
    const std::size_t n = queue_.size();
    queue_.clear();
    queued_ -= n;
    dropped_ += n;
}

void Client::Impl::check_line() {
    next_line_check_ = Clock::now() + kLineWatch;
    auto l = pty::read_line(fd());
    if (!l || *l == pty_line_) return;
    pty_line_ = *l;
    const LineSettings now = settings_of(pty_line_, spec_.framing);
    if (now == line_) return;
    line_ = now;
    spdlog::debug("{}: the application set {}", name_, describe(line_));
    if (!session_open_) return;  // PORT_INIT carries it at the next connect
    const std::size_t before = cmd_out_.size();
    proto_.change(line_, cmd_out_);
    if (cmd_out_.size() != before) {
        settings_sent_at_ = Clock::now();
        changed_.notify();
    }
}

}  // namespace sg::client::real_com
