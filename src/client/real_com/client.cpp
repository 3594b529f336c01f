// client.cpp: one port of `serialgate realcom` (client.h; shared/specs/realcom-aspp.md §1, §5,
// §6): the Client facade, which creates the pty and the link and hands every call to the port's
// strand, and the status line. Created by the `realcom` command. The port's state is Client::Impl
// (client_impl.h); its pty side is in client_pty.cpp, its device side in client_session.cpp.
#include "client/real_com/client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "client/real_com/client_impl.h"
#include "client/real_com/link.h"
#include "client/real_com/pty.h"
#include "core/clock.h"

namespace sg::client::real_com {

// ---------------------------------------------------------------- status

std::string Client::Impl::status_line() const {
    std::string state;
    switch (state_) {
        case State::Idle: state = "idle (no application has the link open)"; break;
        case State::Connecting: state = "connecting to " + where_; break;
        case State::Connected:
            state = "connected to " + where_ + " since " + core::format_utc(connected_at_);
            break;
        case State::Backoff: {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - Clock::now());
            state = fmt::format("device unreachable ({}), next attempt in {:.1f} s", last_error_,
                                std::max<double>(0.0, static_cast<double>(left.count()) / 1000.0));
            break;
        }
        case State::Stopping: state = "stopping"; break;
    }
    const LineState& ls = proto_.line_state();
    const std::string lines =
        ls.known ? fmt::format("DSR {:d} CTS {:d} DCD {:d} RI {:d}", ls.dsr, ls.cts, ls.dcd, ls.ri)
                 : std::string("not reported yet");
    return fmt::format(
        "{} → {}: {}; application {}; line {}; device lines {}; line errors parity {} framing {} "
        "overrun {} break {}; to device {} B, from device {} B, dropped {} B (not delivered to "
        "the application {} B); sessions {}",
        name_, slave_path_, state, app_open_ ? "open" : "closed", describe(line_), lines,
        ls.parity_errors, ls.framing_errors, ls.overruns, ls.breaks, tx_, rx_, dropped_,
        undelivered_, sessions_);
}

// ---------------------------------------------------------------- Client

core::Result<std::unique_ptr<Client>> Client::create(asio::io_context& io, const PortSpec& spec,
                                                     TlsOptions tls) {
    auto pair = pty::open_pair();
    if (!pair) return pair.error();
    auto link = Link::create(Link::resolve(spec.link), pair->slave_path);
    if (!link) {
        ::close(pair->master);
        return link.error();
    }
    return std::unique_ptr<Client>(
        new Client(std::make_unique<Impl>(io, spec, *pair, std::move(*link), std::move(tls))));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

void Client::start() {
    asio::dispatch(impl_->strand(), [this] { impl_->start(); });
}

void Client::stop(std::function<void()> done) {
    asio::dispatch(impl_->strand(),
                   [this, done = std::move(done)]() mutable { impl_->stop(std::move(done)); });
}

std::string Client::status_line() const {
    return impl_->status_line();
}

const core::Strand& Client::strand() const {
    return impl_->strand();
}

}  // namespace sg::client::real_com
