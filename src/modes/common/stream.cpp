// stream.cpp: a mode's TCP connection, plain or TLS (stream.h). Called on the port strand by the
// sessions, command channels and links of the TCP modes, and by the Listener's handshakes.
#include "modes/common/stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "core/bulk_lane.h"
#include "modes/common/read_scratch.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::common {

using asio::ip::tcp;

namespace {

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a socket the peer has reset
// (serve does not ignore the signal). This one is the socket BIO with send(MSG_NOSIGNAL), as
// asio's own sockets write; the descriptor is the BIO's data, never closed by it.
int fd_of(BIO* b) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(::BIO_get_data(b)));
}

bool retry(int err) {
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int bio_write(BIO* b, const char* data, int size) {
    ::BIO_clear_retry_flags(b);
    const ssize_t n = ::send(fd_of(b), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (n < 0 && retry(errno)) ::BIO_set_retry_write(b);
    return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int size) {
    ::BIO_clear_retry_flags(b);
    const ssize_t n = ::recv(fd_of(b), data, static_cast<std::size_t>(size), 0);
    if (n < 0 && retry(errno)) ::BIO_set_retry_read(b);
    return static_cast<int>(n);
}

long bio_ctrl(BIO* /*b*/, int cmd, long /*num*/, void* /*ptr*/) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered here
}

BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m =
            ::BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "serialgate socket");
        if (m != nullptr) {
            ::BIO_meth_set_write(m, bio_write);
            ::BIO_meth_set_read(m, bio_read);
            ::BIO_meth_set_ctrl(m, bio_ctrl);
        }
        return m;
    }();
    return method;
}

std::optional<tcp::endpoint> remote_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return std::nullopt;
    return ep;
}

}  // namespace

Stream::Stream(tcp::socket socket, std::optional<tcp::endpoint> peer)
    : peer_(peer ? std::move(peer) : remote_of(socket)), socket_(std::move(socket)) {}

Stream::Stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
               std::optional<tcp::endpoint> peer)
    : peer_(peer ? std::move(peer) : remote_of(socket)),
      socket_(std::move(socket)),
      tls_(std::move(tls)),
      ssl_(::SSL_new(tls_->native_handle())) {
    if (!ssl_) throw std::bad_alloc();  // as asio::ssl::stream did: out of memory
    // OpenSSL reads and writes the descriptor itself, never blocking: "want read/write" comes
    // back to us and we wait in the event loop. Read ahead: a recv takes what is there (records
    // OpenSSL then decrypts one by one) rather than a header and then its record.
    boost::system::error_code ignored;
    socket_->non_blocking(true, ignored);
    BIO_METHOD* method = socket_method();
    BIO* bio = method != nullptr ? ::BIO_new(method) : nullptr;
    if (bio == nullptr) throw std::bad_alloc();
    // The BIO's data slot is an opaque pointer: it carries the descriptor number (as OpenSSL's own
    // socket BIO keeps its fd in an int), never dereferenced.
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    ::BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(
                            socket_->is_open() ? socket_->native_handle() : -1)));
    ::BIO_set_init(bio, 1);
    ::SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns it (one reference for both directions)
    ::SSL_set_read_ahead(ssl_.get(), 1);
    // Release buffers: an idle connection holds no record buffers (OpenSSL frees its read and
    // write buffers once empty and takes them again at the next record; issue 12 item 1).
    ::SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
}

Stream::Outcome Stream::outcome_of(int r, int saved_errno) const {
    switch (::SSL_get_error(ssl_.get(), r)) {
        case SSL_ERROR_WANT_READ: return {SSL_ERROR_WANT_READ, {}};
        case SSL_ERROR_WANT_WRITE: return {SSL_ERROR_WANT_WRITE, {}};
        case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
            return {0, boost::system::error_code(asio::error::eof)};
        case SSL_ERROR_SYSCALL:
            if (const unsigned long e = ::ERR_get_error(); e != 0) {
                return {0, boost::system::error_code(static_cast<int>(e),
                                                     asio::error::get_ssl_category())};
            }
            if (saved_errno != 0) return {0, std::error_code(saved_errno, std::system_category())};
            return {0, boost::system::error_code(asio::ssl::error::stream_truncated)};
        default: {
            const unsigned long e = ::ERR_get_error();
            if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                return {0, boost::system::error_code(asio::ssl::error::stream_truncated)};
            }
            return {
                0, boost::system::error_code(static_cast<int>(e), asio::error::get_ssl_category())};
        }
    }
}

