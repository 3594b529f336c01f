// command_channel.cpp: one ASPP command connection, device side (command_channel.h). Created by
// Real COM's command accept loop (paired with a data session) and by TCP Server's command-port
// accept loop; its reader, writer and poller coroutines, the NOTIFY timer and WAIT_OQUEUE waits
// all run on the port strand. Commands act on the Device directly (settings, lines, break, flush
// are synchronous calls); replies go through one bounded output buffer in command order.
#include "modes/real_com/command_channel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "core/clock.h"
#include "modes/common/listener.h"
#include "modes/common/session_base.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::real_com {

namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::uint16_t clamp16(std::size_t n) {
    return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xFFFF));
}

// Spec §3 BREAK_SEND: 10–1000 ms; the device ignores (and does not answer) other durations.
constexpr std::uint16_t kMinBreakMs = 10;
constexpr std::uint16_t kMaxBreakMs = 1000;
constexpr std::uint8_t kDefaultXon = 0x11;
constexpr std::uint8_t kDefaultXoff = 0x13;

}  // namespace

const PollTiming& poll_timing() {
    static const PollTiming timing = [] {
        PollTiming t{kPollIdle, kPollRepeat};
        if (const char* v = std::getenv("SG_TEST_REALCOM_POLL_SCALE"); v != nullptr) {
            char* end = nullptr;
            const double scale = std::strtod(v, &end);
            if (end != v && *end == '\0' && scale > 0.0 && scale <= 1.0) {
                auto scaled = [scale](std::chrono::milliseconds d) {
                    return std::chrono::milliseconds(std::max<std::int64_t>(
                        1, static_cast<std::int64_t>(static_cast<double>(d.count()) * scale)));
                };
                t = {scaled(kPollIdle), scaled(kPollRepeat)};
            }
        }
        return t;
    }();
    return timing;
}

// ---------------------------------------------------------------- LineControl

LineControl::LineControl(PortContext& ctx) : ctx_(ctx) {
    if (auto s = ctx_.serial.settings(); s) configured_ = *s;
    if (auto l = ctx_.serial.modem_lines(); l) {
        initial_lines_ = *l;
        have_initial_lines_ = true;
    } else if (auto v = ctx_.serial.virtual_lines()) {  // a pty: its virtual RTS/DTR (issue 12)
        initial_lines_ = *v;
        have_initial_lines_ = true;
    }
}

core::Status LineControl::change(const std::function<void(config::SerialSettings&)>& edit) {
    auto current = ctx_.serial.settings();
    if (!current) return current.error();
    config::SerialSettings s = *current;
    edit(s);
    if (s == *current) return {};
    return ctx_.serial.configure(s);
}

void LineControl::restore() {
    // Best effort, each step on its own: a line that refuses one (a pty has no RTS) still gets
    // the others.
    if (configured_) {
        if (auto st = ctx_.serial.configure(*configured_); !st) {
            spdlog::warn("port {}: restoring the configured line settings failed: {}", ctx_.id,
                         st.error().message);
        }
    }
    (void)ctx_.serial.set_break(false);
    (void)ctx_.serial.hold_transmit(false);
    tx_held_ = false;
    (void)ctx_.serial.set_flow_chars(kDefaultXon, kDefaultXoff);
    if (have_initial_lines_) {
        (void)ctx_.serial.set_rts(initial_lines_.rts);
        (void)ctx_.serial.set_dtr(initial_lines_.dtr);
    }
}

serial::ModemLines LineControl::lines() const {
    auto l = ctx_.serial.modem_lines();
    return l ? *l : serial::ModemLines{};
}

std::uint8_t LineControl::hold_flags(const serial::ModemLines& lines) const {
    std::uint8_t h = aspp::hold::kNewProtocol;
    if (auto s = ctx_.serial.settings(); s) {
        if (s->flow_control == config::FlowControl::RtsCts && !lines.cts) h |= aspp::hold::kByCts;
        if (s->flow_control == config::FlowControl::DtrDsr && !lines.dsr) h |= aspp::hold::kByDsr;
    }
    if (tx_held_) h |= aspp::hold::kByXoffReceived;
    return h;
}

