// control.cpp: the control socket. Runs on the serve io_context (the io thread, which also owns the
// port manager, so status reads need no locking — ADR 0001). Each request is bounded in size and
// time: a client that sends nothing is dropped after kRequestTimeout.
#include "app/control.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/clock.h"

namespace sg::app {

namespace {
constexpr std::size_t kMaxRequest = 256;
constexpr std::chrono::seconds kRequestTimeout{2};
constexpr const char* kVirtualLinesNote = "virtual (device has no modem lines)";

nlohmann::json serial_json(const config::SerialSettings& s) {
    return {{"baud", s.baud},
            {"data_bits", s.data_bits},
            {"parity", config::to_string(s.parity)},
            {"stop_bits", config::to_string(s.stop_bits)},
            {"flow_control", config::to_string(s.flow_control)},
            {"interface", config::to_string(s.interface)}};
}
}  // namespace

nlohmann::json status_json(const config::Config& config, bool data_plane_on,
                           const std::vector<port::PortStatus>& running) {
    auto ports = nlohmann::json::array();
    for (const auto& pc : config.ports) {
        nlohmann::json p = {{"number", pc.number},
                            {"alias", pc.alias},
                            {"device", pc.device},
                            {"mode", config::mode_type_name(pc.mode)}};
        const port::PortStatus* st = nullptr;
        for (const auto& r : running) {
            if (r.number == pc.number) st = &r;
        }
        if (!st) {
            p["state"] = data_plane_on ? "starting" : "off: no account exists yet";
            p["serial"] = nullptr;
            p["modem"] = nullptr;
            p["line_errors"] = nullptr;
            p["counters"] = nullptr;
            p["peers"] = nlohmann::json::array();
            ports.push_back(std::move(p));
            continue;
        }
        p["state"] = st->state;
        if (st->mode_status) p["mode_state"] = st->mode_status->state;
        p["serial"] = st->serial ? serial_json(*st->serial) : nlohmann::json();
        p["configured_serial"] = serial_json(pc.serial);
        if (st->modem && st->modem_virtual) {
            // RTS/DTR as a client last asked; no input is known (issue 12).
            p["modem"] = {{"rts", st->modem->rts}, {"dtr", st->modem->dtr},    {"cts", nullptr},
                          {"dsr", nullptr},        {"dcd", nullptr},           {"ri", nullptr},
                          {"virtual", true},       {"note", kVirtualLinesNote}};
        } else if (st->modem) {
            p["modem"] = {{"rts", st->modem->rts}, {"dtr", st->modem->dtr}, {"cts", st->modem->cts},
                          {"dsr", st->modem->dsr}, {"dcd", st->modem->dcd}, {"ri", st->modem->ri},
                          {"virtual", false}};
        } else {
            p["modem"] = nullptr;
        }
        p["line_errors"] = {{"framing", st->line_errors.framing},
                            {"parity", st->line_errors.parity},
                            {"overrun", st->line_errors.overrun},
                            {"breaks", st->line_errors.breaks}};
        p["counters"] = {
            {"serial_rx_bytes", st->serial_rx_bytes}, {"serial_tx_bytes", st->serial_tx_bytes},
            {"net_rx_bytes", st->net_rx_bytes},       {"net_tx_bytes", st->net_tx_bytes},
            {"connections", st->connections},         {"refused", st->refused},
            {"jammed_drops", st->jammed_drops},       {"refused_allowlist", st->refused_allowlist},
            {"refused_tls", st->refused_tls}};
        p["counters"]["refused_dos"] = st->refused_dos;  // guide §3.7, NE-5
        auto peers = nlohmann::json::array();
        if (st->mode_status) {
            for (const auto& peer : st->mode_status->peers) {
                peers.push_back({{"address", peer.address},
                                 {"connected_at", core::format_utc(peer.connected_at_us)},
                                 {"tx_bytes", peer.tx_bytes},
                                 {"rx_bytes", peer.rx_bytes}});
            }
        }
        p["peers"] = std::move(peers);
        ports.push_back(std::move(p));
    }
    return {{"device_name", config.system.device_name},
            {"data_plane", data_plane_on ? "on" : "off"},
            {"time", core::format_utc(core::now_utc_us())},
            {"ports", std::move(ports)}};
}

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path,
                             Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io) {}

ControlServer::~ControlServer() {
    stop();
}

core::Status ControlServer::start() {
    // A stale socket from a killed serve: we hold the data directory's serve lock, so no live
    // serve owns it.
    std::error_code fec;
    std::filesystem::remove(path_, fec);
    boost::system::error_code ec;
    asio::local::stream_protocol::endpoint ep(path_.string());
    if (acceptor_.open(ep.protocol(), ec); ec)
        return core::Error{ec, "control socket: " + ec.message()};
    const mode_t old = ::umask(077);
    acceptor_.bind(ep, ec);
    ::umask(old);
    if (ec) return core::Error{ec, "control socket " + path_.string() + ": " + ec.message()};
    if (acceptor_.listen(8, ec); ec) return core::Error{ec, "control socket: " + ec.message()};
    asio::co_spawn(io_, accept_loop(), asio::detached);  // ends when the acceptor closes
    return {};
}

void ControlServer::stop() {
    if (!acceptor_.is_open()) return;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    std::error_code fec;
    std::filesystem::remove(path_, fec);
}

core::Task<void> ControlServer::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(core::use_nothrow);
        if (ec) co_return;
        asio::co_spawn(io_, serve_one(std::move(socket)), asio::detached);
    }
}

core::Task<void> ControlServer::serve_one(asio::local::stream_protocol::socket socket) {
    std::string request;
    asio::steady_timer deadline(io_, kRequestTimeout);
    deadline.async_wait([&socket](boost::system::error_code ec) {
        if (!ec) socket.close();
    });
    auto [ec, n] = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(request, kMaxRequest), '\n', core::use_nothrow);
    deadline.cancel();
    if (ec) co_return;
    request.resize(n - 1);
    std::string answer;
    try {
        answer = handler_(request).dump(2) + "\n";
    } catch (const std::exception& e) {
        answer = nlohmann::json{{"error", e.what()}}.dump() + "\n";
    }
    (void)co_await asio::async_write(socket, asio::buffer(answer), core::use_nothrow);
}

core::Result<std::string> control_request(const std::filesystem::path& socket_path,
                                          const std::string& request) {
    asio::io_context io;
    asio::local::stream_protocol::socket s(io);
    boost::system::error_code ec;
    s.connect(asio::local::stream_protocol::endpoint(socket_path.string()), ec);
    if (ec) return core::Error{ec, ec.message()};
    std::string line = request + "\n";
    asio::write(s, asio::buffer(line), ec);
    if (ec) return core::Error{ec, ec.message()};
    std::string out;
    asio::read(s, asio::dynamic_buffer(out, 16 << 20), ec);
    if (ec && ec != asio::error::eof) return core::Error{ec, ec.message()};
    return out;
}

}  // namespace sg::app