core::Task<std::error_code> Stream::wait_for(int want) {
    if (!live()) co_return boost::system::error_code(asio::error::operation_aborted);
    auto [ec] = co_await socket_->async_wait(
        want == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read,
        core::use_nothrow);
    if (ec) co_return ec;
    if (!live()) co_return boost::system::error_code(asio::error::operation_aborted);
    co_return std::error_code{};
}

core::Task<std::error_code> Stream::drive_handshake() {
    // Issue 11 (docs/adr/0016-handshake-lane.md): a handshake step that has input to work on (a
    // server's answer to a hello: key exchange and signature; a client's check of the server's
    // flight) costs ~0.4 ms of CPU. It takes its turn from the bulk lane of the io thread, a few
    // per pass of the event loop, so a flood of handshakes on one port never runs all its steps
    // ahead of another port's quiet completion. The first step too: a hello is usually there at
    // accept. A step after a wait for room to write only flushes: it goes on at once.
    core::BulkLane* lane = core::BulkLane::of(socket().get_executor());
    // The handshake's deadline (handshake()) cancels this coroutine: seen after each suspension
    // here, as a result, never as an exception.
    co_await asio::this_coro::throw_if_cancelled(false);
    bool from_lane = true;
    for (;;) {
        if (from_lane && lane != nullptr) {
            co_await lane->yield();
            if ((co_await asio::this_coro::cancellation_state).cancelled() !=
                asio::cancellation_type::none) {
                co_return boost::system::error_code(asio::error::operation_aborted);
            }
        }
        if (!live()) co_return boost::system::error_code(asio::error::operation_aborted);
        ::ERR_clear_error();
        errno = 0;
        const int r = ::SSL_do_handshake(ssl_.get());
        if (r == 1) co_return std::error_code{};
        const Outcome o = outcome_of(r, errno);
        if (o.ec) co_return o.ec;
        if (auto ec = co_await wait_for(o.want)) co_return ec;
        from_lane = o.want == SSL_ERROR_WANT_READ;
    }
}

core::Task<std::error_code> Stream::handshake(asio::ssl::stream_base::handshake_type type,
                                              std::chrono::milliseconds timeout) {
    if (!ssl_) co_return std::error_code{};
    if (type == asio::ssl::stream_base::server) {
        ::SSL_set_accept_state(ssl_.get());
    } else {
        ::SSL_set_connect_state(ssl_.get());
    }
    asio::steady_timer deadline(socket().get_executor(), timeout);
    using namespace asio::experimental::awaitable_operators;
    // The group waits for both: the loser is cancelled and completes before we go on.
    auto outcome = co_await (drive_handshake() || deadline.async_wait(core::use_nothrow));
    if (outcome.index() == 1) co_return std::make_error_code(std::errc::timed_out);
    co_return std::get<0>(outcome);
}