void LineControl::set_tx_held(bool held) {
    if (!ctx_.serial.hold_transmit(held)) tx_held_ = held;
}

// ---------------------------------------------------------------- CommandChannel: life

CommandChannel::CommandChannel(common::Stream stream, LineControl& line, ChannelRules rules,
                               std::uint8_t tcp_alive_check_min, Closed on_closed)
    : stream_(std::move(stream)),
      line_(line),
      ctx_(line.ctx()),
      rules_(rules),
      on_closed_(std::move(on_closed)),
      peer_(common::peer_string(stream_)),
      address_(common::peer_address(stream_)),
      connected_at_(core::now_utc_us()),
      wake_writer_(ctx_.strand),
      drained_(ctx_.strand),
      wake_poller_(ctx_.strand),
      notify_timer_(ctx_.strand),
      last_activity_(Clock::now()) {
    boost::system::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);  // replies are small and awaited
    common::set_alive_check(stream_.socket(), tcp_alive_check_min);
}

void CommandChannel::start() {
    // What the host knows of the lines starts from here (PORT_INIT/LSTATUS replies); a NOTIFY
    // reports changes against it.
    const auto lines = line_.lines();
    last_msr_ = aspp::msr_lines(lines);
    last_hold_ = line_.hold_flags(lines);
    spawn(reader());
    spawn(writer());
    if (rules_.driver_mode) spawn(poller());
}

void CommandChannel::spawn(core::Task<void> task) {
    ++running_;
    asio::co_spawn(
        ctx_.strand, std::move(task), [self = shared_from_this()](const std::exception_ptr& e) {
            if (e) {
                self->ctx_.events.emit(events::types::kModeFailed, {.port = self->ctx_.id},
                                       "command channel ended by an exception");
            }
            self->coroutine_done();
        });
}

void CommandChannel::coroutine_done() {
    if (--running_ != 0) return;
    link_ = nullptr;
    if (on_closed_) {
        auto cb = std::move(on_closed_);
        on_closed_ = nullptr;
        cb(*this);
    }
}

void CommandChannel::close() {
    if (closed_) return;
    closed_ = true;
    stream_.close();
    notify_timer_.cancel();
    wake_writer_.notify();
    drained_.notify();
    wake_poller_.notify();
}

void CommandChannel::traffic() {
    last_activity_ = Clock::now();
}

void CommandChannel::note_traffic() {
    traffic();
}

// ---------------------------------------------------------------- coroutines

core::Task<void> CommandChannel::reader() {
    std::vector<aspp::Command> commands;
    while (!closed_) {
        // Decoded before the next await: data is the io thread's read buffer (stream.h).
        auto [ec, data] = co_await stream_.read_some(4096);
        if (ec || closed_) break;  // EOF and reset are normal endings
        rx_ += data.size();
        traffic();  // spec §5: any command counts
        commands.clear();
        decoder_.feed(data, commands);
        for (const auto& c : commands) {
            handle(c);
            if (closed_) break;
        }
        maybe_notify();  // the device checks for events after each command batch
        // Backpressure: a host that sends commands but reads no replies stops being read.
        while (!closed_ && out_.size() > kMaxQueuedReplyBytes) co_await drained_.wait();
    }
    close();
}

core::Task<void> CommandChannel::writer() {
    std::vector<std::byte> sending;
    while (!closed_) {
        if (out_.empty()) {
            co_await wake_writer_.wait();
            continue;
        }
        sending.swap(out_);
        const std::vector<asio::const_buffer> bufs{asio::buffer(sending)};
        auto [ec, n] = co_await stream_.write(bufs);
        if (ec) break;
        tx_ += n;
        sending.clear();
        drained_.notify();
    }
    close();
}

