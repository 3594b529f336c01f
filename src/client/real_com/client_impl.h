// client_impl.h: the state of one `serialgate realcom` port (Client::Impl), shared by the files
// that implement it; private to src/client/real_com/. Everything of a port — the pty loop, the
// session loop, a session's four parts and their timers — runs on the port's own strand (no
// locks). The design, and which file holds which part:
//   client_pty.cpp      the pty side: watching for an application, reading its bytes (the data
//                       path to the device: read_available(), send_now()), flushes, termios
//                       changes;
//   client_session.cpp  the device side: connect with backoff, one session (PORT_INIT, the command
//                       reader and writer, the data reader and writer, the graceful end);
//   client.cpp          the Client facade and the status line.
// Members are shared by both sides on purpose: the data path hands a batch from the pty straight
// to the data socket (send_now()), with no coroutine hop in between.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "client/real_com/client.h"
#include "client/real_com/host_protocol.h"
#include "client/real_com/link.h"
#include "client/real_com/pty.h"
#include "core/asio.h"
#include "core/signal.h"

namespace sg::client::real_com {

class Client::Impl {
    // Names both sides use; each file keeps its other constants to itself.
    using tcp = asio::ip::tcp;
    using TlsStream = asio::ssl::stream<tcp::socket&>;
    using Clock = std::chrono::steady_clock;
    enum class State { Idle, Connecting, Connected, Backoff, Stopping };
    // termios re-read while a session runs and the pty is quiet
    static constexpr std::chrono::milliseconds kLineWatch{100};
    static constexpr std::size_t kPtyReadBytes = 4096;  // a pty hands over at most ~4 KiB per read
    /// Command bytes waiting for a device that does not read them: past this the command reader
    /// stops reading (answers are a few bytes; a healthy device keeps this near 0).
    static constexpr std::size_t kCommandOutBytes = 4096;

public:
    Impl(asio::io_context& io, const PortSpec& spec, const pty::Pair& pair, Link link,
         TlsOptions tls)
        : strand_(asio::make_strand(io)),
          spec_(spec),
          tls_(std::move(tls)),
          master_(strand_, pair.master),
          slave_path_(pair.slave_path),
          link_(std::move(link)),
          resolver_(strand_),
          data_(strand_),
          command_(strand_),
          changed_(strand_),
          name_(link_.path()),
          where_(fmt::format("{} (data {}, command {}{})", spec.device, spec.data_port,
                             spec.command_port, tls_.context ? ", TLS" : "")) {
        if (auto l = pty::read_line(fd())) pty_line_ = *l;
        line_ = settings_of(pty_line_, spec_.framing);
    }

    const core::Strand& strand() const { return strand_; }

    void start() {
        spdlog::info("{} → {}: port {} of {}; waiting for an application to open it", name_,
                     slave_path_, spec_.port, where_);
        spawn(pty_loop());
        spawn(session_loop());
    }

    void stop(std::function<void()> done) {
        stopping_ = true;
        done_ = std::move(done);
        boost::system::error_code ignored;
        resolver_.cancel();
        if (state_ == State::Connecting) close_sockets();
        master_.cancel(ignored);
        changed_.notify();
        maybe_done();
    }

    std::string status_line() const;

private:
    int fd() { return master_.native_handle(); }
    /// Whether a full queue holds the application back (its bytes wait in the kernel) rather
    /// than dropping: always, except while the device is unreachable.
    bool backpressure() const { return state_ != State::Backoff; }
    bool holding_back() const { return backpressure() && queued_ >= kPtyQueueBytes; }
    bool wants_session() const { return !stopping_ && (app_open_ || queued_ > 0); }

    void spawn(core::Task<void> task) {
        ++running_;
        asio::co_spawn(strand_, std::move(task), [this](const std::exception_ptr& e) {
            log_exception(e);
            --running_;
            maybe_done();
        });
    }
    void spawn_part(core::Task<void> task) {
        ++parts_;
        asio::co_spawn(strand_, std::move(task), [this](const std::exception_ptr& e) {
            log_exception(e);
            --parts_;
            changed_.notify();
        });
    }
    void log_exception(const std::exception_ptr& e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            spdlog::error("{}: internal error: {}", name_, x.what());
        }
    }
    void maybe_done() {
        if (!stopping_ || running_ != 0 || !done_) return;
        link_.remove();
        boost::system::error_code ignored;
        master_.close(ignored);
        auto done = std::move(done_);
        done_ = nullptr;
        done();
    }

