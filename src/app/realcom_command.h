// realcom_command.h: `serialgate realcom` (docs/realcom-client.md, docs/cli.md), the host-side
// Real COM client. main.cpp fills RealcomOptions from the command line and calls realcom().
#pragma once

#include <cstdint>
#include <string>

namespace sg::app {

struct RealcomOptions {
    // One port from the command line...
    std::string device;              // host name or address of the device
    std::uint32_t port = 0;          // the device's serial port number (1-based)
    std::string link;                // the name applications open
    std::uint16_t data_port = 0;     // 0: 949 + port
    std::uint16_t command_port = 0;  // 0: 965 + port
    unsigned data_bits = 8;          // a pty cannot carry data bits and parity: fixed per port
    std::string parity = "none";
    // ... or several from a file.
    std::string config_file;
    // Secure Connection (issue 11 item 3), for every port: TLS on the data and command channels,
    // the device's chain checked against `ca_file` and its name against the host given; a
    // client certificate for `encrypted_authenticated` devices.
    bool tls = false;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    bool no_verify = false;
};

/// Runs until SIGTERM/SIGINT; SIGUSR1 logs one status line per port. Exit codes as docs/cli.md.
int realcom(const RealcomOptions& options);

}  // namespace sg::app
