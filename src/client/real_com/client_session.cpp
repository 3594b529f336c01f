// client_session.cpp: the device side of one `serialgate realcom` port (client_impl.h;
// shared/specs/realcom-aspp.md §1, §6). Runs on the port's strand: the session loop and a
// session's four parts.
//
// session loop: while an application holds the link open (or bytes it wrote still wait), connect
// the data channel, then the command channel (spec §6), run a session, and after a failure or a
// lost connection retry with exponential backoff, 0.5 s doubling to 30 s. The pty and the link
// stay as they are meanwhile; the application keeps its fd.
// A session: PORT_INIT with the pty's termios; the command reader feeds HostProtocol (ALIVE
// answers, replies, NOTIFY); the command writer sends what HostProtocol built; the data writer
// sends the queue (waiting while a line-setting command is unanswered); the data reader writes
// the device's bytes to the master (a full slave input stops it, and TCP flow control reaches the
// device). When the application closes the link, queued bytes go out, WAIT_OQUEUE lets the
// device finish sending (it flushes its buffers when the data connection goes, spec §1), LINECTRL
// 0 0 follows when the application asked for HUPCL, then both connections close.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "client/real_com/client_impl.h"
#include "core/clock.h"
#include "core/limits.h"
#include "modes/common/connect.h"
#include "modes/common/tcp_options.h"
#include "security/certs/tls_contexts.h"
#include "serial/tty_write.h"

