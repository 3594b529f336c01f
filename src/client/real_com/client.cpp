// client.cpp: one port of `serialgate realcom` (client.h; shared/specs/realcom-aspp.md §1, §5,
// §6). Created by the `realcom` command; everything of a port — the pty loop, the session loop,
// a session's four parts and their timers — runs on the port's own strand (no locks).
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
#include "client/real_com/client.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <optional>
#include <vector>

#include "client/real_com/host_protocol.h"
#include "client/real_com/link.h"
#include "client/real_com/pty.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/signal.h"
#include "modes/common/connect.h"
#include "modes/common/tcp_options.h"

namespace sg::client::real_com {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kBackoffFirst = 500ms;   // first wait after a failure (issue 5 §2)
constexpr auto kBackoffMax = 30000ms;   // largest wait between attempts
constexpr auto kHangUpPoll = 100ms;     // a slave nobody holds open is checked this often
constexpr auto kLineWatch = 100ms;      // termios re-read while a session runs and the pty is quiet
constexpr auto kReplyTimeout = 5000ms;  // a line-setting command unanswered this long: go on
constexpr std::uint32_t kWaitOutputMs = 2000;  // WAIT_OQUEUE timeout at close
constexpr auto kCloseTimeout = 6000ms;         // the whole graceful end of a session
constexpr std::size_t kPtyReadBytes = 4096;    // a pty hands over at most ~4 KiB per read
constexpr std::uint8_t kAliveCheckMin = 1;     // TCP keepalive: a dead device found in ~2 minutes

enum class State { Idle, Connecting, Connected, Backoff, Stopping };

bool is_eof(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe;
}

}  // namespace

