// sim_device.cpp: the simulated serial backend. serial::open() creates one for a "sim:..." path
// on the port's strand; every method and completion runs on that strand. The line's state lives
// in an Endpoint shared with pending coroutines (so close() and destruction are safe while a
// read waits) and, for a null-modem, reachable from the peer's strand through the Cable's hooks,
// which only ever post here. Waits are steady_timers used as signals: set to expire never, then
// cancelled by whoever has news (data, room, CTS, close); the waiter re-checks and goes on.
#include "serial/sim_device.h"

#include <charconv>

#include "serial/sim_wire.h"

namespace sg::serial {

namespace {

enum class Kind { Loopback, Echo, NullModem, Generator };

constexpr std::chrono::milliseconds kDefaultGeneratorPeriod{1000};
constexpr std::uint64_t kMaxGeneratorPeriodMs = 3'600'000;

constexpr const char* kValidNames =
    "sim:loopback, sim:echo, sim:null-modem:<name>, sim:generator, sim:generator:<ms> (each may "
    "end in ?fail_read=N&fail_write=N&fail_configure=N)";

std::error_code aborted_code() {
    return boost::system::error_code(asio::error::operation_aborted);
}
// EIO in the system category, as a tty's read reports it through Asio.
std::error_code eio_code() {
    return {EIO, std::system_category()};
}
std::error_code closed_code() {
    return {EBADF, std::generic_category()};
}

std::size_t op_index(SimOp op) {
    return static_cast<std::size_t>(op);
}

}  // namespace

struct SimDevice::Endpoint {
    Endpoint(core::Strand s, Kind k, std::string n)
        : strand(std::move(s)),
          kind(k),
          name(std::move(n)),
          rx_signal(strand),
          tx_signal(strand),
          break_timer(strand),
          tick_timer(strand) {}

    const core::Strand strand;
    const Kind kind;
    const std::string name;  // the path it was opened by

    config::SerialSettings settings;
    bool rts = true;  // a tty raises RTS and DTR at open; so does the sim
    bool dtr = true;
    bool breaking = false;
    bool tx_held = false;     // hold_transmit(): as if XOFF had been received
    std::uint8_t xon = 0x11;  // set_flow_chars(); the sim's peers never send either
    std::uint8_t xoff = 0x13;
    ModemLines inputs;  // cts, dsr, dcd, ri as last computed (rts/dtr unused here)
    LineErrors errors;
    std::function<void(const Notification&)> handler;

    asio::steady_timer rx_signal;    // a read waits on it for data
    asio::steady_timer tx_signal;    // a write waits on it for room, CTS/DSR or a flush
    asio::steady_timer break_timer;  // ends send_break()
    asio::steady_timer tick_timer;   // the generator's clock

    std::shared_ptr<sim::Wire> rx;      // what we read
    std::shared_ptr<sim::Wire> tx;      // what we write into (== rx for loopback and echo)
    std::shared_ptr<sim::Cable> cable;  // null-modem only
    int end = 0;                        // 0 = A, 1 = B

    std::array<std::uint64_t, 3> calls{};    // per SimOp, since open
    std::array<std::uint64_t, 3> fail_at{};  // per SimOp: the call number that starts failing
    std::size_t tx_pending = 0;              // bytes of the current write not yet delivered
    std::uint64_t tx_flushes = 0;            // flush(Transmit) count: a waiting write gives up
    std::uint64_t tx_aborts = 0;             // abort_write() count: the write in flight fails
    std::uint64_t tx_sent = 0;               // bytes put on the wire since open (tx_progress)
    bool writing = false;                    // a write() is in flight

    std::chrono::milliseconds period = kDefaultGeneratorPeriod;
    std::uint64_t lines_sent = 0;
    std::string gen_pending;  // the part of the current line the receive wire had no room for