namespace sg::client::real_com {

namespace {

using namespace std::chrono_literals;

constexpr auto kBackoffFirst = 500ms;          // first wait after a failure (issue 5 §2)
constexpr auto kBackoffMax = 30000ms;          // largest wait between attempts
constexpr auto kReplyTimeout = 5000ms;         // a line-setting command unanswered this long: go on
constexpr std::uint32_t kWaitOutputMs = 2000;  // WAIT_OQUEUE timeout at close
constexpr auto kCloseTimeout = 6000ms;         // the whole graceful end of a session
constexpr std::uint8_t kAliveCheckMin = 1;     // TCP keepalive: a dead device found in ~2 minutes

bool is_eof(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe;
}

/// The end reason when a read or write on the `which` ("data" or "command") connection failed:
/// the device closing it is said as such, anything else with its error.
std::string end_reason(const char* which, const boost::system::error_code& ec) {
    const std::string connection = std::string(which) + " connection";
    return is_eof(ec) ? "the device closed the " + connection : connection + ": " + ec.message();
}

}  // namespace

core::Task<void> Client::Impl::session_loop() {
    auto wait = std::chrono::milliseconds(kBackoffFirst);
    bool retry = false;  // the next attempt follows a failure: back off first
    while (!stopping_) {
        if (!wants_session()) {
            state_ = State::Idle;
            retry = false;
            wait = kBackoffFirst;
            co_await changed_.wait();
            continue;
        }
        if (retry) {
            state_ = State::Backoff;
            retry_at_ = Clock::now() + wait;
            while (wants_session() && Clock::now() < retry_at_) {
                co_await changed_.wait_until(retry_at_);
            }
            wait = std::min(wait * 2, std::chrono::milliseconds(kBackoffMax));
            if (!wants_session()) continue;
        }
        state_ = State::Connecting;
        if (auto ec = co_await connect()) {
            if (stopping_) break;
            last_error_ = ec.message();
            if (!outage_reported_) {
                outage_reported_ = true;
                spdlog::warn("{}: cannot reach {}: {}; retrying (every 0.5 s, doubling to 30 s)",
                             name_, where_, last_error_);
            } else {
                spdlog::debug("{}: still cannot reach {}: {}", name_, where_, last_error_);
            }
            retry = true;
            if (!app_open_) {  // the application is gone and so is the device: forget its bytes
                drop_queue();
                pty::discard_input(fd());
            }
            continue;
        }
        state_ = State::Connected;
        ++sessions_;
        outage_reported_ = false;
        drop_reported_ = false;
        wait = kBackoffFirst;
        retry = co_await run_session();
        close_sockets();
    }
    close_sockets();  // a stop that came between the two connects
    state_ = State::Stopping;
}

core::Task<std::error_code> Client::Impl::connect() {
    // Nothing of the previous session runs any more: its TLS streams can go.
    data_tls_.reset();
    command_tls_.reset();
    if (tls_.context && !tls_.verify) {
        // Issue 11 item 3: the opt-out is said at every connect, not once.
        spdlog::warn(
            "{}: TLS to {} WITHOUT verifying the device's certificate (--no-verify): "
            "anyone on the path can pose as the device",
            name_, spec_.device);
    }
    // Spec §6: the data channel first, then the command channel; the device pairs them in
    // order of acceptance (spec §1). With TLS, each channel's handshake before the next connect.
    if (auto ec =
            co_await modes::common::connect(resolver_, data_, spec_.device, spec_.data_port, 0)) {
        co_return ec;
    }
    if (tls_.context) {
        if (auto ec = co_await handshake(data_, data_tls_, "data")) {
            close_sockets();
            co_return ec;
        }
    }
    if (stopping_) co_return std::make_error_code(std::errc::operation_canceled);
    if (auto ec = co_await modes::common::connect(resolver_, command_, spec_.device,
                                                  spec_.command_port, 0)) {
        close_sockets();
        co_return ec;
    }
    if (tls_.context) {
        if (auto ec = co_await handshake(command_, command_tls_, "command")) {
            close_sockets();
            co_return ec;
        }
    }
    modes::common::set_alive_check(data_, kAliveCheckMin);
    modes::common::set_alive_check(command_, kAliveCheckMin);
    boost::system::error_code ignored;
    data_.non_blocking(true, ignored);  // send_now() writes directly and must never block
    co_return std::error_code{};
}

core::Task<std::error_code> Client::Impl::handshake(tcp::socket& socket,
                                                    std::optional<TlsStream>& stream,
                                                    const char* which) {
    stream.emplace(socket, *tls_.context);
    if (auto st = security::certs::TlsContexts::prepare_client(
            stream->native_handle(), {.host = spec_.device, .verify = tls_.verify});
        !st) {
        spdlog::error("{}: {}", name_, st.error().message);
        co_return std::make_error_code(std::errc::invalid_argument);
    }
    // Bounded: a peer that accepts TCP but never answers the ClientHello must not hold the port.
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer timer(strand_);
    timer.expires_after(kTlsHandshakeTimeout);
    timer.async_wait([&socket, timed_out](boost::system::error_code ec) {
        if (ec) return;
        *timed_out = true;
        boost::system::error_code ignored;
        socket.close(ignored);
    });
    auto [ec] = co_await stream->async_handshake(asio::ssl::stream_base::client, core::use_nothrow);
    timer.cancel();
    if (!ec) co_return std::error_code{};
    std::string why = *timed_out ? "no answer within " +
                                       std::to_string(kTlsHandshakeTimeout.count() / 1000) + " s"
                                 : ec.message();
    const long verify = SSL_get_verify_result(stream->native_handle());
    if (verify != X509_V_OK) {
        why += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
    }
    spdlog::warn("{}: TLS handshake on the {} channel to {} failed: {}", name_, which, spec_.device,
                 why);
    co_return std::make_error_code(std::errc::connection_refused);
}

core::Task<bool> Client::Impl::run_session() {
    proto_ = HostProtocol{};
    cmd_out_.clear();
    end_reason_.clear();
    closing_ = false;
    if (auto l = pty::read_line(fd())) pty_line_ = *l;
    line_ = settings_of(pty_line_, spec_.framing);
    proto_.open(line_, cmd_out_);
    settings_sent_at_ = Clock::now();
    session_open_ = true;
    connected_at_ = core::now_utc_us();
    spdlog::info("{}: connected to {}; line {}", name_, where_, describe(line_));
    spawn_part(command_reader());
    spawn_part(command_writer());
    spawn_part(data_reader());
    spawn_part(data_writer());

    std::optional<Clock::time_point> closing_deadline;  // set once a graceful end started
    bool asked_output = false;
    bool hung_up = false;
    while (end_reason_.empty()) {
        const auto now = Clock::now();
        if (proto_.settings_pending() && now - settings_sent_at_ > kReplyTimeout) {
            spdlog::warn(
                "{}: the device did not answer a line-setting command within {} s; "
                "sending data anyway",
                name_, std::chrono::duration_cast<std::chrono::seconds>(kReplyTimeout).count());
            proto_.forget_unanswered();
            changed_.notify();
        }
        if (stopping_ || !app_open_) {
            // Graceful end (spec §6 "Close"): queued bytes, then WAIT_OQUEUE, then LINECTRL 0 0
            // for HUPCL, each bounded by one deadline.
            if (!closing_deadline) closing_deadline = now + kCloseTimeout;
            if (!asked_output && queued_ == 0 && !pty::poll_now(fd()).readable) {
                proto_.wait_output(kWaitOutputMs, cmd_out_);
                asked_output = true;
                changed_.notify();
            }
            if (asked_output && !hung_up && !proto_.output_pending()) {
                if (!app_open_ && pty_line_.hupcl) proto_.hang_up(cmd_out_);
                hung_up = true;
                changed_.notify();
            }
            if (hung_up && cmd_out_.empty() && !writing_command_) break;
            if (now >= *closing_deadline) break;
        }
        if (now >= next_line_check_) check_line();
        co_await changed_.wait_until(
            std::min(now + kLineWatch, closing_deadline.value_or(Clock::time_point::max())));
    }
    const bool lost = !end_reason_.empty() && app_open_ && !stopping_;
    if (lost) {
        last_error_ = end_reason_;
        spdlog::warn("{}: {}; reconnecting", name_, end_reason_);
    }
    session_open_ = false;
    closing_ = true;
    close_sockets();
    boost::system::error_code ignored;
    master_.cancel(ignored);  // a write of device data blocked on a full pty; the pty loop rearms
    changed_.notify();
    while (parts_ > 0) co_await changed_.wait();
    if (!lost) spdlog::info("{}: session closed", name_);
    co_return lost;
}

core::Task<void> Client::Impl::command_reader() {
    std::array<std::byte, 512> buf{};
    std::vector<Note> notes;
    for (;;) {
        // Bounded: while the answers wait for a device that does not read them, we read no more
        // commands (TCP flow control reaches the device). Without this a peer flooding POLL grew
        // cmd_out_ 1:1 with what it sent (issue 14 item 4).
        while (cmd_out_.size() >= kCommandOutBytes && !closing_) co_await changed_.wait();
        if (closing_) co_return;
        auto [ec, n] =
            command_tls_
                ? co_await command_tls_->async_read_some(asio::buffer(buf), core::use_nothrow)
                : co_await command_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec) {
            end(end_reason("command", ec));
            co_return;
        }
        notes.clear();
        proto_.feed(std::span(buf).first(n), cmd_out_, notes);
        log(notes);
        changed_.notify();  // answers to send, settings acknowledged
    }
}

