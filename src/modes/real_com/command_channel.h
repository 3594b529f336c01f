// command_channel.h: the device side of one ASPP command connection (shared/specs/realcom-aspp.md,
// "spec §N"): decodes commands, applies them to the port's serial line and answers them exactly as
// spec §3 says; in Real COM "driver mode" it also sends NOTIFY (spec §4) and the alive POLL
// (spec §5). Used by Real COM sessions (paired with a data connection) and by TCP Server mode's
// command port (alone, no NOTIFY/POLL). Everything runs on the port strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/signal.h"
#include "modes/common/stream.h"
#include "modes/mode.h"
#include "modes/real_com/aspp_codec.h"

namespace sg::modes::real_com {

// ---------------------------------------------------------------- timing (spec §4, §5)

/// NOTIFY at most this often per session (the device polls its UART every 100 ms).
inline constexpr std::chrono::milliseconds kNotifyInterval{100};
/// Alive POLL after this long without traffic from the host, while notifications are on.
inline constexpr std::chrono::milliseconds kPollIdle{40000};
/// Once a poll is outstanding, the next one after this long.
inline constexpr std::chrono::milliseconds kPollRepeat{3000};
/// When a poll is due and more than this many went unanswered, the session is closed.
inline constexpr int kMaxUnansweredPolls = 3;
/// Replies queued for a host that does not read them: past this the channel reads no more
/// commands until they drain (every queue bounded, STYLE.md §3.9).
inline constexpr std::size_t kMaxQueuedReplyBytes = 16 * 1024;
/// How often WAIT_OQUEUE looks at the output queue (the device checks in its 100 ms loop).
inline constexpr std::chrono::milliseconds kDrainCheckInterval{20};

/// kPollIdle and kPollRepeat as this process uses them. Tests only: the hidden environment
/// variable SG_TEST_REALCOM_POLL_SCALE (a factor in (0, 1], e.g. 0.05) shortens both, read once;
/// anything else in it is ignored. Not a setting: the protocol's timing is fixed.
struct PollTiming {
    std::chrono::milliseconds idle;
    std::chrono::milliseconds repeat;
};
const PollTiming& poll_timing();

// ---------------------------------------------------------------- rules and shared line state

/// What the commands of a channel may do (spec §1, §3).
struct ChannelRules {
    bool line_control = false;  // line-setting commands act: real TTY or allow_driver_control
    bool real_tty = false;      // max_connections 1: FLUSH, WAIT_OQUEUE, FLUSH_START, SETXON/OFF
    bool driver_mode = false;   // Real COM: NOTIFY and alive POLL; off on TCP Server's command port
};

/// Port-wide line state shared by the command channels of one mode: the configured settings to
/// restore and the transmit hold of SETXOFF. Created when the mode is, right after the Port
/// applied the configured settings, so what the line has then is what "restore" means.
class LineControl {
public:
    explicit LineControl(PortContext& ctx);

    PortContext& ctx() { return ctx_; }
    /// Applies the current settings changed by `edit`. The previous settings stay on failure.
    core::Status change(const std::function<void(config::SerialSettings&)>& edit);
    /// Back to the configured settings, RTS/DTR as at start, no break, no hold, XON/XOFF 0x11/0x13
    /// (spec §1: when a session's data connection goes away).
    void restore();
    /// Input lines now; all off when the line has none (a pty).
    serial::ModemLines lines() const;
    /// NOTIFY hold byte for the state now (spec §4).
    std::uint8_t hold_flags(const serial::ModemLines& lines) const;
    void set_tx_held(bool held);

private:
    PortContext& ctx_;
    std::optional<config::SerialSettings> configured_;
    serial::ModemLines initial_lines_;
    bool have_initial_lines_ = false;
    bool tx_held_ = false;
};

/// The data connection paired with a command channel (Real COM). TCP Server has none.
class DataLink {
public:
    /// Bytes the host sent that this side has not read yet (the socket's receive queue).
    virtual std::size_t pending_input() const = 0;
    /// Bytes read from the host and being written to the serial line (the device's output queue
    /// may already count them).
    virtual std::size_t in_flight() const = 0;
    /// FLUSH tx/both: drops those bytes.
    virtual void discard_input() = 0;
    /// The poll cycle gave up: the whole session ends (spec §5).
    virtual void close_link() = 0;

protected:
    virtual ~DataLink() = default;
};

// ---------------------------------------------------------------- the channel

class CommandChannel : public std::enable_shared_from_this<CommandChannel> {
public:
    /// Called once on the strand when the channel's last coroutine has ended.
    using Closed = std::function<void(CommandChannel&)>;