    bool closed = false;
};

using Endpoint = SimDevice::Endpoint;

namespace {

// ---------------------------------------------------------------- strand plumbing

// Runs f(endpoint) on its strand if it still exists and is open. Safe from any thread.
template <typename F>
void post_to(const core::Strand& strand, std::weak_ptr<Endpoint> weak, F f) {
    asio::post(strand, [weak = std::move(weak), f = std::move(f)]() mutable {
        if (auto e = weak.lock(); e && !e->closed) f(*e);
    });
}

// A Waker for a Wire: cancels one of the endpoint's signal timers, on its strand.
sim::Wire::Waker waker(const std::shared_ptr<Endpoint>& e, asio::steady_timer Endpoint::*signal) {
    return [strand = e->strand, weak = std::weak_ptr<Endpoint>(e), signal] {
        asio::post(strand, [weak, signal] {
            if (auto p = weak.lock()) ((*p).*signal).cancel();
        });
    };
}

ModemLines current_lines(const Endpoint& e) {
    ModemLines lines = e.inputs;
    lines.rts = e.rts;
    lines.dtr = e.dtr;
    return lines;
}

void notify(Endpoint& e, Notification::Kind kind) {
    if (e.closed || !e.handler) return;
    e.handler(Notification{kind, current_lines(e), e.errors});
}

// What the far side drives into our inputs, per kind of device.
ModemLines compute_inputs(const Endpoint& e) {
    ModemLines in;
    switch (e.kind) {
        case Kind::Loopback:  // the plug bridges RTS-CTS and DTR-DSR-DCD
            in.cts = e.rts;
            in.dsr = in.dcd = e.dtr;
            break;
        case Kind::Echo:
        case Kind::Generator:  // a powered device: ready, carrier, clear to send
            in.cts = in.dsr = in.dcd = true;
            break;
        case Kind::NullModem: {  // crossed: its RTS is our CTS, its DTR our DSR and DCD
            const sim::Outputs peer = e.cable->peer_outputs(e.end);
            in.cts = peer.rts;
            in.dsr = in.dcd = peer.dtr;
            break;
        }
    }
    return in;
}

void refresh_inputs(Endpoint& e) {
    const ModemLines in = compute_inputs(e);
    if (in.cts == e.inputs.cts && in.dsr == e.inputs.dsr && in.dcd == e.inputs.dcd &&
        in.ri == e.inputs.ri) {
        return;
    }
    e.inputs = in;
    e.tx_signal.cancel();  // a write held back by CTS or DSR may go now
    notify(e, Notification::Kind::ModemLinesChanged);
}

void receive_break(Endpoint& e) {
    ++e.errors.breaks;
    notify(e, Notification::Kind::BreakReceived);
}

// Our outputs changed: tell whoever sees them as inputs.
void outputs_changed(const std::shared_ptr<Endpoint>& e) {
    switch (e->kind) {
        case Kind::Loopback:
            // Posted, not called: a handler must not run inside set_rts() on the caller's stack.
            post_to(e->strand, e, [](Endpoint& self) { refresh_inputs(self); });
            break;
        case Kind::NullModem: e->cable->set_outputs(e->end, {e->rts, e->dtr}); break;
        case Kind::Echo:
        case Kind::Generator: break;  // the device ignores our RTS and DTR
    }
}

bool may_send(const Endpoint& e) {
    if (e.tx_held) return false;
    switch (e.settings.flow_control) {
        case config::FlowControl::RtsCts: return e.inputs.cts;
        case config::FlowControl::DtrDsr: return e.inputs.dsr;
        default: return true;  // XON/XOFF: the sim's peers never send XOFF
    }
}

// Fault injection: counts the call, says whether it must fail.
bool inject(Endpoint& e, SimOp op) {
    const auto i = op_index(op);
    ++e.calls[i];
    return e.fail_at[i] != 0 && e.calls[i] >= e.fail_at[i];
}

// ---------------------------------------------------------------- generator

void schedule_tick(Endpoint& e, std::weak_ptr<Endpoint> weak);

void generate(Endpoint& e) {
    // A line the reader had no room for is finished first: the generator pauses (like a device
    // under flow control) rather than the queue growing.
    if (e.gen_pending.empty()) {
        e.gen_pending = "serialgate generator line " + std::to_string(++e.lines_sent) + "\r\n";
    }
    const auto bytes = std::as_bytes(std::span(e.gen_pending));
    const std::size_t n = e.rx->push(bytes, sim::Format::of(e.settings));
    e.gen_pending.erase(0, n);
}

void schedule_tick(Endpoint& e, std::weak_ptr<Endpoint> weak) {
    e.tick_timer.expires_after(e.period);
    e.tick_timer.async_wait([weak = std::move(weak)](const boost::system::error_code& ec) {
        auto p = weak.lock();
        if (ec || !p || p->closed) return;
        generate(*p);
        schedule_tick(*p, weak);
    });
}

// ---------------------------------------------------------------- names

struct Parsed {
    Kind kind = Kind::Loopback;
    std::string cable;  // null-modem name
    std::chrono::milliseconds period = kDefaultGeneratorPeriod;
    std::array<std::uint64_t, 3> fail_nth{};
};

core::Result<std::uint64_t> parse_number(std::string_view text, const std::string& path) {
    std::uint64_t v = 0;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || ptr != end) {
        return core::make_error(
            core::Errc::invalid_config,
            std::string("'").append(text) + "' in " + path + " is not a number");
    }
    return v;
}

core::Result<Parsed> parse(const std::string& path) {
    Parsed p;
    std::string_view rest(path);
    auto unknown = [&] {
        return core::make_error(core::Errc::not_found,
                                "unknown simulated device '" + path + "'; valid: " + kValidNames);
    };
    if (!rest.starts_with("sim:")) return unknown();
    rest.remove_prefix(4);
    std::string_view options;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        options = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (rest == "loopback") {
        p.kind = Kind::Loopback;
    } else if (rest == "echo") {
        p.kind = Kind::Echo;
    } else if (rest.starts_with("null-modem:") && rest.size() > 11) {
        p.kind = Kind::NullModem;
        p.cable = std::string(rest.substr(11));
    } else if (rest == "generator") {
        p.kind = Kind::Generator;
    } else if (rest.starts_with("generator:")) {
        p.kind = Kind::Generator;
        auto ms = parse_number(rest.substr(10), path);
        if (!ms) return ms.error();
        if (*ms == 0 || *ms > kMaxGeneratorPeriodMs) {
            return core::make_error(core::Errc::invalid_config,
                                    "generator period in " + path + " must be 1..3600000 ms");
        }
        p.period = std::chrono::milliseconds(*ms);
    } else {
        return unknown();
    }
    while (!options.empty()) {
        const auto amp = options.find('&');
        const auto item = options.substr(0, amp);
        options = amp == std::string_view::npos ? std::string_view{} : options.substr(amp + 1);
        const auto eq = item.find('=');
        const auto key = item.substr(0, eq);
        SimOp op{};
        if (key == "fail_read") {
            op = SimOp::Read;
        } else if (key == "fail_write") {
            op = SimOp::Write;
        } else if (key == "fail_configure") {
            op = SimOp::Configure;
        } else {
            return core::make_error(core::Errc::invalid_config,
                                    "unknown option '" + std::string(item) + "' in " + path +
                                        "; valid: fail_read=N, fail_write=N, fail_configure=N");
        }
        if (eq == std::string_view::npos) {
            return core::make_error(core::Errc::invalid_config,
                                    "option '" + std::string(key) + "' in " + path + " needs =N");
        }
        auto n = parse_number(item.substr(eq + 1), path);
        if (!n) return n.error();
        p.fail_nth[op_index(op)] = *n;
    }
    return p;
}

}  // namespace