core::Task<void> CommandChannel::poller() {
    // Spec §5, as the device does it (portd aspp.c): a poll after `idle` without traffic, then
    // one every `repeat` while unanswered; when the next is due and more than
    // kMaxUnansweredPolls went unanswered, both connections close. Only while notify is on.
    const PollTiming& timing = poll_timing();
    while (!closed_) {
        if (!notify_enabled_) {
            co_await wake_poller_.wait();
            continue;
        }
        const auto due = last_activity_ + (unanswered_ > 0 ? timing.repeat : timing.idle);
        if (Clock::now() < due) {
            co_await wake_poller_.wait_until(due);
            continue;
        }
        if (unanswered_ > kMaxUnansweredPolls) {
            // A stranger can cause it (connect, never answer): limited per source (issue 14).
            ctx_.events.emit_limited(events::types::kDisconnected,
                                     {.port = ctx_.id, .source = peer_},
                                     "Real COM: " + std::to_string(unanswered_) +
                                         " alive polls unanswered, session closed",
                                     common::kConnectionEventLimit);
            if (link_ != nullptr) link_->close_link();
            close();
            break;
        }
        if (++poll_id_ == 0) poll_id_ = 1;  // ids are 1..255, never 0
        reply(aspp::Poll{poll_id_});
        ++unanswered_;
        last_activity_ = Clock::now();
    }
}

core::Task<void> CommandChannel::wait_output_queue(std::uint32_t timeout_ms,
                                                   std::uint64_t generation) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    asio::steady_timer t(ctx_.strand);
    while (!closed_ && generation == wait_generation_) {
        // Spec §3: serial output queue + unread TCP data of this session. Bytes in a device
        // write may already be in the output queue: count them once.
        std::size_t queued = link_ != nullptr ? link_->in_flight() : 0;
        if (auto q = ctx_.serial.output_queue(); q) queued = std::max(queued, *q);
        const std::size_t pending = queued + (link_ != nullptr ? link_->pending_input() : 0);
        const auto now = Clock::now();
        if (pending == 0 || now >= deadline) {
            reply(aspp::QueueLength{aspp::op::kWaitOutputQueue, clamp16(pending)});
            co_return;
        }
        t.expires_after(std::min<Clock::duration>(kDrainCheckInterval, deadline - now));
        (void)co_await t.async_wait(core::use_nothrow);
    }
}

// ---------------------------------------------------------------- replies and NOTIFY

void CommandChannel::reply(const aspp::Reply& r) {
    if (closed_) return;
    aspp::encode(r, out_);
    wake_writer_.notify();
}

aspp::LineStatus CommandChannel::line_status(std::uint8_t opcode) const {
    const auto l = line_.lines();
    return {opcode, l.dsr, l.cts, l.dcd};
}

void CommandChannel::on_line_event(std::uint8_t events, std::uint64_t breaks) {
    pending_events_ |= events;
    data_status_ |= static_cast<std::uint8_t>(events & aspp::event::kLineErrors);
    break_count_ += breaks;
    maybe_notify();
}

void CommandChannel::maybe_notify() {
    if (!rules_.driver_mode || !notify_enabled_ || closed_) return;
    const auto lines = line_.lines();
    const std::uint8_t msr = aspp::msr_lines(lines);
    const std::uint8_t hold = line_.hold_flags(lines);
    if (pending_events_ == 0 && msr == last_msr_ && hold == last_hold_) return;
    const auto now = Clock::now();
    if (now < last_notify_ + kNotifyInterval) {
        // Spec §4: at most every 100 ms. What happens meanwhile is folded into the next one.
        if (!notify_timer_armed_) {
            notify_timer_armed_ = true;
            notify_timer_.expires_at(last_notify_ + kNotifyInterval);
            notify_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
                self->notify_timer_armed_ = false;
                self->maybe_notify();
            });
        }
        return;
    }
    std::uint8_t events = pending_events_;
    if (msr != last_msr_) events |= aspp::event::kModemStatus;
    reply(aspp::Notify{events, aspp::msr_with_delta(last_msr_, msr), hold});
    last_msr_ = msr;
    last_hold_ = hold;
    pending_events_ = 0;
    last_notify_ = now;
}