class Client::Impl {
public:
    Impl(asio::io_context& io, const PortSpec& spec, const pty::Pair& pair, Link link)
        : strand_(asio::make_strand(io)),
          spec_(spec),
          master_(strand_, pair.master),
          slave_path_(pair.slave_path),
          link_(std::move(link)),
          resolver_(strand_),
          data_(strand_),
          command_(strand_),
          changed_(strand_),
          name_(link_.path()),
          where_(fmt::format("{} (data {}, command {})", spec.device, spec.data_port,
                             spec.command_port)) {
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

    // ---- the pty side

    core::Task<void> pty_loop();
    void read_available();
    void on_packet(const pty::Packet& p);
    void enqueue(std::span<const std::byte> data);
    /// Writes the queue to the data connection now if nothing stands in the way (see the file
    /// comment); true when that made room in the queue.
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

    // ---- the device side

    core::Task<void> session_loop();
    core::Task<std::error_code> connect();
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
    asio::posix::stream_descriptor master_;
    const std::string slave_path_;
    Link link_;
    tcp::resolver resolver_;
    tcp::socket data_;
    tcp::socket command_;
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

// ---------------------------------------------------------------- the pty side

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
    if (!session_open_ || closing_ || writing_data_ || proto_.settings_pending()) {
        changed_.notify();  // no session yet (session loop), or the data writer's turn
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

// ---------------------------------------------------------------- the device side

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
    // Spec §6: the data channel first, then the command channel; the device pairs them in
    // order of acceptance (spec §1).
    if (auto ec =
            co_await modes::common::connect(resolver_, data_, spec_.device, spec_.data_port, 0)) {
        co_return ec;
    }
    if (stopping_) co_return std::make_error_code(std::errc::operation_canceled);
    if (auto ec = co_await modes::common::connect(resolver_, command_, spec_.device,
                                                  spec_.command_port, 0)) {
        close_sockets();
        co_return ec;
    }
    modes::common::set_alive_check(data_, kAliveCheckMin);
    modes::common::set_alive_check(command_, kAliveCheckMin);
    boost::system::error_code ignored;
    data_.non_blocking(true, ignored);  // send_now() writes directly and must never block
    co_return std::error_code{};
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
        auto [ec, n] = co_await command_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec) {
            end(is_eof(ec) ? "the device closed the command connection"
                           : "command connection: " + ec.message());
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
        auto [ec, n] = co_await asio::async_write(command_, asio::buffer(out), core::use_nothrow);
        writing_command_ = false;
        out.clear();
        changed_.notify();
        if (ec) {
            end(is_eof(ec) ? "the device closed the command connection"
                           : "command connection: " + ec.message());
            co_return;
        }
    }
}

core::Task<void> Client::Impl::data_reader() {
    std::vector<std::byte> buf(core::limits::kNetReadBytes);
    for (;;) {
        auto [ec, n] = co_await data_.async_read_some(asio::buffer(buf), core::use_nothrow);
        if (ec) {
            end(is_eof(ec) ? "the device closed the data connection"
                           : "data connection: " + ec.message());
            co_return;
        }
        rx_ += n;
        // Blocks while the application does not read (a full slave input queue): we read no
        // more, and TCP flow control reaches the device.
        auto [wec, written] =
            co_await asio::async_write(master_, asio::buffer(buf.data(), n), core::use_nothrow);
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
        auto [ec, n] = co_await asio::async_write(data_, asio::buffer(out), core::use_nothrow);
        writing_data_ = false;
        queued_ -= out.size();
        tx_ += n;
        dropped_ += out.size() - n;
        changed_.notify();  // room in the queue; maybe the graceful end may go on
        if (ec) {
            end(is_eof(ec) ? "the device closed the data connection"
                           : "data connection: " + ec.message());
            co_return;
        }
    }
}

// ---------------------------------------------------------------- status

std::string Client::Impl::status_line() const {
    std::string state;
    switch (state_) {
        case State::Idle: state = "idle (no application has the link open)"; break;
        case State::Connecting: state = "connecting to " + where_; break;
        case State::Connected:
            state = "connected to " + where_ + " since " + core::format_utc(connected_at_);
            break;
        case State::Backoff: {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - Clock::now());
            state = fmt::format("device unreachable ({}), next attempt in {:.1f} s", last_error_,
                                std::max<double>(0.0, static_cast<double>(left.count()) / 1000.0));
            break;
        }
        case State::Stopping: state = "stopping"; break;
    }
    const LineState& ls = proto_.line_state();
    const std::string lines =
        ls.known ? fmt::format("DSR {:d} CTS {:d} DCD {:d} RI {:d}", ls.dsr, ls.cts, ls.dcd, ls.ri)
                 : std::string("not reported yet");
    return fmt::format(
        "{} → {}: {}; application {}; line {}; device lines {}; line errors parity {} framing {} "
        "overrun {} break {}; to device {} B, from device {} B, dropped {} B (not delivered to "
        "the application {} B); sessions {}",
        name_, slave_path_, state, app_open_ ? "open" : "closed", describe(line_), lines,
        ls.parity_errors, ls.framing_errors, ls.overruns, ls.breaks, tx_, rx_, dropped_,
        undelivered_, sessions_);
}

// ---------------------------------------------------------------- Client

core::Result<std::unique_ptr<Client>> Client::create(asio::io_context& io, const PortSpec& spec) {
    auto pair = pty::open_pair();
    if (!pair) return pair.error();
    auto link = Link::create(Link::resolve(spec.link), pair->slave_path);
    if (!link) {
        ::close(pair->master);
        return link.error();
    }
    return std::unique_ptr<Client>(
        new Client(std::make_unique<Impl>(io, spec, *pair, std::move(*link))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

void Client::start() {
    asio::dispatch(impl_->strand(), [this] { impl_->start(); });
}

void Client::stop(std::function<void()> done) {
    asio::dispatch(impl_->strand(),
                   [this, done = std::move(done)]() mutable { impl_->stop(std::move(done)); });
}

std::string Client::status_line() const {
    return impl_->status_line();
}

const core::Strand& Client::strand() const {
    return impl_->strand();
}

}  // namespace sg::client::real_com