core::Task<std::pair<std::error_code, std::span<const std::byte>>> Stream::read_some(
    std::size_t max) {
    using Result = std::pair<std::error_code, std::span<const std::byte>>;
    max = std::clamp<std::size_t>(max, 1, core::limits::kNetReadBytes);
    // Issue 12 item 2: the last read was a full turn (the peer streams): this one waits in the
    // bulk lane first, so that quiet connections and ports are not queued behind every streaming
    // one's turn. Resumed there, the read goes straight to the socket (below), inside the lane's
    // drain; a quiet connection never enters the lane.
    bool resumed = false;
    if (bulk_) {
        bulk_ = false;
        if (core::BulkLane* lane = core::BulkLane::of(socket().get_executor())) {
            co_await lane->yield();
            resumed = true;
        }
    }
    if (ssl_) {
        const std::size_t want = std::min(max, kTlsReadBytes);
        for (;;) {
            if (!live())
                co_return Result{boost::system::error_code(asio::error::operation_aborted), {}};
            ::ERR_clear_error();
            errno = 0;
            std::size_t n = 0;
            // Not zeroed: its pages are touched (resident) only as far as records are read in.
            if (!tls_in_) tls_in_ = std::make_unique_for_overwrite<std::byte[]>(kTlsReadBytes);
            const int r = ::SSL_read_ex(ssl_.get(), tls_in_.get(), want, &n);
            if (r == 1) {
                bulk_ = core::BulkLane::is_bulk(n, want);
                co_return Result{std::error_code{}, std::span<const std::byte>(tls_in_.get(), n)};
            }
            Outcome o = outcome_of(r, errno);
            // A peer that ends without close_notify looks like a truncated stream: an end like EOF.
            static const std::error_code truncated =
                boost::system::error_code(asio::ssl::error::stream_truncated);
            if (o.ec == truncated) o.ec = boost::system::error_code(asio::error::eof);
            if (o.ec) co_return Result{o.ec, {}};
            // Nothing to hand out until the peer sends: an idle TLS connection holds no read
            // buffer (issue 12 item 1; the last read's bytes are no longer owed to anyone).
            if (o.want == SSL_ERROR_WANT_READ) tls_in_.reset();
            if (auto ec = co_await wait_for(o.want)) co_return Result{ec, {}};
        }
    }
    for (;;) {
        if (!resumed) {
            auto [wec] = co_await socket_->async_wait(tcp::socket::wait_read, core::use_nothrow);
            if (wec) co_return Result{wec, {}};
        }
        resumed = false;
        if (!socket_->is_open()) {
            co_return Result{boost::system::error_code(asio::error::operation_aborted), {}};
        }
        // Taken after the wait: the strand may resume this coroutine on another io thread.
        const std::span<std::byte> scratch = read_scratch().first(max);
        boost::system::error_code ec;
        if (!socket_->non_blocking()) socket_->non_blocking(true, ec);
        const std::size_t n = socket_->read_some(asio::buffer(scratch.data(), scratch.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;  // spurious
        if (!ec) bulk_ = core::BulkLane::is_bulk(n, max);
        co_return Result{ec, std::span<const std::byte>(scratch.data(), ec ? 0 : n)};
    }
}

std::size_t Stream::try_write(std::span<const std::byte> bytes, boost::system::error_code& ec) {
    ec = {};
    if (ssl_ || bytes.empty()) return 0;
    const std::size_t sent = socket_->write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        return 0;
    }
    return ec ? 0 : sent;
}

core::Task<std::error_code> Stream::tls_write(const std::byte* data, std::size_t size) {
    // Partial writes on (a record at a time); a write that wants the socket is repeated with the
    // rest once it is writable (or readable: OpenSSL may need to read first).
    while (size != 0) {
        if (!live()) co_return boost::system::error_code(asio::error::operation_aborted);
        ::ERR_clear_error();
        errno = 0;
        std::size_t n = 0;
        const int r = ::SSL_write_ex(ssl_.get(), data, size, &n);
        if (r == 1) {
            data += n;
            size -= n;
            continue;
        }
        const Outcome o = outcome_of(r, errno);
        if (o.ec) co_return o.ec;
        if (auto ec = co_await wait_for(o.want)) co_return ec;
    }
    co_return std::error_code{};
}

core::Task<std::pair<std::error_code, std::size_t>> Stream::write(
    const std::vector<asio::const_buffer>& buffers) {
    if (!ssl_) {
        auto [ec, n] = co_await asio::async_write(*socket_, buffers, core::use_nothrow);
        co_return std::pair<std::error_code, std::size_t>{ec, n};
    }
    // An SSL write takes one buffer: many small chunks would each become a record. Pack them into
    // records of up to kTlsRecordBytes; a buffer that fills a record alone goes as it is.
    std::size_t total = 0;
    for (const asio::const_buffer& b : buffers) {
        const auto* p = static_cast<const std::byte*>(b.data());
        std::size_t left = b.size();
        if (tls_out_.empty() && left >= kTlsRecordBytes) {
            if (auto ec = co_await tls_write(p, left)) {
                co_return std::pair<std::error_code, std::size_t>{ec, total};
            }
            total += left;
            continue;
        }
        while (left != 0) {
            const std::size_t take = std::min(left, kTlsRecordBytes - tls_out_.size());
            tls_out_.insert(tls_out_.end(), p, p + take);
            p += take;
            left -= take;
            if (tls_out_.size() == kTlsRecordBytes) {
                const std::size_t n = tls_out_.size();
                if (auto ec = co_await flush_out()) {
                    co_return std::pair<std::error_code, std::size_t>{ec, total};
                }
                total += n;
            }
        }
    }
    if (!tls_out_.empty()) {
        const std::size_t n = tls_out_.size();
        if (auto ec = co_await flush_out())
            co_return std::pair<std::error_code, std::size_t>{ec, total};
        total += n;
    }
    if (tls_out_.capacity() > kTlsRecordBytes) std::vector<std::byte>().swap(tls_out_);
    co_return std::pair<std::error_code, std::size_t>{std::error_code{}, total};
}

core::Task<std::error_code> Stream::flush_out() {
    const std::error_code ec = co_await tls_write(tls_out_.data(), tls_out_.size());
    tls_out_.clear();
    co_return ec;
}

core::Task<std::error_code> Stream::drive_shutdown() {
    for (;;) {
        if (!live()) co_return boost::system::error_code(asio::error::operation_aborted);
        ::ERR_clear_error();
        errno = 0;
        const int r = ::SSL_shutdown(ssl_.get());
        if (r == 1) co_return std::error_code{};  // both close_notify: done
        if (r == 0) {                             // ours is out; the peer's is awaited (reading)
            if (auto ec = co_await wait_for(SSL_ERROR_WANT_READ)) co_return ec;
            continue;
        }
        const Outcome o = outcome_of(r, errno);
        if (o.ec) co_return o.ec;
        if (auto ec = co_await wait_for(o.want)) co_return ec;
    }
}

core::Task<void> Stream::shutdown() {
    if (!ssl_ || !live()) co_return;
    asio::steady_timer bound(socket().get_executor(), kTlsShutdownBound);
    using namespace asio::experimental::awaitable_operators;
    // close_notify goes out at once; the wait for the peer's is bounded (many never send it).
    (void)co_await (drive_shutdown() || bound.async_wait(core::use_nothrow));
}

void Stream::close() {
    boost::system::error_code ignored;
    tcp::socket& s = socket();
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
}

void Stream::reset() {
    boost::system::error_code ignored;
    tcp::socket& s = socket();
    s.set_option(asio::socket_base::linger(true, 0), ignored);
    s.close(ignored);
}

std::string peer_string(const Stream& stream) {
    return stream.peer() ? endpoint_string(*stream.peer()) : "?";
}

asio::ip::address peer_address(const Stream& stream) {
    return stream.peer() ? stream.peer()->address() : asio::ip::address();
}

bool is_eof(const std::error_code& ec) {
    static const std::error_code eof = boost::system::error_code(asio::error::eof);
    return ec == eof;
}

std::string tls_failure(Stream& stream, const std::error_code& ec) {
    if (ec == std::errc::timed_out) {
        return "no handshake within " + std::to_string(kHandshakeTimeout.count() / 1000) + " s";
    }
    if (SSL* ssl = stream.ssl(); ssl != nullptr) {
        const long verify = ::SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
            return std::string("peer certificate refused: ") +
                   ::X509_verify_cert_error_string(verify);
        }
    }
    static const std::error_code ssl_error = boost::system::error_code(
        static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)),
        asio::error::get_ssl_category());
    if (ec.category() == ssl_error.category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
            SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        return "the peer presented no certificate (mutual TLS)";
    }
    static const std::error_code truncated =
        boost::system::error_code(asio::ssl::error::stream_truncated);
    if (is_eof(ec) || ec == truncated) return "the peer closed during the handshake";
    return ec.message();
}

std::size_t Stream::available() const {
    if (ssl_) {
        const int pending = ::SSL_pending(ssl_.get());
        return pending > 0 ? static_cast<std::size_t>(pending) : 0;
    }
    if (!socket_->is_open()) return 0;
    boost::system::error_code ec;
    const std::size_t n = socket_->available(ec);
    return ec ? 0 : n;
}

}  // namespace sg::modes::common
