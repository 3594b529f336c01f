// sim_device.h: simulated serial lines for the demo, the tests and benchmarks (STYLE.md §2,
// serial/): a loopback plug, an echoing device, both ends of a null-modem cable and a traffic
// generator, with line settings, modem lines, breaks, flow control and fault injection modelled
// well enough that a mode cannot tell them from a tty except by speed (no baud-rate pacing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "serial/device.h"

namespace sg::serial {

/// The operations fault injection can fail.
enum class SimOp { Read, Write, Configure };

class SimDevice final : public Device {
public:
    /// Opens a simulated line by name:
    ///   sim:loopback            TX wired to RX, RTS to CTS, DTR to DSR and DCD
    ///   sim:echo                a powered device echoing what it receives; asserts CTS/DSR/DCD
    ///   sim:null-modem:<name>   an end of a crossed cable: A for the first open, B for the second
    ///   sim:generator[:<ms>]    emits "serialgate generator line <n>\r\n" every <ms> (1000) ms
    /// Each may end in options "?fail_read=N&fail_write=N&fail_configure=N" (inject_failure()).
    /// Errors: Errc::not_found for an unknown name (the message lists the valid ones),
    /// Errc::already_exists when both ends of a null-modem are open, invalid_config for a bad
    /// option. The line has default settings until configure(); serial::open() applies them.
    static core::Result<std::unique_ptr<SimDevice>> open(core::Strand strand,
                                                         const std::string& path);

    ~SimDevice() override;
    SimDevice(const SimDevice&) = delete;
    SimDevice& operator=(const SimDevice&) = delete;
    SimDevice(SimDevice&&) = delete;
    SimDevice& operator=(SimDevice&&) = delete;

    /// Fault injection (STYLE.md §4, Beast's fail_count): the nth call of `op` from now (1 = the
    /// next) fails with EIO, and so does every later one, as a device that was unplugged; 0
    /// turns it off. Runs on the strand like every other call.
    void inject_failure(SimOp op, std::uint64_t nth);
    /// What set_flow_chars() set (XON, XOFF) and whether hold_transmit() holds: for tests.
    std::pair<std::uint8_t, std::uint8_t> flow_chars() const;
    bool transmit_held() const;

    core::Task<std::tuple<std::error_code, std::size_t>> read_some(
        std::span<std::byte> buf) override;
    core::Task<std::error_code> write(std::span<const std::byte> bytes) override;
    void abort_write() override;
    /// The bytes put on the wire (the sim has no transmit queue beyond the write in flight).
    std::uint64_t tx_progress() const override;
    /// The sim accepts every value in range and reports it back.
    core::Status configure(const config::SerialSettings& settings) override;
    core::Result<config::SerialSettings> settings() const override;
    core::Result<ModemLines> modem_lines() const override;
    std::error_code set_rts(bool on) override;
    std::error_code set_dtr(bool on) override;
    std::error_code send_break(std::chrono::milliseconds duration) override;
    std::error_code set_break(bool on) override;
    std::error_code flush(FlushDirection which) override;
    core::Result<std::size_t> output_queue() const override;
    core::Result<std::size_t> input_queue() const override;
    std::error_code set_flow_chars(std::uint8_t xon, std::uint8_t xoff) override;
    std::error_code hold_transmit(bool held) override;
    LineErrors line_errors() const override;
    void on_notification(std::function<void(const Notification&)> handler) override;
    void close() override;
    const std::string& name() const override;

    /// Implementation detail (sim_device.cpp): the line's state, shared with pending operations
    /// and the cable. Public only so that the .cpp's free helpers can name it.
    struct Endpoint;

private:
    explicit SimDevice(std::shared_ptr<Endpoint> endpoint);

    // Shared, not owned: a pending read or write keeps it alive past close() and destruction,
    // so that completing with operation_aborted never touches freed memory.
    std::shared_ptr<Endpoint> ep_;
};

}  // namespace sg::serial