// ---------------------------------------------------------------- open, close

core::Result<std::unique_ptr<SimDevice>> SimDevice::open(core::Strand strand,
                                                         const std::string& path) {
    auto parsed = parse(path);
    if (!parsed) return parsed.error();
    auto e = std::make_shared<Endpoint>(std::move(strand), parsed->kind, path);
    e->period = parsed->period;
    for (std::size_t i = 0; i < e->fail_at.size(); ++i) e->fail_at[i] = parsed->fail_nth[i];

    const auto format = sim::Format::of(e->settings);
    auto damage = [strand = e->strand, weak = std::weak_ptr<Endpoint>(e)](sim::Damage d) {
        post_to(strand, weak, [d](Endpoint& self) {
            self.errors.framing += d.framing;
            self.errors.parity += d.parity;
            notify(self, Notification::Kind::LineError);
        });
    };
    if (e->kind == Kind::NullModem) {
        auto slot = sim::Cable::acquire(parsed->cable);
        if (!slot) return slot.error();
        e->cable = std::move(slot->first);
        e->end = slot->second;
        e->rx = e->cable->rx(e->end);
        e->tx = e->cable->tx(e->end);
    } else {
        // Loopback and echo: what we send comes back on our own receive wire. The generator
        // fills that wire from its timer and never reads ours.
        e->rx = e->tx = std::make_shared<sim::Wire>();
    }
    e->rx->attach_reader(format, waker(e, &Endpoint::rx_signal), damage);
    e->tx->attach_writer(waker(e, &Endpoint::tx_signal));
    if (e->kind == Kind::NullModem) {
        const std::weak_ptr<Endpoint> weak = e;
        e->cable->attach(
            e->end,
            sim::Cable::Hooks{.lines_changed = [strand = e->strand,
                                                weak] { post_to(strand, weak, &refresh_inputs); },
                              .break_received = [strand = e->strand,
                                                 weak] { post_to(strand, weak, &receive_break); }},
            sim::Outputs{e->rts, e->dtr});
    }
    e->inputs = compute_inputs(*e);  // the initial state is not a change: no notification
    if (e->kind == Kind::Generator) schedule_tick(*e, e);
    return std::unique_ptr<SimDevice>(new SimDevice(std::move(e)));
}

