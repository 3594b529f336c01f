// stream.h: one TCP connection of a serial mode, plain or under TLS (Secure Connection, issue 11
// items 1 and 3). Every session, command channel and link of the TCP modes reads, writes and ends
// its connection through a Stream, so that what runs over it does not care which one it is. Plain:
// the socket itself, with the non-blocking fast write of the fan-out. TLS: an OpenSSL connection
// on the socket's descriptor (a socket BIO of ours), driven without blocking from the event loop —
// each SSL_read/SSL_write/SSL_do_handshake is tried, and only "want read/write" waits for the
// socket (docs/adr/0006: asio::ssl::stream held two zero-filled 17 KiB record buffers and a BIO
// pair per connection, idle or not, and copied every record through the pair). Handshake steps
// take their turn from the bulk lane (docs/adr/0016). Reads land in a buffer the Stream owns. The
// TLS context the connection started with is kept for its life (CE-3: a new certificate applies to
// new connections, existing ones keep theirs). On the port strand; one read and one write at a time
// (they may interleave: OpenSSL is full duplex as long as its calls do not overlap, which the
// strand ensures).
#pragma once

#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/asio.h"
#include "core/limits.h"

namespace sg::modes::common {

/// A peer that stalls in the TLS handshake never holds a slot longer than this.
inline constexpr std::chrono::milliseconds kHandshakeTimeout{10000};
/// The graceful TLS end (close_notify) waits at most this long for the peer's answer.
inline constexpr std::chrono::milliseconds kTlsShutdownBound{500};
/// The TLS read buffer: plaintext of one read, one whole record (the TLS maximum). Smaller, every
/// full record takes several reads, each a round through the SSL engine and the session's serial
/// write: with 4 KiB, net→serial cost ~30 % more CPU per MiB (bench/run --tls, 2026-12-07).
/// Allocated for TLS connections only.
inline constexpr std::size_t kTlsReadBytes = 16 * 1024;
/// write() packs small buffers into TLS records of up to this size (the TLS maximum).
inline constexpr std::size_t kTlsRecordBytes = 16 * 1024;

class Stream {
public:
    /// Plain. `peer`: the address accept(2) returned, when a listener made it (a peer that has
    /// already reset has none left for getpeername); without it, the socket's remote endpoint.
    explicit Stream(asio::ip::tcp::socket socket,
                    std::optional<asio::ip::tcp::endpoint> peer = std::nullopt);
    /// TLS over `socket` with `tls` (not null); handshake() comes next. `peer` as above.
    Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
           std::optional<asio::ip::tcp::endpoint> peer = std::nullopt);
    Stream(Stream&&) noexcept = default;
    Stream& operator=(Stream&&) noexcept = default;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() = default;

    bool secure() const { return ssl_ != nullptr; }
    /// The TCP layer, in both cases: options, endpoints, the peer watch.
    asio::ip::tcp::socket& socket() { return *socket_; }
    const asio::ip::tcp::socket& socket() const { return *socket_; }
    int native_handle() { return socket().native_handle(); }
    /// The OpenSSL connection (SNI and host check before a client handshake); null when plain.
    SSL* ssl() { return ssl_.get(); }
    /// The peer as it was when the Stream was made (a listener's: accept(2)'s address, before the
    /// TLS handshake), so that a peer that resets right after its handshake is still named; empty
    /// when the socket had no peer then.
    const std::optional<asio::ip::tcp::endpoint>& peer() const { return peer_; }

    /// TLS handshake as server or client, bounded by `timeout` (timed_out then); a plain Stream
    /// has nothing to do. On failure the caller closes.
    core::Task<std::error_code> handshake(asio::ssl::stream_base::handshake_type type,
                                          std::chrono::milliseconds timeout = kHandshakeTimeout);

    /// Reads what is there (at least one byte, at most `max`). Plain: waits until the socket is
    /// readable, then reads without blocking into the io thread's buffer (read_scratch.h): an idle
    /// connection owns no read buffer (issue 12 item 1), and every read passes through the event
    /// loop first, so a flooding peer takes one turn at a time (item 2). TLS: SSL_read into the
    /// Stream's own kTlsReadBytes buffer; waits for the socket only when OpenSSL has no whole
    /// record, and gives that buffer back while it waits (OpenSSL its record buffers too:
    /// SSL_MODE_RELEASE_BUFFERS), so an idle TLS connection holds neither. Plain: the span is valid
    /// until the caller's next co_await: copy what must outlive one (InFlight). TLS: valid until
    /// the next read_some (own_read_buffer()).
    core::Task<std::pair<std::error_code, std::span<const std::byte>>> read_some(
        std::size_t max = core::limits::kNetReadTurnBytes);

