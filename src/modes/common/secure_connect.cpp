// secure_connect.cpp: TLS client handshake of TCP Client links and the Pair master
// (secure_connect.h). Called on the port strand from their connect loops.
#include "modes/common/secure_connect.h"

#include "modes/common/listener.h"

namespace sg::modes::common {

core::Task<std::optional<Stream>> secure_connect(PortContext& ctx, asio::ip::tcp::socket socket,
                                                 const SecureTarget& target, std::string& why,
                                                 Stream*& handshaking) {
    if (target.level == config::Security::Plain) co_return Stream(std::move(socket));
    auto refused = [&ctx, &target](const std::string& text) {
        ctx.stats.refused_tls.fetch_add(1, std::memory_order_relaxed);
        ctx.events.emit_limited(events::types::kTlsRefused, {.port = ctx.id, .source = target.host},
                                "port " + std::to_string(ctx.id) + ", " + target.who + ": " + text,
                                kTlsEventLimit);
    };
    auto tls = ctx.tls != nullptr ? ctx.tls->client() : nullptr;
    if (!tls) {
        why = "TLS: no device certificate in force";
        refused(why);
        co_return std::nullopt;
    }
    Stream stream(std::move(socket), std::move(tls));
    if (auto st = security::certs::TlsContexts::prepare_client(
            stream.ssl(), {.host = target.host, .verify = target.verify});
        !st.ok()) {
        why = "TLS: " + st.error().message;
        refused(why);
        stream.close();
        co_return std::nullopt;
    }
    handshaking = &stream;
    const std::error_code ec = co_await stream.handshake(asio::ssl::stream_base::client);
    handshaking = nullptr;
    if (ec) {
        why = "TLS handshake failed: " + tls_failure(stream, ec);
        refused(why);
        stream.close();
        co_return std::nullopt;
    }
    if (!target.verify) {
        // An explicit opt-out, and still a risk: said at every connect made so (issue 11 item 3).
        ctx.events.emit(events::types::kTlsUnverified, {.port = ctx.id, .source = target.host},
                        "port " + std::to_string(ctx.id) + ", " + target.who +
                            ": the server's certificate and name were not checked (verify: false)");
    }
    co_return std::optional<Stream>(std::move(stream));
}

}  // namespace sg::modes::common
