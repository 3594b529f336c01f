// port.cpp: the life of one serial port, as one coroutine on the port strand:
//   open device → create and start mode → pump serial bytes into the mode → (error or stop) →
//   stop mode (clients drained) → close device → retry with backoff, unless stopping.
// A failure here stays in this port: it is logged once per failure streak and retried; other
// ports run on.
#include "port/port.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

#include "core/bulk_lane.h"
#include "core/limits.h"
#include "modes/common/read_scratch.h"

namespace sg::port {

namespace {
bool is_off(const config::ModeSettings& m) {
    return std::holds_alternative<config::DisabledSettings>(m);
}
}  // namespace

Port::Port(asio::io_context& io, config::PortConfig config, std::string listen_address,
           std::vector<std::string> allowed_devices, events::Log& events,
           security::allowlist::Gate* allowlist, security::certs::TlsContexts* tls,
           const security::dos::Policy* dos)
    : config_(std::move(config)),
      listen_address_(std::move(listen_address)),
      allowed_devices_(std::move(allowed_devices)),
      events_(events),
      allowlist_(allowlist),
      tls_(tls),
      dos_(dos != nullptr ? std::make_unique<security::dos::PortGate>(*dos) : nullptr),
      strand_(asio::make_strand(io)),
      wake_(strand_),
      stop_guard_(strand_),
      backoff_(core::limits::kReopenFirst) {}

Port::~Port() = default;

void Port::start() {
    // Set before the coroutine is posted, read by stop()'s handler on the strand (the post orders
    // the two).
    running_ = true;
    asio::co_spawn(strand_, run(), [this](const std::exception_ptr& e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("port {}: stopped by an unexpected exception: {}", config_.number,
                              ex.what());
            }
        }
        // "disabled" and "unavailable: ..." say why the port never ran: keep them.
        if (state_ != "disabled" && state_.rfind("unavailable", 0) != 0) state_ = "stopped";
        running_ = false;
        if (done_) {
            // Its own handler on the strand: once it runs, nothing of this Port runs any more, so
            // the owner may destroy it from another thread (io threads, ADR 0012).
            asio::post(strand_, std::move(done_));
            done_ = nullptr;
        }
    });
}

void Port::stop(std::function<void()> done) {
    asio::post(strand_, [this, done = std::move(done)]() mutable {
        if (!running_) {
            // run() has already ended: a disabled or unavailable port returns at once, and
            // nobody else would ever call `done` (the Manager would wait for it forever, holding
            // back every later configuration change and serve's SIGTERM stop).
            stopping_ = true;
            asio::post(strand_, std::move(done));  // see start(): nothing of ours runs after it
            return;
        }
        done_ = std::move(done);
        stopping_ = true;
        wake_.notify();
        if (mode_ && !mode_stopping_) {
            request_mode_stop(/*close_device_after=*/true);
        } else if (device_) {
            device_->close();
        }
    });
}

void Port::set_paused(bool paused) {
    paused_ = paused;
    if (!paused) wake_.notify();
}

core::Task<void> Port::backoff() {
    co_await wake_.wait_until(std::chrono::steady_clock::now() + backoff_);
    backoff_ = std::min(backoff_ * 2, core::limits::kReopenMax);
}

core::Task<void> Port::run() {
    const modes::ModeKind& kind = modes::kind_for(config_.mode);
    if (is_off(config_.mode)) {
        state_ = "disabled";
        co_return;  // No Operation: the serial line stays closed, nothing listens
    }
    if (!kind.available) {
        // Guide §3.1: a port with no mode runs Real COM; until this build has it, say so and
        // leave the port off rather than pretend.
        state_ = "unavailable: mode " + std::string(kind.name) + " is not in this version";
        events_.emit(events::types::kModeFailed, {.port = config_.number},
                     "mode " + std::string(kind.name) +
                         " is not available in this version of SerialGate: port left disabled");
        co_return;
    }
    while (!stopping_) {
        if (co_await open_and_start()) {
            failure_reported_ = false;
            backoff_ = core::limits::kReopenFirst;
            co_await pump();
            co_await stop_mode();
        }
        if (!stopping_) co_await backoff();
    }
}