    /// Fan-out fast path: plain, a non-blocking write_some of what the socket takes now (0 when
    /// it is full; `ec` only for a failed socket). TLS: always 0, the caller queues (everything
    /// goes through write()).
    std::size_t try_write(std::span<const std::byte> bytes, boost::system::error_code& ec);

    /// Writes all of `buffers` (gathered; under TLS packed into records of up to kTlsRecordBytes).
    core::Task<std::pair<std::error_code, std::size_t>> write(
        const std::vector<asio::const_buffer>& buffers);

    /// Graceful end of a drained connection: under TLS, close_notify, waiting at most
    /// kTlsShutdownBound for the peer's; nothing for plain. The caller closes afterwards.
    core::Task<void> shutdown();
    /// Immediate end: both directions shut, closed; pending I/O completes with errors.
    void close();
    /// Closes with RST (SO_LINGER 0): for a connection refused before any byte (NE-2).
    void reset();

    /// Bytes received and not yet read. Plain: the socket's receive queue. TLS: the plaintext
    /// OpenSSL has decrypted and not handed out yet (what waits encrypted in the socket has no
    /// known plaintext size).
    std::size_t available() const;

    /// What read_some() returns stays valid until the next read_some() (TLS: the Stream's own
    /// buffer), not only until the next co_await: a reader may await the serial write with it
    /// without a copy (InFlight::hold).
    bool own_read_buffer() const { return ssl_ != nullptr; }

private:
    struct SslFree {
        void operator()(SSL* s) const { ::SSL_free(s); }
    };
    /// What an OpenSSL call that returned `r` wants: a wait (SSL_ERROR_WANT_READ/WRITE, with
    /// `ec` clear) or nothing more (`ec` set: the end or the error, in the codes asio's SSL
    /// stream gave: eof, stream_truncated, the SSL category, the socket's errno).
    struct Outcome {
        int want = 0;
        std::error_code ec;
    };
    Outcome outcome_of(int r, int saved_errno) const;
    /// Waits until the socket can do what OpenSSL wants; an error or a closed socket ends it.
    core::Task<std::error_code> wait_for(int want);
    core::Task<std::error_code> drive_handshake();
    core::Task<std::error_code> drive_shutdown();
    core::Task<std::error_code> tls_write(const std::byte* data, std::size_t size);
    core::Task<std::error_code> flush_out();  // writes and empties tls_out_
    /// OpenSSL may be called: the socket is open (after close() its descriptor number may belong
    /// to another connection; OpenSSL holds the number, not the socket).
    bool live() const { return socket_ && socket_->is_open(); }

    std::optional<asio::ip::tcp::endpoint> peer_;  // first: taken before the socket moves
    std::optional<asio::ip::tcp::socket> socket_;
    std::shared_ptr<asio::ssl::context> tls_;  // kept for the connection's life (CE-3)
    std::unique_ptr<SSL, SslFree> ssl_;        // on socket_'s descriptor; null when plain
    std::unique_ptr<std::byte[]> tls_in_;      // kTlsReadBytes, TLS only, while reading
    std::vector<std::byte> tls_out_;           // write(): small buffers packed into records
    bool bulk_ = false;  // the last read was a full turn: the next waits in core::BulkLane first
};

/// peer_string / peer_address (tcp_options.h) of the peer the Stream was made with
/// (Stream::peer()): "?" and the unspecified address when it had none.
std::string peer_string(const Stream& stream);
asio::ip::address peer_address(const Stream& stream);

/// Whether `ec` (from Stream::read_some) is the peer's orderly end: FIN, or TLS close_notify.
bool is_eof(const std::error_code& ec);

/// Why a handshake on `stream` failed, for the event log (never a payload byte): the peer's
/// certificate refused (and why), no client certificate for mutual TLS, a timeout, or the TLS
/// error.
std::string tls_failure(Stream& stream, const std::error_code& ec);

}  // namespace sg::modes::common
