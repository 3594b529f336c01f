// open.cpp: serial::open(), the one entry point port::Port uses to get a Device. Runs on the
// port's strand (the device is bound to it). "sim:" names go to the simulated backend, anything
// else is a tty or pty path, opened only when system.allowed_devices allows it; the settings are
// applied before the device is handed out, so a port never runs with a line it could not
// configure.
#include <cerrno>

#include "config/devices.h"
#include "serial/device.h"
#include "serial/sim_device.h"
#include "serial/termios_device.h"

namespace sg::serial {

namespace {

template <typename Backend>
core::Result<DevicePtr> configured(core::Result<std::unique_ptr<Backend>> opened,
                                   const config::SerialSettings& settings) {
    if (!opened) return opened.error();
    std::unique_ptr<Backend> device = std::move(opened).value();
    // The error carries the sentence ("interface rs485_2wire not supported by driver of
    // /dev/ttyS1") that open()'s caller reports.
    if (auto st = device->configure(settings); !st) {
        device->close();
        return st.error();
    }
    return DevicePtr(std::move(device));
}

}  // namespace

core::Result<DevicePtr> open(core::Strand strand, const std::string& path,
                             const config::SerialSettings& settings,
                             std::span<const std::string> allowed_devices) {
    if (config::is_sim_device(path))
        return configured(SimDevice::open(std::move(strand), path), settings);
    // Issue 14 item 12, defence in depth: config::validate() refused such a port already. On the
    // text alone, before any file-system access, so the refusal is the same for every path.
    if (!config::device_allowed(allowed_devices, path)) {
        return core::Error{std::error_code(EACCES, std::generic_category()),
                           config::device_not_allowed_message(path)};
    }
    return configured(TermiosDevice::open(std::move(strand), path), settings);
}

}  // namespace sg::serial