    CommandChannel(common::Stream stream, LineControl& line, ChannelRules rules,
                   std::uint8_t tcp_alive_check_min, Closed on_closed);

    void start();
    /// Pairs (or unpairs, with nullptr) the session's data connection.
    void attach(DataLink* link) { link_ = link; }
    /// Closes the connection; pending waits end. Idempotent.
    void close();
    /// The host sent something on the paired data connection (spec §5: traffic).
    void note_traffic();
    /// A serial notification, as spec §4 event flags (parity, framing, overrun, break) plus the
    /// number of breaks it reports. Modem-line changes come with events == 0: the channel reads
    /// the lines itself.
    void on_line_event(std::uint8_t events, std::uint64_t breaks);

    const std::string& peer() const { return peer_; }
    const asio::ip::address& address() const { return address_; }  // what the allowlist judges
    PeerStatus status() const { return {peer_, connected_at_, tx_, rx_}; }
    bool closed() const { return closed_; }

private:
    core::Task<void> reader();
    core::Task<void> writer();
    core::Task<void> poller();
    core::Task<void> wait_output_queue(std::uint32_t timeout_ms, std::uint64_t generation);
    void spawn(core::Task<void> task);
    void coroutine_done();

    void handle(const aspp::Command& c);
    void reply(const aspp::Reply& r);
    void ack(std::uint8_t opcode, bool ok = true) { reply(aspp::Ack{opcode, ok}); }
    aspp::LineStatus line_status(std::uint8_t opcode) const;
    void apply_framing(std::uint8_t baud_index, std::uint8_t mode);
    void apply_flow(const aspp::FlowFlags& flow);
    void flush(std::uint8_t which);
    void maybe_notify();
    void traffic();

    common::Stream stream_;
    LineControl& line_;
    PortContext& ctx_;
    const ChannelRules rules_;
    Closed on_closed_;
    DataLink* link_ = nullptr;
    std::string peer_;
    asio::ip::address address_;
    std::int64_t connected_at_;
    std::string link_name_;  // LINK_NAME label

    aspp::CommandDecoder decoder_;
    std::vector<std::byte> out_;  // replies not yet handed to the socket
    core::Signal wake_writer_;
    core::Signal drained_;  // the writer emptied out_
    core::Signal wake_poller_;

    // NOTIFY state (spec §4)
    bool notify_enabled_ = false;
    std::uint8_t pending_events_ = 0;  // not yet notified
    std::uint8_t last_msr_ = 0;        // lines as last notified (upper nibble)
    std::uint8_t last_hold_ = 0;
    std::chrono::steady_clock::time_point last_notify_{};
    asio::steady_timer notify_timer_;
    bool notify_timer_armed_ = false;
    std::uint8_t data_status_ = 0;   // DATA_STATUS: line-error flags since last read
    std::uint64_t break_count_ = 0;  // BREAK_COUNT: breaks since last read

    // alive POLL state (spec §5)
    std::chrono::steady_clock::time_point last_activity_;
    int unanswered_ = 0;
    std::uint8_t poll_id_ = 0;

    std::uint64_t wait_generation_ = 0;  // a newer WAIT_OQUEUE supersedes an older one
    int running_ = 0;
    bool closed_ = false;
    std::uint64_t tx_ = 0;
    std::uint64_t rx_ = 0;
};

}  // namespace sg::modes::real_com
