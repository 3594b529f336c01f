// client.h: one port of `serialgate realcom`, the host-side Real COM driver in user space
// (shared/specs/realcom-aspp.md; docs/realcom-client.md). It offers a pty whose slave is reached
// through a stable symlink, and while an application holds the slave open it keeps a session
// with the device: data channel ⇄ pty master, and on the command channel PORT_INIT at connect,
// the application's termios changes, flushes, and answers to the device's alive polls.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/real_com/client_config.h"
#include "core/asio.h"
#include "core/result.h"

namespace sg::client::real_com {

/// Bytes the application wrote that wait for the device. A full queue stops the pty reads (the
/// application's write() blocks, as on a slow serial line), except while the device is
/// unreachable (between failed connection attempts): then bytes beyond it are dropped and
/// counted, so that an outage does not hang the application.
inline constexpr std::size_t kPtyQueueBytes = 16 * 1024;

/// TLS on both channels (`realcom --tls`, issue 11 item 3): the context (security/certs
/// make_client_context: the one profile, trusting only the --ca file, with the --cert/--key pair
/// for `encrypted_authenticated` devices), and whether the device's chain and name (SAN: DNS or IP
/// of PortSpec::device) are checked. No context: plain TCP, as against a plain device.
struct TlsOptions {
    std::shared_ptr<boost::asio::ssl::context> context;
    bool verify = true;  // false (--no-verify): a Warning at every connect
};

/// Most a TLS handshake with the device may take before the attempt counts as failed.
inline constexpr std::chrono::milliseconds kTlsHandshakeTimeout{10000};

class Client {
public:
    /// Opens the pty and points the link at its slave. Synchronous, before the io_context runs;
    /// an error means this port cannot run (the command exits 1).
    static core::Result<std::unique_ptr<Client>> create(asio::io_context& io, const PortSpec& spec,
                                                        TlsOptions tls = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Starts watching the pty; a session is made when an application opens the link.
    void start();
    /// Ends the session (queued bytes go to the device first, bounded), stops watching the pty
    /// and removes the link; `done` runs on the client's strand once nothing of it runs.
    void stop(std::function<void()> done);
    /// One line for the log: state, line settings, the device's line state, counters. Call on
    /// strand().
    std::string status_line() const;
    const core::Strand& strand() const;

    class Impl;

private:
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sg::client::real_com
