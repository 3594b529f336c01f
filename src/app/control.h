// control.h: the local control socket of a running `serve` (DATA_DIR/control.sock, reachable only
// by the data directory's owner: the directory is 0700). One request line, one JSON answer, then
// close. `serialgate status` is its client; the port monitor (issue 5 §8) reads through it until
// the HTTPS API exists, and later the API reads the same status_json().
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "config/settings.h"
#include "core/asio.h"
#include "core/result.h"
#include "port/port.h"

namespace sg::app {

/// The port monitor's view: every configured port, with live status where the port runs.
nlohmann::json status_json(const config::Config& config, bool data_plane_on,
                           const std::vector<port::PortStatus>& running);

class ControlServer {
public:
    using Handler = std::function<nlohmann::json(const std::string& request)>;

    ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler);
    ~ControlServer();
    core::Status start();
    void stop();

private:
    core::Task<void> accept_loop();
    core::Task<void> serve_one(asio::local::stream_protocol::socket socket);

    asio::io_context& io_;
    std::filesystem::path path_;
    Handler handler_;
    asio::local::stream_protocol::acceptor acceptor_;
};

/// Client side: sends `request`, returns the answer text.
core::Result<std::string> control_request(const std::filesystem::path& socket_path,
                                          const std::string& request);

}  // namespace sg::app