core::Task<bool> Port::open_and_start() {
    const modes::ModeKind& kind = modes::kind_for(config_.mode);
    auto dev = serial::open(strand_, config_.device, config_.serial, allowed_devices_);
    if (!dev) {
        state_ = "device unavailable: " + dev.error().message;
        if (!failure_reported_) {
            failure_reported_ = true;
            events_.emit(events::types::kDeviceFailed, {.port = config_.number},
                         config_.device + ": " + dev.error().message + " (retrying)");
        }
        co_return false;
    }
    device_ = std::move(*dev);
    events_.emit(events::types::kDeviceOpened, {.port = config_.number}, config_.device);
    ctx_.emplace(modes::PortContext{.id = config_.number,
                                    .strand = strand_,
                                    .serial = *device_,
                                    .events = events_,
                                    .stats = stats_,
                                    .listen_address = listen_address_,
                                    .pause_serial_reads = [this](bool p) { set_paused(p); },
                                    .allowlist = allowlist_});
    ctx_->dos = dos_.get();  // survives mode restarts: a flood cannot reset its buckets
    ctx_->tls = tls_;
    ctx_->tap = tap_.get();
    std::error_code ec;
    mode_ = kind.create(*ctx_, config_.mode, ec);
    if (!mode_) {
        state_ = "mode failed: " + ec.message();
        if (!failure_reported_) {
            failure_reported_ = true;
            events_.emit(events::types::kModeFailed, {.port = config_.number},
                         std::string(kind.name) + ": " + ec.message() + " (retrying)");
        }
        device_->close();
        device_.reset();
        ctx_.reset();
        co_return false;
    }
    if (auto sec = mode_->start(); sec) {
        state_ = "mode failed: " + sec.message();
        if (!failure_reported_) {
            failure_reported_ = true;
            events_.emit(events::types::kModeFailed, {.port = config_.number},
                         std::string(kind.name) + ": " + sec.message() + " (retrying)");
        }
        // Nothing runs in the mode yet: drop it without stop().
        mode_.reset();
        device_->close();
        device_.reset();
        ctx_.reset();
        co_return false;
    }
    if (auto lines = device_->modem_lines(); lines) last_lines_ = *lines;
    device_->on_notification([this](const serial::Notification& n) {
        record(n);
        if (mode_ && !mode_stopping_) mode_->on_serial_notification(n);
    });
    const auto st = mode_->status();
    state_ = "running";
    events_.emit(events::types::kModeStarted, {.port = config_.number},
                 std::string(kind.name) + ": " + st.state + " (device " + config_.device + ")");
    report_plaintext(kind.name);
    co_return true;
}

void Port::report_plaintext(std::string_view kind) {
    // Issue 11 item 1: a port whose serial data crosses the network in clear is said once, when
    // it first starts (not at every reopen of the device).
    if (plaintext_reported_) return;
    const char* why = nullptr;
    std::visit(
        [&why](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, config::UdpSettings>) {
                why = "UDP has no Secure Connection";
            } else if constexpr (requires { m.security; }) {
                if (m.security == config::Security::Plain) why = "security: plain";
            }
        },
        config_.mode);
    if (why == nullptr) return;
    plaintext_reported_ = true;
    events_.emit(events::types::kPlaintextPort, {.port = config_.number},
                 "port " + std::to_string(config_.number) + " (" + std::string(kind) +
                     "): serial data crosses the network unencrypted (" + why + ")");
}

void Port::record(const serial::Notification& n) {
    using Kind = serial::Notification::Kind;
    if (n.kind == Kind::ModemLinesChanged) {
        // Device ref. §9: the Serial category logs DCD and DSR changes (the lines a device drives).
        if (n.lines.dcd != last_lines_.dcd || n.lines.dsr != last_lines_.dsr) {
            events_.emit(events::types::kModemLines, {.port = config_.number},
                         std::string("DCD ") + (n.lines.dcd ? "on" : "off") + ", DSR " +
                             (n.lines.dsr ? "on" : "off"));
        }
        last_lines_ = n.lines;
        return;
    }
    // Line errors can arrive per byte on a noisy line: one event per second at most, with totals.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_error_event_ < std::chrono::seconds(1)) return;
    last_error_event_ = now;
    events_.emit(events::types::kLineError, {.port = config_.number},
                 fmt::format("{}: framing {}, parity {}, overrun {}, breaks {}",
                             n.kind == Kind::BreakReceived ? "break received" : "line error",
                             n.errors.framing, n.errors.parity, n.errors.overrun, n.errors.breaks));
}

core::Task<void> Port::pump() {
    // The line is read into the io thread's buffer once it is readable (issue 12 item 1: a port
    // owns no read buffer); `own` only for a backend that cannot wait (the simulated devices).
    std::unique_ptr<std::byte[]> own;
    std::array<std::byte, 1> first{};  // readable, yet nothing to take: read_some() says why
    core::BulkLane& lane = core::BulkLane::of(strand_.get_inner_executor().context());
    bool bulk = false;  // the last read filled half the buffer or more: the line streams
    while (!stopping_) {
        if (paused_) {
            co_await wake_.wait();  // a client is jammed: the serial side waits (backpressure)
            continue;
        }
        if (bulk) {
            // Issue 12 item 2: a streaming line takes its next turn from the bulk lane, so that
            // a quiet port's byte is not queued behind every streaming port's turn.
            co_await lane.yield();
            if (stopping_ || !device_) break;
            if (paused_) continue;
            // Resumed inside the lane's drain: take what the line holds now, without a trip
            // through the reactor (which would put the turn at the back of the queue again).
            const std::span<std::byte> held =
                own ? std::span(own.get(), core::limits::kSerialReadBytes)
                    : modes::common::serial_scratch();  // valid until the next co_await
            const std::size_t got = device_->read_available(held);
            if (got != 0) {
                bulk = core::BulkLane::is_bulk(got, held.size());
                deliver(held.first(got));
                continue;
            }
            // Nothing there now: wait for the line as a quiet port does (the read below sets bulk).
        }
        std::span<std::byte> buf;
        std::error_code ec;
        std::size_t n = 0;
        if (!own) {
            ec = co_await device_->wait_readable();
            if (ec == std::errc::operation_not_supported) {
                own = std::make_unique_for_overwrite<std::byte[]>(core::limits::kSerialReadBytes);
                continue;
            }
            if (!ec && device_) {
                buf = modes::common::serial_scratch();  // valid until the next co_await
                n = device_->read_available(buf);
                if (n == 0) {
                    // EOF, an error (EIO: the line is gone) or a byte taken back: a blocking read
                    // of one byte reports it, or waits for the next.
                    auto [rec, m] = co_await device_->read_some(first);
                    ec = rec;
                    if (!ec) {
                        buf = modes::common::serial_scratch();
                        buf[0] = first[0];
                        n = m;
                    }
                }
            }
        } else {
            buf = std::span(own.get(), core::limits::kSerialReadBytes);
            std::tie(ec, n) = co_await device_->read_some(buf);
        }
        if (!ec && !device_) ec = std::make_error_code(std::errc::operation_canceled);
        if (ec) {
            if (!stopping_) {
                state_ = "device failed: " + ec.message();
                events_.emit(events::types::kDeviceFailed, {.port = config_.number},
                             config_.device + ": " + ec.message() + " (reopening)");
                failure_reported_ = true;
            }
            co_return;
        }
        if (device_) n += device_->read_available(std::span(buf).subspan(n));
        bulk = core::BulkLane::is_bulk(n, buf.size());
        deliver(std::span(buf).first(n));
    }
}

