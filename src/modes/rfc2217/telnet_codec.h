// telnet_codec.h: the Telnet layer of RFC 2217 mode, sans-I/O (STYLE.md §3.8). Wire bytes from the
// client go in; out come data bytes (IAC IAC unescaped, RFC 854), option negotiations (RFC 855),
// other Telnet commands and complete COM-PORT-OPTION subnegotiations (RFC 2217, option 44). The
// encoder side escapes data and frames negotiations and COM-PORT replies. OptionTable keeps the
// per-option state of both sides by RFC 1143's Q method, so a negotiation never loops.
// No socket, timer or clock: the session (rfc2217_mode.cpp) owns all I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

namespace sg::modes::rfc2217 {

// ---------------------------------------------------------------- wire constants

// RFC 854 command bytes.
inline constexpr std::uint8_t kIac = 255;
inline constexpr std::uint8_t kSb = 250;
inline constexpr std::uint8_t kSe = 240;
inline constexpr std::uint8_t kBreak = 243;  // IAC BRK: the NVT "break" key

/// RFC 854 negotiation verbs, with their wire values.
enum class Verb : std::uint8_t { Will = 251, Wont = 252, Do = 253, Dont = 254 };

// Options this server knows by number.
inline constexpr std::uint8_t kOptBinary = 0;    // RFC 856
inline constexpr std::uint8_t kOptEcho = 1;      // RFC 857
inline constexpr std::uint8_t kOptSga = 3;       // RFC 858, suppress go-ahead
inline constexpr std::uint8_t kOptComPort = 44;  // RFC 2217

/// RFC 2217 COM-PORT-OPTION commands, client → server. The server answers with command + 100.
enum class ComCommand : std::uint8_t {
    Signature = 0,
    SetBaudrate = 1,
    SetDatasize = 2,
    SetParity = 3,
    SetStopsize = 4,
    SetControl = 5,
    NotifyLinestate = 6,
    NotifyModemstate = 7,
    FlowcontrolSuspend = 8,
    FlowcontrolResume = 9,
    SetLinestateMask = 10,
    SetModemstateMask = 11,
    PurgeData = 12,
};
inline constexpr std::uint8_t kServerOffset = 100;  // RFC 2217: "server to client" codes

/// A subnegotiation longer than this is discarded whole (and reported as Malformed). The longest
/// legitimate COM-PORT payload is a SIGNATURE text; 64 bytes hold any real one.
inline constexpr std::size_t kMaxSubnegotiation = 64;

// ---------------------------------------------------------------- decoder output

struct Negotiation {
    Verb verb;
    std::uint8_t option;
    bool operator==(const Negotiation&) const = default;
};

/// A complete IAC SB 44 <command> <value...> IAC SE, IAC IAC in the value already unescaped.
/// An empty subnegotiation (IAC SB 44 IAC SE) arrives as Signature with no value: some clients
/// ask for the signature that way.
struct ComPortRequest {
    std::uint8_t command;  // 0..12 from a client; >= 100 is a server's code, which we ignore
    std::vector<std::uint8_t> value;
    bool operator==(const ComPortRequest&) const = default;
};

/// Any other two-byte Telnet command (IAC BRK, IAC AYT, IAC NOP, ...).
struct TelnetCommand {
    std::uint8_t code;
    bool operator==(const TelnetCommand&) const = default;
};

/// Input the codec dropped: counted and logged by the caller, never fatal.
struct Malformed {
    enum class Why : std::uint8_t {
        SubnegotiationTooLong,  // over kMaxSubnegotiation; discarded up to its IAC SE
        SubnegotiationCut,      // IAC <command> inside a subnegotiation (RFC 855 forbids it)
    };
    Why why;
    bool operator==(const Malformed&) const = default;
};

struct Event {
    /// How many bytes of Decoded::data (from the same feed) come before this event: the caller
    /// applies data and events in wire order (a PURGE must not overtake the bytes sent before it).
    std::size_t at = 0;
    std::variant<Negotiation, ComPortRequest, TelnetCommand, Malformed> what;
    bool operator==(const Event&) const = default;
};

struct Decoded {
    std::vector<std::byte> data;
    std::vector<Event> events;
    void clear() {
        data.clear();
        events.clear();
    }
};

// ---------------------------------------------------------------- decoder

class TelnetDecoder {
public:
    /// Consumes wire bytes (any split), appending to `out`. Never fails: bad input becomes a
    /// Malformed event. Memory is bounded by kMaxSubnegotiation plus what `wire` decodes to.
    void feed(std::span<const std::byte> wire, Decoded& out);