// ---------------------------------------------------------------- commands (spec §3)

void CommandChannel::apply_framing(std::uint8_t baud_index, std::uint8_t mode) {
    const aspp::Framing f = aspp::decode_mode(mode);
    auto st = line_.change([&](config::SerialSettings& s) {
        // 0xFF: the rate comes in the SETBAUD that follows; keep the current one until then.
        if (baud_index != aspp::kCustomBaudIndex) {
            s.baud = aspp::baud_of_index_or_fallback(baud_index);
        }
        s.data_bits = f.data_bits;
        s.parity = f.parity;
        s.stop_bits = f.stop_bits;
    });
    if (!st)
        spdlog::warn("port {}: Real COM line settings refused: {}", ctx_.id, st.error().message);
}

void CommandChannel::apply_flow(const aspp::FlowFlags& flow) {
    auto st = line_.change(
        [&](config::SerialSettings& s) { s.flow_control = aspp::flow_control_of(flow); });
    if (!st)
        spdlog::warn("port {}: Real COM flow control refused: {}", ctx_.id, st.error().message);
}

void CommandChannel::flush(std::uint8_t which) {
    // 0 rx, 1 tx, 2 both; the device passes other values to its driver as "both".
    const auto dir = which == 0   ? serial::FlushDirection::Receive
                     : which == 1 ? serial::FlushDirection::Transmit
                                  : serial::FlushDirection::Both;
    (void)ctx_.serial.flush(dir);
    // Spec §3: for tx/both, also what the host already sent on this session's data connection.
    if (dir != serial::FlushDirection::Receive && link_ != nullptr) link_->discard_input();
}