void Port::deliver(std::span<const std::byte> bytes) {
    stats_.serial_rx_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
    if (tap_) tap_->offer(modes::common::TapDirection::FromSerial, bytes);
    if (mode_ && !mode_stopping_) mode_->on_serial_data(bytes);
}

void Port::request_mode_stop(bool close_device_after) {
    mode_stopping_ = true;
    mode_->stop([this, close_device_after] {
        mode_stopped_ = true;
        stop_guard_.cancel();
        if (close_device_after && device_) device_->close();  // ends the pending read
        wake_.notify();
    });
    // A session blocked writing to a serial line that takes nothing (flow control held, a pty
    // nobody reads) would hold the stop forever: past the clients' drain time, close the device,
    // which fails that write and lets the session end.
    stop_guard_.expires_after(core::limits::kDrainTimeout + std::chrono::milliseconds(500));
    stop_guard_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !mode_stopped_ && device_) device_->close();
    });
}

core::Task<void> Port::stop_mode() {
    if (mode_ && !mode_stopping_) request_mode_stop(/*close_device_after=*/false);
    while (mode_ && !mode_stopped_) co_await wake_.wait();
    if (mode_) {
        events_.emit(events::types::kModeStopped, {.port = config_.number},
                     std::string(modes::kind_for(config_.mode).name));
    }
    mode_.reset();
    if (device_) device_->close();
    device_.reset();
    ctx_.reset();
    mode_stopping_ = false;
    mode_stopped_ = false;
    paused_ = false;
}

void Port::revoke() {
    // On the strand, FIFO: a stop requested later completes after this has run.
    asio::post(strand_, [this] {
        if (mode_) mode_->revoke();
    });
}

void Port::status(std::function<void(PortStatus)> done) const {
    // Runs before any later stop() completes (the strand is FIFO), so `this` is alive.
    asio::post(strand_, [this, done = std::move(done)] { done(status()); });
}

PortStatus Port::status() const {
    PortStatus s = counters();
    s.state = state_;
    if (mode_) s.mode_status = mode_->status();
    if (device_) {
        if (auto st = device_->settings(); st) s.serial = *st;
        if (auto lines = device_->modem_lines(); lines) {
            s.modem = *lines;
        } else if (auto v = device_->virtual_lines()) {
            s.modem = *v;
            s.modem_virtual = true;
        }
        s.line_errors = device_->line_errors();
    }
    return s;
}

PortStatus Port::counters() const {
    PortStatus s;
    s.number = config_.number;
    s.device = config_.device;
    s.mode = config::mode_type_name(config_.mode);
    s.state = "busy (no status within 250 ms)";
    s.serial_rx_bytes = stats_.serial_rx_bytes.load(std::memory_order_relaxed);
    s.serial_tx_bytes = stats_.serial_tx_bytes.load(std::memory_order_relaxed);
    s.net_tx_bytes = stats_.net_tx_bytes.load(std::memory_order_relaxed);
    s.net_rx_bytes = stats_.net_rx_bytes.load(std::memory_order_relaxed);
    s.connections = stats_.connections.load(std::memory_order_relaxed);
    s.refused = stats_.refused.load(std::memory_order_relaxed);
    s.jammed_drops = stats_.jammed_drops.load(std::memory_order_relaxed);
    s.refused_allowlist = stats_.refused_allowlist.load(std::memory_order_relaxed);
    s.refused_tls = stats_.refused_tls.load(std::memory_order_relaxed);
    s.refused_dos = stats_.refused_dos.load(std::memory_order_relaxed);
    return s;
}

}  // namespace sg::port