SimDevice::SimDevice(std::shared_ptr<Endpoint> endpoint) : ep_(std::move(endpoint)) {}

SimDevice::~SimDevice() {
    close();
}

void SimDevice::close() {
    Endpoint& e = *ep_;
    if (e.closed) return;
    e.closed = true;
    // Waiting reads and writes wake, see `closed` and complete with operation_aborted.
    e.rx_signal.cancel();
    e.tx_signal.cancel();
    e.break_timer.cancel();
    e.tick_timer.cancel();
    e.rx->detach_reader();
    e.tx->detach_writer();
    if (e.cable) e.cable->release(e.end);  // frees the slot; the peer sees our lines drop
}

const std::string& SimDevice::name() const {
    return ep_->name;
}

void SimDevice::inject_failure(SimOp op, std::uint64_t nth) {
    const auto i = op_index(op);
    ep_->fail_at[i] = nth == 0 ? 0 : ep_->calls[i] + nth;
}

// ---------------------------------------------------------------- data

core::Task<std::tuple<std::error_code, std::size_t>> SimDevice::read_some(
    std::span<std::byte> buf) {
    using R = std::tuple<std::error_code, std::size_t>;
    const auto e = ep_;  // keeps the endpoint alive across the waits
    if (e->closed) co_return R{aborted_code(), 0};
    if (inject(*e, SimOp::Read)) co_return R{eio_code(), 0};
    if (buf.empty()) co_return R{std::error_code{}, 0};
    for (;;) {
        if (e->closed) co_return R{aborted_code(), 0};
        if (const std::size_t n = e->rx->pop(buf); n != 0) co_return R{std::error_code{}, n};
        // pop() found nothing and armed the wire to wake us; the wake is posted to our strand,
        // so it cannot run before this wait has started.
        e->rx_signal.expires_at(asio::steady_timer::time_point::max());
        co_await e->rx_signal.async_wait(core::use_nothrow);
    }
}

core::Task<std::error_code> SimDevice::write(std::span<const std::byte> bytes) {
    const auto e = ep_;
    if (e->closed) co_return aborted_code();
    if (inject(*e, SimOp::Write)) co_return eio_code();
    if (e->kind == Kind::Generator) co_return std::error_code{};  // the generator discards input
    const std::uint64_t flushes = e->tx_flushes;
    const std::uint64_t aborts = e->tx_aborts;
    std::size_t done = 0;
    e->writing = true;
    while (done < bytes.size()) {
        if (e->closed || e->tx_aborts != aborts) {  // closed, or abort_write()
            e->tx_pending = 0;
            e->writing = false;
            co_return aborted_code();
        }
        if (e->tx_flushes != flushes) break;  // flush(Transmit) discarded the rest
        std::size_t n = 0;
        // Flow control: a sender whose CTS (or DSR) is off holds its bytes, as a UART would.
        if (may_send(*e)) n = e->tx->push(bytes.subspan(done), sim::Format::of(e->settings));
        done += n;
        e->tx_sent += n;
        e->tx_pending = bytes.size() - done;
        if (done < bytes.size() && n == 0) {
            // Full wire or flow stopped: woken by the reader's pop, an input change, configure,
            // flush or close.
            e->tx_signal.expires_at(asio::steady_timer::time_point::max());
            co_await e->tx_signal.async_wait(core::use_nothrow);
        }
    }
    e->tx_pending = 0;
    e->writing = false;
    co_return std::error_code{};
}

void SimDevice::abort_write() {
    Endpoint& e = *ep_;
    if (e.closed || !e.writing) return;
    ++e.tx_aborts;  // the waiting write sees it when the signal wakes it
    e.tx_pending = 0;
    e.tx_signal.cancel();
}

std::uint64_t SimDevice::tx_progress() const {
    return ep_->tx_sent;
}

// ---------------------------------------------------------------- settings

