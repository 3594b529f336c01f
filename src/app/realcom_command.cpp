// realcom_command.cpp: `serialgate realcom` — the host-side Real COM client
// (docs/realcom-client.md). Builds the port list from the command line or a YAML file, creates
// each port's pty and link (client/real_com), and runs them on one io_context on the main thread
// until SIGTERM/SIGINT, which stop every port gracefully and remove the links. SIGUSR1 logs one
// status line per port.
#include "app/realcom_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <memory>
#include <variant>
#include <vector>

#include "app/exit_codes.h"
#include "client/real_com/client.h"
#include "client/real_com/client_config.h"
#include "core/asio.h"
#include "core/files.h"
#include "security/certs/certificate.h"
#include "security/certs/tls_profile.h"

namespace sg::app {

namespace {

namespace rc = client::real_com;

constexpr std::size_t kMaxConfigBytes = 1 << 20;

config::Parity parity_of(const std::string& s) {
    if (s == "odd") return config::Parity::Odd;
    if (s == "even") return config::Parity::Even;
    if (s == "mark") return config::Parity::Mark;
    if (s == "space") return config::Parity::Space;
    return config::Parity::None;
}

/// The ports to run, or an exit code.
std::variant<std::vector<rc::PortSpec>, int> specs_of(const RealcomOptions& o) {
    const bool one = !o.device.empty() || o.port != 0 || !o.link.empty();
    if (!o.config_file.empty()) {
        if (one) {
            fmt::print(stderr,
                       "serialgate realcom: --config cannot be combined with --device, "
                       "--port or --link\n");
            return kExitUsage;
        }
        auto text = core::read_file(o.config_file, kMaxConfigBytes);
        if (!text) {
            fmt::print(stderr, "serialgate realcom: {}\n", text.error().message);
            return kExitInvalid;
        }
        auto specs = rc::parse_config(*text, o.config_file);
        if (!specs) {
            fmt::print(stderr, "{}\n", specs.error().message);
            return kExitInvalid;
        }
        return std::move(*specs);
    }
    if (o.device.empty() || o.port == 0 || o.link.empty()) {
        fmt::print(stderr,
                   "serialgate realcom: give --device HOST --port N --link PATH, or "
                   "--config FILE (see --help)\n");
        return kExitUsage;
    }
    rc::PortSpec s;
    s.device = o.device;
    s.port = o.port;
    s.link = o.link;
    s.data_port = o.data_port;
    s.command_port = o.command_port;
    s.framing.data_bits = static_cast<std::uint8_t>(o.data_bits);
    s.framing.parity = parity_of(o.parity);
    rc::fill_defaults(s);
    if (auto st = rc::validate(s, "serialgate realcom"); !st) {
        fmt::print(stderr, "{}\n", st.error().message);
        return kExitUsage;
    }
    return std::vector<rc::PortSpec>{s};
}

/// The TLS options of every port (issue 11 item 3), or an exit code.
std::variant<rc::TlsOptions, int> tls_of(const RealcomOptions& o) {
    if (!o.tls) {
        if (!o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty() || o.no_verify) {
            fmt::print(stderr,
                       "serialgate realcom: --ca, --cert, --key and --no-verify need --tls\n");
            return kExitUsage;
        }
        return rc::TlsOptions{};
    }
    if (o.cert_file.empty() != o.key_file.empty()) {
        fmt::print(stderr, "serialgate realcom: --cert and --key go together\n");
        return kExitUsage;
    }
    if (o.ca_file.empty() && !o.no_verify) {
        fmt::print(stderr,
                   "serialgate realcom: --tls checks the device's certificate against --ca FILE "
                   "(its CA, or the device's own certificate when self-signed); give it, or "
                   "--no-verify to skip the check\n");
        return kExitUsage;
    }
    std::string ca;
    if (!o.ca_file.empty()) {
        auto text = core::read_file(o.ca_file, security::certs::kMaxTrustedPemBytes);
        if (!text) {
            fmt::print(stderr, "serialgate realcom: {}\n", text.error().message);
            return kExitInvalid;
        }
        ca = std::move(*text);
    }
    core::Result<std::shared_ptr<boost::asio::ssl::context>> ctx =
        core::make_error(core::Errc::invalid_config, "");
    if (o.cert_file.empty()) {
        ctx = security::certs::make_client_context(ca);
    } else {
        auto cert = core::read_file(o.cert_file, security::certs::kMaxPemBytes);
        auto key = core::read_file(o.key_file, security::certs::kMaxPemBytes);
        if (!cert || !key) {
            fmt::print(stderr, "serialgate realcom: {}\n",
                       (!cert ? cert.error() : key.error()).message);
            return kExitInvalid;
        }
        const security::Secret key_pem(std::move(*key));
        ctx = security::certs::make_client_context(ca, *cert, key_pem);
    }
    if (!ctx) {
        fmt::print(stderr, "serialgate realcom: {}\n", ctx.error().message);
        return kExitInvalid;
    }
    return rc::TlsOptions{std::move(*ctx), !o.no_verify};
}

class Runner {
public:
    explicit Runner(std::vector<std::unique_ptr<rc::Client>>& clients, asio::io_context& io)
        : clients_(clients), io_(io), signals_(io, SIGTERM, SIGINT, SIGUSR1) {}

    void run() {
        for (auto& c : clients_) c->start();
        wait_signal();
        io_.run();
    }

private:
    void wait_signal() {
        signals_.async_wait([this](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (sig == SIGUSR1) {
                for (auto& c : clients_) {
                    asio::dispatch(c->strand(),
                                   [&c] { spdlog::info("status: {}", c->status_line()); });
                }
                wait_signal();
                return;
            }
            if (stopping_) {  // a second signal: do not wait for the graceful end
                spdlog::warn("signal {} again: stopping now", sig);
                io_.stop();
                return;
            }
            spdlog::info("signal {}: stopping (sessions closed, links removed)", sig);
            stopping_ = true;
            left_ = clients_.size();
            for (auto& c : clients_) {
                c->stop([this] {
                    // On the client's strand; the count is shared, so it moves to one place.
                    asio::post(io_, [this] {
                        if (--left_ == 0) {
                            signals_.cancel();
                            io_.stop();
                        }
                    });
                });
            }
            wait_signal();
        });
    }

    std::vector<std::unique_ptr<rc::Client>>& clients_;
    asio::io_context& io_;
    asio::signal_set signals_;
    bool stopping_ = false;
    std::size_t left_ = 0;
};

}  // namespace

int realcom(const RealcomOptions& options) {
    auto specs = specs_of(options);
    if (const int* code = std::get_if<int>(&specs)) return *code;
    auto tls = tls_of(options);
    if (const int* code = std::get_if<int>(&tls)) return *code;

    asio::io_context io{1};
    std::vector<std::unique_ptr<rc::Client>> clients;
    for (const auto& spec : std::get<0>(specs)) {
        auto client = rc::Client::create(io, spec, std::get<rc::TlsOptions>(tls));
        if (!client) {
            spdlog::error("{}: {}", spec.link, client.error().message);
            return kExitFailure;  // the links made so far go with `clients`
        }
        clients.push_back(std::move(*client));
    }
    Runner runner(clients, io);
    runner.run();
    return kExitOk;
}

}  // namespace sg::app