void CommandChannel::handle(const aspp::Command& command) {
    namespace op = aspp::op;
    const bool control = rules_.line_control;
    std::visit(
        Overloaded{
            [&](const aspp::Ioctl& c) {
                if (control) apply_framing(c.baud_index, c.mode);
                ack(op::kIoctl);
            },
            [&](const aspp::FlowCtrl& c) {
                if (control) apply_flow(c.flow);
                ack(op::kFlowCtrl);
            },
            [&](const aspp::LineCtrl& c) {
                if (control) {
                    (void)ctx_.serial.set_dtr(c.dtr);
                    (void)ctx_.serial.set_rts(c.rts);
                }
                ack(op::kLineCtrl);
            },
            [&](const aspp::LineStatusQuery&) { reply(line_status(op::kLineStatus)); },
            [&](const aspp::Flush& c) {
                if (rules_.real_tty) flush(c.which);
                ack(op::kFlush);
            },
            [&](const aspp::InputQueueQuery&) {
                auto q = ctx_.serial.input_queue();
                reply(aspp::QueueLength{op::kInputQueue, clamp16(q ? *q : 0)});
            },
            [&](const aspp::OutputQueueQuery&) {
                auto q = ctx_.serial.output_queue();
                reply(aspp::QueueLength{op::kOutputQueue, clamp16(q ? *q : 0)});
            },
            [&](const aspp::SetBaud& c) {
                if (!control) return ack(op::kSetBaud);  // shared mode: acknowledged, ignored
                if (c.baud < config::kMinBaud || c.baud > config::kMaxBaud) {
                    return ack(op::kSetBaud, false);
                }
                auto st = line_.change([&](config::SerialSettings& s) { s.baud = c.baud; });
                ack(op::kSetBaud, st.ok());  // "what the port supports": its driver decides
            },
            [&](const aspp::XonXoff& c) {
                if (control) (void)ctx_.serial.set_flow_chars(c.xon, c.xoff);
                ack(op::kXonXoff);
            },
            [&](const aspp::PortReset&) { ack(op::kPortReset); },
            [&](const aspp::StartBreak&) {
                if (control) (void)ctx_.serial.set_break(true);
                ack(op::kStartBreak);
            },
            [&](const aspp::StopBreak&) {
                if (control) (void)ctx_.serial.set_break(false);
                ack(op::kStopBreak);
            },
            [&](const aspp::BreakSend& c) {
                if (c.duration_ms < kMinBreakMs || c.duration_ms > kMaxBreakMs) return;
                if (control) {
                    (void)ctx_.serial.send_break(std::chrono::milliseconds(c.duration_ms));
                }
                ack(op::kBreakSend);
            },
            [&](const aspp::StartNotify&) {
                ack(op::kStartNotify);
                notify_enabled_ = true;
                wake_poller_.notify();
            },
            [&](const aspp::StopNotify&) {
                notify_enabled_ = false;
                ack(op::kStopNotify);
            },
            [&](const aspp::Alive&) { unanswered_ = 0; },  // no reply (spec §3)
            [&](const aspp::LinkName& c) {
                link_name_ = c.name;
                ack(op::kLinkName);
            },
            [&](const aspp::PortInit& c) {
                if (control) {
                    apply_framing(c.baud_index, c.mode);
                    apply_flow(c.flow);
                    (void)ctx_.serial.set_dtr(c.dtr);
                    (void)ctx_.serial.set_rts(c.rts);
                }
                reply(line_status(op::kPortInit));
                // The reply carries the lines: a NOTIFY reports changes from here on.
                const auto lines = line_.lines();
                last_msr_ = aspp::msr_lines(lines);
                notify_enabled_ = true;
                wake_poller_.notify();
            },
            [&](const aspp::ResentTime&) { ack(op::kResentTime); },
            [&](const aspp::WaitOutputQueue& c) {
                if (!rules_.real_tty) {
                    return reply(aspp::QueueLength{op::kWaitOutputQueue, 0});
                }
                spawn(wait_output_queue(std::max<std::uint32_t>(c.timeout_ms, 1),
                                        ++wait_generation_));
            },
            [&](const aspp::TxFifo& c) {
                if (control) {
                    auto st = line_.change([&](config::SerialSettings& s) { s.fifo = c.size > 1; });
                    if (!st) spdlog::warn("port {}: TX FIFO: {}", ctx_.id, st.error().message);
                }
                ack(op::kTxFifo);
            },
            [&](const aspp::SetComm&) { ack(op::kSetComm); },
            [&](const aspp::DsrSensitivity&) { ack(op::kDsrSensitivity); },
            [&](const aspp::SetXon&) {
                if (rules_.real_tty) line_.set_tx_held(false);
                ack(op::kSetXon);
            },
            [&](const aspp::SetXoff&) {
                if (rules_.real_tty) line_.set_tx_held(true);
                ack(op::kSetXoff);
            },
            [&](const aspp::FlushStart& c) {
                // The device flushes and answers at once with what is still queued from the host
                // (portd's loop replies on its next pass); FLUSH_STOP then just acknowledges.
                if (!rules_.real_tty) return reply(aspp::FlushStartReply{0, 0});
                flush(c.which);
                const std::size_t in = link_ != nullptr ? link_->pending_input() : 0;
                reply(aspp::FlushStartReply{clamp16(in), 0});
            },
            [&](const aspp::FlushStop&) { ack(op::kFlushStop); },
            [&](const aspp::BreakCountQuery&) {
                reply(aspp::BreakCount{clamp16(break_count_)});
                break_count_ = 0;
            },
            [&](const aspp::DataStatusQuery&) {
                reply(aspp::DataStatus{data_status_});
                data_status_ = 0;
            },
            [&](const aspp::Skipped& c) {
                // Unknown opcode, or a known one of the wrong length: skipped unanswered, as the
                // device does.
                spdlog::debug("port {}: ASPP opcode 0x{:02x} ({} bytes) from {} skipped", ctx_.id,
                              c.opcode, c.length, peer_);
            },
        },
        command);
}

}  // namespace sg::modes::real_com