core::Status SimDevice::configure(const config::SerialSettings& s) {
    Endpoint& e = *ep_;
    if (e.closed) return core::Error{closed_code(), e.name + " is closed"};
    if (inject(e, SimOp::Configure)) {
        return core::Error{eio_code(), "configure " + e.name + ": injected failure (EIO)"};
    }
    auto invalid = [&](const std::string& what) {
        return core::make_error(core::Errc::invalid_config, what + " for " + e.name);
    };
    if (s.baud < config::kMinBaud || s.baud > config::kMaxBaud) {
        return invalid("baud " + std::to_string(s.baud) + " is outside 50..921600");
    }
    if (s.data_bits < 5 || s.data_bits > 8) {
        return invalid("data bits " + std::to_string(s.data_bits) + " is outside 5..8");
    }
    if (static_cast<unsigned>(s.parity) > static_cast<unsigned>(config::Parity::Space) ||
        static_cast<unsigned>(s.stop_bits) > static_cast<unsigned>(config::StopBits::Two) ||
        static_cast<unsigned>(s.flow_control) >
            static_cast<unsigned>(config::FlowControl::DtrDsr) ||
        static_cast<unsigned>(s.interface) >
            static_cast<unsigned>(config::Interface::Rs485FourWire)) {
        return invalid("an enumerated setting is out of range");
    }
    e.settings = s;
    e.rx->set_reader_format(sim::Format::of(s));
    e.tx_signal.cancel();  // flow control may have changed: a held write re-checks
    return {};
}

core::Result<config::SerialSettings> SimDevice::settings() const {
    if (ep_->closed) return core::Error{closed_code(), ep_->name + " is closed"};
    return ep_->settings;
}

// ---------------------------------------------------------------- modem lines, break, queues

core::Result<ModemLines> SimDevice::modem_lines() const {
    if (ep_->closed) return core::Error{closed_code(), ep_->name + " is closed"};
    return current_lines(*ep_);
}

std::error_code SimDevice::set_rts(bool on) {
    if (ep_->closed) return closed_code();
    if (ep_->rts == on) return {};
    ep_->rts = on;
    outputs_changed(ep_);
    return {};
}

std::error_code SimDevice::set_dtr(bool on) {
    if (ep_->closed) return closed_code();
    if (ep_->dtr == on) return {};
    ep_->dtr = on;
    outputs_changed(ep_);
    return {};
}

std::error_code SimDevice::set_break(bool on) {
    Endpoint& e = *ep_;
    if (e.closed) return closed_code();
    e.break_timer.cancel();
    const bool starts = on && !e.breaking;
    e.breaking = on;
    if (!starts) return {};
    // The far UART sees a break when the line goes to space: count it once, at the start.
    switch (e.kind) {
        case Kind::Loopback:  // TX is wired to our own RX
            post_to(e.strand, ep_, &receive_break);
            break;
        case Kind::NullModem: e.cable->send_break(e.end); break;
        case Kind::Echo:
        case Kind::Generator: break;  // a device's UART sees it; it does not echo a break
    }
    return {};
}

std::error_code SimDevice::send_break(std::chrono::milliseconds duration) {
    if (auto ec = set_break(true)) return ec;
    ep_->break_timer.expires_after(duration);
    ep_->break_timer.async_wait(
        [weak = std::weak_ptr<Endpoint>(ep_)](const boost::system::error_code& ec) {
            if (auto e = weak.lock(); e && !ec) e->breaking = false;
        });
    return {};
}

std::error_code SimDevice::flush(FlushDirection which) {
    Endpoint& e = *ep_;
    if (e.closed) return closed_code();
    if (which != FlushDirection::Transmit) e.rx->clear();
    if (which != FlushDirection::Receive) {
        ++e.tx_flushes;
        e.tx_pending = 0;
        e.tx_signal.cancel();
    }
    return {};
}

core::Result<std::size_t> SimDevice::output_queue() const {
    if (ep_->closed) return core::Error{closed_code(), ep_->name + " is closed"};
    return ep_->tx_pending;
}

core::Result<std::size_t> SimDevice::input_queue() const {
    if (ep_->closed) return core::Error{closed_code(), ep_->name + " is closed"};
    return ep_->rx->size();
}

std::error_code SimDevice::set_flow_chars(std::uint8_t xon, std::uint8_t xoff) {
    if (ep_->closed) return closed_code();
    ep_->xon = xon;
    ep_->xoff = xoff;
    return {};
}

std::pair<std::uint8_t, std::uint8_t> SimDevice::flow_chars() const {
    return {ep_->xon, ep_->xoff};
}

std::error_code SimDevice::hold_transmit(bool held) {
    Endpoint& e = *ep_;
    if (e.closed) return closed_code();
    e.tx_held = held;
    if (!held) e.tx_signal.cancel();  // a write waiting for XON goes on
    return {};
}

bool SimDevice::transmit_held() const {
    return ep_->tx_held;
}

LineErrors SimDevice::line_errors() const {
    return ep_->errors;
}

void SimDevice::on_notification(std::function<void(const Notification&)> handler) {
    ep_->handler = std::move(handler);
}

}  // namespace sg::serial