    /// RFC 854 NVT rule for a peer not in BINARY mode (RFC 856): a bare CR travels as CR NUL, so
    /// the NUL is dropped. In binary mode every byte is data. Off (binary) by default.
    void set_nvt_cr_nul(bool on) { nvt_cr_nul_ = on; }

private:
    enum class State : std::uint8_t {
        Data,      // plain bytes
        Iac,       // IAC seen
        Verb,      // IAC WILL/WONT/DO/DONT seen, option byte next
        SbOption,  // IAC SB seen, option byte next
        Sb,        // inside a subnegotiation
        SbIac,     // IAC inside a subnegotiation
    };
    void finish_subnegotiation(std::size_t at, Decoded& out);
    /// State Data: appends the data bytes of `run` up to its first IAC (applying the NVT CR NUL
    /// rule) and returns how many bytes of `run` that consumed; the IAC itself is not consumed.
    std::size_t copy_data(std::span<const std::byte> run, Decoded& out);

    State state_ = State::Data;
    Verb verb_ = Verb::Will;
    std::uint8_t sb_option_ = 0;
    std::array<std::uint8_t, kMaxSubnegotiation> sb_{};
    std::size_t sb_len_ = 0;
    bool sb_overflow_ = false;
    bool nvt_cr_nul_ = false;
    bool last_cr_ = false;  // the previous data byte was CR (NVT CR NUL rule)
};

// ---------------------------------------------------------------- encoder

/// Appends `data` with every 0xFF doubled (RFC 854: IAC IAC is a data byte 255).
void append_escaped(std::span<const std::byte> data, std::vector<std::byte>& out);
/// Appends IAC <verb> <option>.
void append_negotiation(Verb verb, std::uint8_t option, std::vector<std::byte>& out);
/// Appends IAC SB 44 <code> <value, IAC doubled> IAC SE. `code` is already the server code
/// (request + kServerOffset) for replies and notifications.
void append_com_port(std::uint8_t code, std::span<const std::uint8_t> value,
                     std::vector<std::byte>& out);
/// Worst-case size of `n` data bytes once escaped.
constexpr std::size_t escaped_size_bound(std::size_t n) {
    return 2 * n;
}

// ---------------------------------------------------------------- option negotiation

/// RFC 1143 Q method for one connection, both directions. "Local" options are ours (we send
/// WILL/WONT, the peer DO/DONT); "remote" options are the peer's (it sends WILL/WONT, we
/// DO/DONT). We never change our mind while a request is pending, so the queue bit of RFC 1143
/// is not needed: the four states below suffice and still rule out negotiation loops.
class OptionTable {
public:
    enum class Q : std::uint8_t { No, Yes, WantNo, WantYes };

    /// What a received negotiation did, for the caller to act on (e.g. the first notification
    /// once COM-PORT is on).
    struct Change {
        bool local = false;     // the option is one of ours
        bool enabled = false;   // it went from off to on
        bool disabled = false;  // it went from on to off
    };

    /// Options we agree to turn on when asked (ours: local; the peer's: remote).
    void accept_local(std::uint8_t option) { accept_local_[option] = true; }
    void accept_remote(std::uint8_t option) { accept_remote_[option] = true; }

    /// Asks to turn an option on: WILL (local) or DO (remote), unless already on or asked.
    void request_local(std::uint8_t option, std::vector<std::byte>& out);
    void request_remote(std::uint8_t option, std::vector<std::byte>& out);

    /// Applies a received negotiation; any answer RFC 1143 requires is appended to `out`.
    Change receive(const Negotiation& n, std::vector<std::byte>& out);

    bool local_on(std::uint8_t option) const { return local_[option] == Q::Yes; }
    bool remote_on(std::uint8_t option) const { return remote_[option] == Q::Yes; }
    Q local_state(std::uint8_t option) const { return local_[option]; }
    Q remote_state(std::uint8_t option) const { return remote_[option]; }

private:
    Change receive_one(Q& q, bool accept, bool yes, Verb agree, Verb refuse, std::uint8_t option,
                       std::vector<std::byte>& out);

    std::array<Q, 256> local_{};
    std::array<Q, 256> remote_{};
    std::array<bool, 256> accept_local_{};
    std::array<bool, 256> accept_remote_{};
};

}  // namespace sg::modes::rfc2217
