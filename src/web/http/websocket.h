// websocket.h: how an API handler turns a request into a WebSocket (issue 13 item 4, the live
// serial monitor). The server reads a WebSocket upgrade request like any other and gives the
// handler a place (Peer::upgrade) to leave a WebSocketFeed; when the handler answers 101 with a
// feed there, the server accepts the WebSocket on the same TLS connection and from then on sends
// what the feed gives it. Read-only by design: what the browser sends is read (for ping and close)
// and dropped. Every refusal (no session, privilege, Origin, caps) is the handler's, as a normal
// HTTP answer before any upgrade.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace sg::web::http {

/// One WebSocket's source of messages. Called on the connection's strand, never concurrently.
class WebSocketFeed {
public:
    virtual ~WebSocketFeed() = default;
    struct Step {
        std::string text;    // a text message to send now; empty: nothing this time
        bool close = false;  // close the WebSocket (after `text`, if any) with this code and reason
        std::uint16_t code = 1000;
        std::string reason;  // short, sent to the browser
    };
    /// Every poll_interval() while the WebSocket is open and the previous message went out. Must
    /// not block (no SQLite, no Argon2id).
    virtual Step poll() = 0;
    /// Once, when the WebSocket has ended for any reason (`why`: "closed by the client", "session
    /// ended", "server stopping", "write timeout", ...), including a failed accept.
    virtual void ended(std::string_view why) = 0;
    virtual std::chrono::milliseconds poll_interval() const {
        return std::chrono::milliseconds(50);
    }
};

/// Set in Peer::upgrade only for a WebSocket upgrade request (RFC 6455 §4.2.1).
struct Upgrade {
    std::shared_ptr<WebSocketFeed> feed;  // set by the handler that answers 101
};

}  // namespace sg::web::http
