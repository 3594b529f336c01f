// stream.cpp: a mode's TCP connection, plain or TLS (stream.h). Called on the port strand by the
// sessions, command channels and links of the TCP modes, and by the Listener's handshakes.
#include "modes/common/stream.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/bulk_lane.h"
#include "modes/common/read_scratch.h"
#include "modes/common/tcp_options.h"

namespace sg::modes::common {

using asio::ip::tcp;

namespace {

std::optional<tcp::endpoint> remote_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return std::nullopt;
    return ep;
}

}  // namespace

Stream::Stream(tcp::socket socket, std::optional<tcp::endpoint> peer)
    : peer_(peer ? std::move(peer) : remote_of(socket)), plain_(std::move(socket)) {}

Stream::Stream(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
               std::optional<tcp::endpoint> peer)
    : peer_(peer ? std::move(peer) : remote_of(socket)),
      tls_(std::move(tls)),
      ssl_(std::make_unique<Ssl>(std::move(socket), *tls_)),
      // Not zeroed: its pages are touched (resident) only when a record is read into them.
      tls_in_(std::make_unique_for_overwrite<std::byte[]>(kTlsReadBytes)) {}

core::Task<std::error_code> Stream::handshake(asio::ssl::stream_base::handshake_type type,
                                              std::chrono::milliseconds timeout) {
    if (!ssl_) co_return std::error_code{};
    asio::steady_timer deadline(socket().get_executor(), timeout);
    using namespace asio::experimental::awaitable_operators;
    // The group waits for both: the loser is cancelled and completes before we go on.
    auto outcome = co_await (ssl_->async_handshake(type, core::use_nothrow) ||
                             deadline.async_wait(core::use_nothrow));
    if (outcome.index() == 1) co_return std::make_error_code(std::errc::timed_out);
    auto [ec] = std::get<0>(outcome);
    co_return ec;
}

core::Task<std::pair<std::error_code, std::span<const std::byte>>> Stream::read_some(
    std::size_t max) {
    using Result = std::pair<std::error_code, std::span<const std::byte>>;
    max = std::clamp<std::size_t>(max, 1, core::limits::kNetReadBytes);
    // Issue 12 item 2: the last read was a full turn (the peer streams): this one waits in the
    // bulk lane first, so that quiet connections and ports are not queued behind every streaming
    // one's turn. Resumed there, a plain read goes straight to the socket (below), inside the
    // lane's drain; a quiet connection never enters the lane.
    bool resumed = false;
    if (bulk_) {
        bulk_ = false;
        if (core::BulkLane* lane = core::BulkLane::of(socket().get_executor())) {
            co_await lane->yield();
            resumed = true;
        }
    }
    if (ssl_) {
        auto [ec, n] = co_await ssl_->async_read_some(
            asio::buffer(tls_in_.get(), std::min(max, kTlsReadBytes)), core::use_nothrow);
        // A peer that ends without close_notify looks like a truncated stream: an end like EOF.
        if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
        if (!ec) bulk_ = core::BulkLane::is_bulk(n, std::min(max, kTlsReadBytes));
        co_return Result{ec, std::span<const std::byte>(tls_in_.get(), ec ? 0 : n)};
    }
    for (;;) {
        if (!resumed) {
            auto [wec] = co_await plain_->async_wait(tcp::socket::wait_read, core::use_nothrow);
            if (wec) co_return Result{wec, {}};
        }
        resumed = false;
        if (!plain_->is_open()) {
            co_return Result{boost::system::error_code(asio::error::operation_aborted), {}};
        }
        // Taken after the wait: the strand may resume this coroutine on another io thread.
        const std::span<std::byte> scratch = read_scratch().first(max);
        boost::system::error_code ec;
        if (!plain_->non_blocking()) plain_->non_blocking(true, ec);
        const std::size_t n = plain_->read_some(asio::buffer(scratch.data(), scratch.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;  // spurious
        if (!ec) bulk_ = core::BulkLane::is_bulk(n, max);
        co_return Result{ec, std::span<const std::byte>(scratch.data(), ec ? 0 : n)};
    }
}

std::size_t Stream::try_write(std::span<const std::byte> bytes, boost::system::error_code& ec) {
    ec = {};
    if (ssl_ || bytes.empty()) return 0;
    const std::size_t sent = plain_->write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
        ec = {};
        return 0;
    }
    return ec ? 0 : sent;
}

core::Task<std::pair<std::error_code, std::size_t>> Stream::write(
    const std::vector<asio::const_buffer>& buffers) {
    if (!ssl_) {
        auto [ec, n] = co_await asio::async_write(*plain_, buffers, core::use_nothrow);
        co_return std::pair<std::error_code, std::size_t>{ec, n};
    }
    // An SSL write takes one buffer: many small chunks would each become a record. Pack them into
    // records of up to kTlsRecordBytes; a buffer that fills a record alone goes as it is.
    std::size_t total = 0;
    for (const asio::const_buffer& b : buffers) {
        const auto* p = static_cast<const std::byte*>(b.data());
        std::size_t left = b.size();
        if (tls_out_.empty() && left >= kTlsRecordBytes) {
            auto [ec, n] = co_await asio::async_write(*ssl_, b, core::use_nothrow);
            if (ec) co_return std::pair<std::error_code, std::size_t>{ec, total};
            total += n;
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
    auto [ec, n] = co_await asio::async_write(*ssl_, asio::buffer(tls_out_), core::use_nothrow);
    tls_out_.clear();
    co_return ec;
}

core::Task<void> Stream::shutdown() {
    if (!ssl_ || !socket().is_open()) co_return;
    asio::steady_timer bound(socket().get_executor(), kTlsShutdownBound);
    using namespace asio::experimental::awaitable_operators;
    // close_notify goes out at once; the wait for the peer's is bounded (many never send it).
    (void)co_await (ssl_->async_shutdown(core::use_nothrow) || bound.async_wait(core::use_nothrow));
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
        const int pending = ::SSL_pending(ssl_->native_handle());
        return pending > 0 ? static_cast<std::size_t>(pending) : 0;
    }
    if (!plain_->is_open()) return 0;
    boost::system::error_code ec;
    const std::size_t n = plain_->available(ec);
    return ec ? 0 : n;
}

}  // namespace sg::modes::common