    // ---- the pty side (client_pty.cpp)

    core::Task<void> pty_loop();
    void read_available();
    void on_packet(const pty::Packet& p);
    void enqueue(std::span<const std::byte> data);
    /// Writes the queue to the data connection now if nothing stands in the way (see
    /// client_pty.cpp); true when that made room in the queue.
    bool send_now();
    void drop_queue();
    /// Re-reads the termios; a change goes to the device when a session is open.
    void check_line();

    void application_opened() {
        app_open_ = true;
        spdlog::info("{}: an application opened the link", name_);
        changed_.notify();
    }
    void application_closed() {
        app_open_ = false;
        spdlog::info("{}: the application closed the link", name_);
        changed_.notify();
    }

    // ---- the device side (client_session.cpp)

    core::Task<void> session_loop();
    core::Task<std::error_code> connect();
    /// The TLS handshake on a connected channel (`which`: "data" or "command"), bounded by
    /// kTlsHandshakeTimeout; the stream is left in `stream`.
    core::Task<std::error_code> handshake(tcp::socket& socket, std::optional<TlsStream>& stream,
                                          const char* which);
    /// Runs one session until it ends; true when it was lost (device or network) while the
    /// application still holds the link, i.e. a reconnect should follow after a backoff.
    core::Task<bool> run_session();
    core::Task<void> command_reader();
    core::Task<void> command_writer();
    core::Task<void> data_reader();
    core::Task<void> data_writer();
    void end(std::string reason) {
        if (end_reason_.empty()) end_reason_ = std::move(reason);
        changed_.notify();
    }
    void close_sockets() {
        boost::system::error_code ignored;
        for (tcp::socket* s : {&data_, &command_}) {
            s->shutdown(tcp::socket::shutdown_both, ignored);
            s->close(ignored);
        }
    }
    void log(const std::vector<Note>& notes) {
        for (const auto& n : notes) {
            switch (n.level) {
                case Note::Level::Debug: spdlog::debug("{}: {}", name_, n.text); break;
                case Note::Level::Info: spdlog::info("{}: {}", name_, n.text); break;
                case Note::Level::Warn: spdlog::warn("{}: {}", name_, n.text); break;
            }
        }
    }

    core::Strand strand_;
    const PortSpec spec_;
    const TlsOptions tls_;  // context null: plain TCP
    asio::posix::stream_descriptor master_;
    const std::string slave_path_;
    Link link_;
    tcp::resolver resolver_;
    tcp::socket data_;
    tcp::socket command_;
    // With TLS, the streams over data_ and command_ of the current session (made by connect(),
    // dropped at the next one, when nothing of the old session runs).
    std::optional<TlsStream> data_tls_;
    std::optional<TlsStream> command_tls_;
    core::Signal changed_;  // any state change: every loop re-checks its condition
    const std::string name_;
    const std::string where_;
    std::array<std::byte, kPtyReadBytes + 1> pty_buf_{};  // + the packet-mode status byte

    State state_ = State::Idle;
    bool stopping_ = false;
    bool app_open_ = false;
    std::function<void()> done_;
    int running_ = 0;  // pty loop and session loop
    int parts_ = 0;    // a session's reader and writer coroutines

    PtyLine pty_line_;
    LineSettings line_;             // what the pty shows, with the fixed framing
    std::vector<std::byte> queue_;  // to the device, not yet handed to a write
    std::size_t queued_ = 0;        // bytes in queue_ and in the data writer's write under way
    bool writing_data_ = false;     // the data writer has a write in flight

    HostProtocol proto_;
    Wire cmd_out_;  // command bytes waiting for the command writer
    bool writing_command_ = false;
    bool session_open_ = false;  // PORT_INIT sent; changes and flushes go to the device
    bool closing_ = false;       // the session's sockets are being closed
    std::string end_reason_;
    Clock::time_point settings_sent_at_;
    Clock::time_point next_line_check_;
    Clock::time_point retry_at_;
    std::int64_t connected_at_ = 0;
    std::string last_error_;
    bool outage_reported_ = false;
    bool drop_reported_ = false;

    std::uint64_t tx_ = 0;           // bytes to the device
    std::uint64_t rx_ = 0;           // bytes from the device
    std::uint64_t dropped_ = 0;      // application bytes dropped while the device was unreachable
    std::uint64_t undelivered_ = 0;  // device bytes no application took (link closed)
    std::uint64_t sessions_ = 0;
};

}  // namespace sg::client::real_com
