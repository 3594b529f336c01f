// client_config.h: what one `serialgate realcom` port is (device, port number, link, TCP ports,
// the framing a pty cannot carry), its defaults (spec §1), and the YAML file that lists several
// (docs/realcom-client.md). Parsed at the edge (STYLE.md §3.7): the `realcom` command builds
// PortSpecs from its command line or from the file, then hands typed values to Client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/real_com/termios_map.h"
#include "core/result.h"

namespace sg::client::real_com {

/// Port numbers accepted (as SerialGate's own ports).
inline constexpr std::uint32_t kMaxPortNumber = 4096;

struct PortSpec {
    std::string device;              // host name or address of the NPort / SerialGate
    std::uint32_t port = 1;          // the device's serial port number, 1-based
    std::string link;                // as given; Link::resolve() makes it a path
    std::uint16_t data_port = 0;     // 0: 949 + port (spec §1)
    std::uint16_t command_port = 0;  // 0: 965 + port
    FixedFraming framing;            // data bits and parity sent to the device
    bool operator==(const PortSpec&) const = default;
};

/// Fills the TCP ports left at 0 with the device's defaults, 949 + N and 965 + N (spec §1; a
/// real NPort numbers its ports 17..32 differently, 965 + N and 981 + N: give those explicitly).
void fill_defaults(PortSpec& spec);

/// Range and presence checks of one spec (after fill_defaults); the message names `where`.
core::Status validate(const PortSpec& spec, const std::string& where);

/// The `--config` file: a YAML list of {device, port, link, data_port, command_port, data_bits,
/// parity}. Every problem is reported as `source:line:column: [i].key: message`, all at once;
/// any problem yields no ports (exit 3). Defaults are filled in; links must differ.
core::Result<std::vector<PortSpec>> parse_config(std::string_view text, std::string_view source);

}  // namespace sg::client::real_com