core::Task<void> Client::Impl::command_writer() {
    Wire out;
    for (;;) {
        while (cmd_out_.empty() && !closing_) co_await changed_.wait();
        if (closing_) co_return;
        // Everything built so far in one write: the device's own daemon parses each recv() on
        // its own (spec §9), so a command must not be cut by us.
        out.swap(cmd_out_);
        writing_command_ = true;
        auto [ec, n] =
            command_tls_
                ? co_await asio::async_write(*command_tls_, asio::buffer(out), core::use_nothrow)
                : co_await asio::async_write(command_, asio::buffer(out), core::use_nothrow);
        writing_command_ = false;
        out.clear();
        changed_.notify();
        if (ec) {
            end(end_reason("command", ec));
            co_return;
        }
    }
}

core::Task<void> Client::Impl::data_reader() {
    std::vector<std::byte> buf(core::limits::kNetReadBytes);
    for (;;) {
        auto [ec, n] =
            data_tls_ ? co_await data_tls_->async_read_some(asio::buffer(buf), core::use_nothrow)
                      : co_await data_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec) {
            end(end_reason("data", ec));
            co_return;
        }
        rx_ += n;
        // Blocks while the application does not read (a full slave input queue): we read no
        // more, and TCP flow control reaches the device.
        auto [wec, written] = co_await serial::write_tty(master_, std::span(buf).first(n));
        if (closing_) co_return;
        if (wec) undelivered_ += n - written;  // EIO: the application closed the link
    }
}

core::Task<void> Client::Impl::data_writer() {
    std::vector<std::byte> out;
    for (;;) {
        // Bytes written after a termios change wait until the device acknowledged it.
        while (!closing_ && (queue_.empty() || proto_.settings_pending())) co_await changed_.wait();
        if (closing_) co_return;
        out.clear();
        out.swap(queue_);  // all of it (bounded by kPtyQueueBytes and one pty read)
        writing_data_ = true;
        auto [ec, n] =
            data_tls_ ? co_await asio::async_write(*data_tls_, asio::buffer(out), core::use_nothrow)
                      : co_await asio::async_write(data_, asio::buffer(out), core::use_nothrow);
        writing_data_ = false;
        queued_ -= out.size();
        tx_ += n;
        dropped_ += out.size() - n;
        changed_.notify();  // room in the queue; maybe the graceful end may go on
        if (ec) {
            end(end_reason("data", ec));
            co_return;
        }
    }
}

}  // namespace sg::client::real_com
