#include "serial/sim_device.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "serial/sim_wire.h"
#include "serial/test_util.h"

namespace sg::serial {
namespace {

using testing::bytes_of;
using testing::read_exactly;
using testing::run;
using testing::settle;
using testing::write_string;
using Kind = Notification::Kind;

config::SerialSettings settings(std::uint32_t baud = 115200) {
    config::SerialSettings s;
    s.baud = baud;
    return s;
}

class SimDeviceTest : public ::testing::Test {
protected:
    DevicePtr open_sim(const std::string& path, const config::SerialSettings& s = settings(),
                       core::Strand* strand = nullptr) {
        auto dev = open(strand ? *strand : strand_, path, s);
        EXPECT_TRUE(dev.ok()) << path << ": " << (dev.ok() ? "" : dev.error().message);
        return dev.ok() ? std::move(dev).value() : nullptr;
    }
    /// Records every notification of `dev`.
    std::vector<Notification>& record(Device& dev) {
        auto& log = logs_.emplace_back(std::make_unique<std::vector<Notification>>());
        dev.on_notification([&v = *log](const Notification& n) { v.push_back(n); });
        return *log;
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    core::Strand other_strand_ = asio::make_strand(io_);
    std::vector<std::unique_ptr<std::vector<Notification>>> logs_;
};

// ---------------------------------------------------------------- loopback and echo

TEST_F(SimDeviceTest, LoopbackReturnsWhatIsWritten) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    EXPECT_EQ(dev->name(), "sim:loopback");
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "ping\r\n")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 6)), "ping\r\n");
}

TEST_F(SimDeviceTest, LoopbackBridgesRtsToCtsAndDtrToDsrAndDcd) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    auto& log = record(*dev);
    auto lines = dev->modem_lines();
    ASSERT_TRUE(lines.ok());
    EXPECT_EQ(
        *lines,
        (ModemLines{.rts = true, .dtr = true, .cts = true, .dsr = true, .dcd = true, .ri = false}));
    EXPECT_EQ(dev->virtual_lines(), std::nullopt);  // real (simulated) lines, not virtual ones

    ASSERT_FALSE(dev->set_rts(false));
    settle(io_);
    EXPECT_FALSE(dev->modem_lines()->cts);
    EXPECT_TRUE(dev->modem_lines()->dsr);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].kind, Kind::ModemLinesChanged);
    EXPECT_FALSE(log[0].lines.cts);

    ASSERT_FALSE(dev->set_dtr(false));
    settle(io_);
    EXPECT_EQ(*dev->modem_lines(), ModemLines{});
    ASSERT_EQ(log.size(), 2u);
    EXPECT_FALSE(log[1].lines.dsr);
    EXPECT_FALSE(log[1].lines.dcd);
}

TEST_F(SimDeviceTest, LoopbackBreakIsReceivedOnce) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    auto& log = record(*dev);
    ASSERT_FALSE(dev->set_break(true));
    ASSERT_FALSE(dev->set_break(true));  // still the same break
    ASSERT_FALSE(dev->set_break(false));
    settle(io_);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].kind, Kind::BreakReceived);
    EXPECT_EQ(dev->line_errors().breaks, 1u);
}

TEST_F(SimDeviceTest, EchoEchoesAndAssertsItsLines) {
    auto dev = open_sim("sim:echo");
    ASSERT_TRUE(dev);
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "hello")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 5)), "hello");
    ASSERT_FALSE(dev->set_rts(false));
    ASSERT_FALSE(dev->set_dtr(false));
    settle(io_);
    auto lines = dev->modem_lines();
    ASSERT_TRUE(lines.ok());
    EXPECT_TRUE(lines->cts && lines->dsr && lines->dcd);  // the device drives them, not our RTS
    EXPECT_FALSE(lines->rts || lines->dtr);
}

TEST_F(SimDeviceTest, ReceivedBytesAreMaskedToTheDataBits) {
    auto s = settings();
    s.data_bits = 7;
    auto dev = open_sim("sim:loopback", s);
    ASSERT_TRUE(dev);
    const std::string sent("\xff\x80\x41", 3);
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, sent)));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 3)), std::string("\x7f\x00\x41", 3));
    EXPECT_EQ(dev->line_errors(), LineErrors{});

    s.data_bits = 5;
    ASSERT_TRUE(dev->configure(s).ok());
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "\xff")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 1)), "\x1f");
}

TEST_F(SimDeviceTest, SettingsReadBackExactlyAsSet) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    config::SerialSettings s{.baud = 250000,
                             .data_bits = 5,
                             .parity = config::Parity::Mark,
                             .stop_bits = config::StopBits::OneAndHalf,
                             .flow_control = config::FlowControl::DtrDsr,
                             .interface = config::Interface::Rs485TwoWire,
                             .fifo = false};
    ASSERT_TRUE(dev->configure(s).ok());
    EXPECT_EQ(*dev->settings(), s);

    auto bad = s;
    bad.baud = 49;
    auto st = dev->configure(bad);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::invalid_config);
    bad = s;
    bad.data_bits = 9;
    st = dev->configure(bad);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, core::Errc::invalid_config);
    EXPECT_EQ(*dev->settings(), s);  // a refused configure changes nothing
}

TEST_F(SimDeviceTest, FlushReceiveDropsQueuedBytes) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "stale")));
    ASSERT_FALSE(dev->flush(FlushDirection::Receive));
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "fresh")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 5)), "fresh");
}

// ---------------------------------------------------------------- null-modem

TEST_F(SimDeviceTest, NullModemCarriesBytesBothWaysAcrossStrands) {
    auto a = open_sim("sim:null-modem:bytes");
    auto b = open_sim("sim:null-modem:bytes", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(run(io_, strand_, write_string(*a, "from A")));
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 6)), "from A");
    EXPECT_FALSE(run(io_, other_strand_, write_string(*b, "from B")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*a, 6)), "from B");
    EXPECT_EQ(a->line_errors(), LineErrors{});
}

TEST_F(SimDeviceTest, NullModemCrossesModemLines) {
    auto a = open_sim("sim:null-modem:lines");
    auto b = open_sim("sim:null-modem:lines", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    settle(io_);
    // Both raised RTS and DTR at open, so each sees CTS, DSR and DCD.
    EXPECT_TRUE(a->modem_lines()->cts && a->modem_lines()->dsr && a->modem_lines()->dcd);
    auto& log_b = record(*b);

    ASSERT_FALSE(a->set_rts(false));
    settle(io_);
    ASSERT_EQ(log_b.size(), 1u);
    EXPECT_EQ(log_b[0].kind, Kind::ModemLinesChanged);
    EXPECT_FALSE(log_b[0].lines.cts);
    EXPECT_TRUE(log_b[0].lines.dsr);
    EXPECT_FALSE(b->modem_lines()->cts);
    EXPECT_TRUE(a->modem_lines()->cts);  // A's own CTS follows B's RTS, which did not move

    ASSERT_FALSE(a->set_dtr(false));
    settle(io_);
    ASSERT_EQ(log_b.size(), 2u);
    EXPECT_FALSE(b->modem_lines()->dsr);
    EXPECT_FALSE(b->modem_lines()->dcd);

    // Closing A unplugs it: B's inputs drop (already low here, so raise them first).
    ASSERT_FALSE(a->set_rts(true));
    ASSERT_FALSE(a->set_dtr(true));
    settle(io_);
    EXPECT_TRUE(b->modem_lines()->dcd);
    a->close();
    settle(io_);
    EXPECT_FALSE(b->modem_lines()->cts);
    EXPECT_FALSE(b->modem_lines()->dcd);
}

TEST_F(SimDeviceTest, NullModemBreakIsReceivedByThePeer) {
    auto a = open_sim("sim:null-modem:break");
    auto b = open_sim("sim:null-modem:break", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    auto& log_b = record(*b);
    ASSERT_FALSE(a->send_break(std::chrono::milliseconds(1)));
    settle(io_);
    ASSERT_EQ(log_b.size(), 1u);
    EXPECT_EQ(log_b[0].kind, Kind::BreakReceived);
    EXPECT_EQ(log_b[0].errors.breaks, 1u);
    EXPECT_EQ(b->line_errors().breaks, 1u);
    EXPECT_EQ(a->line_errors().breaks, 0u);
}

TEST_F(SimDeviceTest, NullModemSettingsMismatchGivesFramingErrorsAndGarbage) {
    auto a = open_sim("sim:null-modem:mismatch", settings(9600));
    auto b = open_sim("sim:null-modem:mismatch", settings(19200), &other_strand_);
    ASSERT_TRUE(a && b);
    auto& log_b = record(*b);
    EXPECT_FALSE(run(io_, strand_, write_string(*a, "AB")));
    const std::string expected{static_cast<char>('A' ^ 0xFF), static_cast<char>('B' ^ 0xFF)};
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 2)), expected);
    settle(io_);
    EXPECT_EQ(b->line_errors().framing, 2u);
    ASSERT_FALSE(log_b.empty());
    EXPECT_EQ(log_b.back().kind, Kind::LineError);
    EXPECT_EQ(log_b.back().errors.framing, 2u);

    // Only the parity differs: parity errors instead.
    auto even = settings(19200);
    even.parity = config::Parity::Even;
    ASSERT_TRUE(a->configure(even).ok());
    EXPECT_FALSE(run(io_, strand_, write_string(*a, "C")));
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 1)),
              std::string(1, static_cast<char>('C' ^ 0xFF)));
    settle(io_);
    EXPECT_EQ(b->line_errors().parity, 1u);

    // Matching again: clean bytes, no new errors.
    ASSERT_TRUE(a->configure(settings(19200)).ok());
    EXPECT_FALSE(run(io_, strand_, write_string(*a, "ok")));
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 2)), "ok");
    EXPECT_EQ(b->line_errors(), (LineErrors{.framing = 2, .parity = 1}));
}

TEST_F(SimDeviceTest, NullModemThirdOpenIsRefusedAndCloseFreesAnEnd) {
    auto a = open_sim("sim:null-modem:full");
    auto b = open_sim("sim:null-modem:full");
    ASSERT_TRUE(a && b);
    auto third = open(strand_, "sim:null-modem:full", settings());
    ASSERT_FALSE(third.ok());
    EXPECT_EQ(third.error().code, core::Errc::already_exists);
    EXPECT_EQ(third.error().message, "both ends of null-modem full are in use");

    a->close();
    auto again = open_sim("sim:null-modem:full");  // takes the freed end
    ASSERT_TRUE(again);
    EXPECT_FALSE(run(io_, strand_, write_string(*again, "new")));
    EXPECT_EQ(run(io_, strand_, read_exactly(*b, 3)), "new");
    // Other names are other cables.
    EXPECT_TRUE(open_sim("sim:null-modem:other"));
}

TEST_F(SimDeviceTest, RtsCtsHoldsTheSenderUntilCtsComesOn) {
    auto a = open_sim("sim:null-modem:flow");  // default settings: rts_cts
    auto b = open_sim("sim:null-modem:flow", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    ASSERT_FALSE(b->set_rts(false));  // B is not ready: A's CTS drops
    settle(io_);
    ASSERT_FALSE(a->modem_lines()->cts);

    std::optional<std::error_code> written;
    asio::co_spawn(strand_, write_string(*a, "held"),
                   [&](std::exception_ptr, std::error_code ec) { written = ec; });
    std::optional<std::string> received;
    asio::co_spawn(other_strand_, read_exactly(*b, 4),
                   [&](std::exception_ptr, std::string s) { received = s; });
    settle(io_);
    EXPECT_FALSE(written);  // waiting for CTS, bytes still in A's output queue
    EXPECT_FALSE(received);
    EXPECT_EQ(*a->output_queue(), 4u);

    asio::post(other_strand_, [&] { ASSERT_FALSE(b->set_rts(true)); });
    io_.restart();
    while (!(written && received) && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(written && received);
    EXPECT_FALSE(*written);
    EXPECT_EQ(*received, "held");
    EXPECT_EQ(*a->output_queue(), 0u);
}

TEST_F(SimDeviceTest, AbortWriteEndsAWriteHeldByFlowControl) {
    auto a = open_sim("sim:null-modem:abort");  // default settings: rts_cts; B never opens: no CTS
    ASSERT_TRUE(a);
    ASSERT_FALSE(a->modem_lines()->cts);
    std::optional<std::error_code> written;
    asio::co_spawn(strand_, write_string(*a, "held"),
                   [&](std::exception_ptr, std::error_code ec) { written = ec; });
    settle(io_);
    ASSERT_FALSE(written);
    EXPECT_EQ(a->tx_progress(), 0u);
    a->abort_write();
    settle(io_);
    ASSERT_TRUE(written);
    EXPECT_EQ(*written, std::errc::operation_canceled);
    EXPECT_EQ(*a->output_queue(), 0u);
    a->abort_write();  // nothing in flight: no effect on the next write
    auto b = open_sim("sim:null-modem:abort", settings(), &other_strand_);
    ASSERT_TRUE(b);
    settle(io_);
    EXPECT_FALSE(run(io_, strand_, write_string(*a, "next")));
    EXPECT_EQ(a->tx_progress(), 4u);
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 4)), "next");  // "held" never went out
}

TEST_F(SimDeviceTest, HoldTransmitActsAsXoffUntilReleased) {
    auto a = open_sim("sim:null-modem:xoff");
    auto b = open_sim("sim:null-modem:xoff", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    auto* sim = dynamic_cast<SimDevice*>(a.get());
    ASSERT_NE(sim, nullptr);
    EXPECT_EQ(sim->flow_chars(), (std::pair<std::uint8_t, std::uint8_t>{0x11, 0x13}));
    EXPECT_FALSE(a->set_flow_chars(0x05, 0x06));
    EXPECT_EQ(sim->flow_chars(), (std::pair<std::uint8_t, std::uint8_t>{0x05, 0x06}));

    EXPECT_FALSE(a->hold_transmit(true));
    EXPECT_TRUE(sim->transmit_held());
    std::optional<std::error_code> written;
    asio::co_spawn(strand_, write_string(*a, "wait"),
                   [&](std::exception_ptr, std::error_code ec) { written = ec; });
    settle(io_);
    EXPECT_FALSE(written);
    EXPECT_EQ(*a->output_queue(), 4u);
    EXPECT_EQ(*b->input_queue(), 0u);

    EXPECT_FALSE(a->hold_transmit(false));
    io_.restart();
    while (!written && io_.run_one_for(std::chrono::seconds(10)) != 0) {
    }
    ASSERT_TRUE(written);
    EXPECT_FALSE(*written);
    EXPECT_EQ(*b->input_queue(), 4u);  // delivered, not yet read
    EXPECT_EQ(run(io_, other_strand_, read_exactly(*b, 4)), "wait");
    EXPECT_EQ(*b->input_queue(), 0u);
}

TEST_F(SimDeviceTest, AFullReceiveQueueMakesTheWriterWait) {
    auto dev = open_sim("sim:loopback");
    ASSERT_TRUE(dev);
    const std::string big(3 * 1024 * 1024, 'x');  // three times the wire's bound
    std::optional<std::error_code> written;
    asio::co_spawn(strand_, write_string(*dev, big),
                   [&](std::exception_ptr, std::error_code ec) { written = ec; });
    settle(io_);
    EXPECT_FALSE(written);  // backpressure, not unbounded growth
    EXPECT_EQ(*dev->output_queue(), big.size() - sim::kWireBytes);
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, big.size())), big);
    settle(io_);
    ASSERT_TRUE(written);
    EXPECT_FALSE(*written);
}

// ---------------------------------------------------------------- generator

TEST_F(SimDeviceTest, GeneratorEmitsNumberedLinesAndDiscardsInput) {
    auto dev = open_sim("sim:generator:1");
    ASSERT_TRUE(dev);
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "ignored")));
    const std::string expected = "serialgate generator line 1\r\nserialgate generator line 2\r\n";
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, expected.size())), expected);
    EXPECT_TRUE(dev->modem_lines()->dcd);
}

TEST_F(SimDeviceTest, BadNamesAreExplained) {
    auto unknown = open(strand_, "sim:modem", settings());
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, core::Errc::not_found);
    for (const char* valid :
         {"sim:loopback", "sim:echo", "sim:null-modem:<name>", "sim:generator:<ms>"}) {
        EXPECT_NE(unknown.error().message.find(valid), std::string::npos) << valid;
    }
    EXPECT_EQ(open(strand_, "sim:null-modem:", settings()).error().code, core::Errc::not_found);
    EXPECT_EQ(open(strand_, "sim:generator:0", settings()).error().code,
              core::Errc::invalid_config);
    EXPECT_EQ(open(strand_, "sim:generator:fast", settings()).error().code,
              core::Errc::invalid_config);
    EXPECT_EQ(open(strand_, "sim:loopback?explode=1", settings()).error().code,
              core::Errc::invalid_config);
}

// ---------------------------------------------------------------- close and faults

TEST_F(SimDeviceTest, CloseAbortsAPendingReadAndWrite) {
    auto a = open_sim("sim:null-modem:close");
    ASSERT_TRUE(a);
    std::optional<std::error_code> read_ec;
    asio::co_spawn(strand_, testing::read_once(*a),
                   [&](std::exception_ptr, std::tuple<std::error_code, std::size_t> r) {
                       read_ec = std::get<0>(r);
                   });
    std::optional<std::error_code> write_ec;  // no peer raised RTS: the write waits for CTS
    asio::co_spawn(strand_, write_string(*a, "x"),
                   [&](std::exception_ptr, std::error_code ec) { write_ec = ec; });
    settle(io_);
    ASSERT_FALSE(read_ec || write_ec);
    asio::post(strand_, [&] { a->close(); });
    settle(io_);
    ASSERT_TRUE(read_ec && write_ec);
    EXPECT_EQ(*read_ec, std::errc::operation_canceled);
    EXPECT_EQ(*read_ec, boost::system::error_code(asio::error::operation_aborted));
    EXPECT_EQ(*write_ec, std::errc::operation_canceled);
    a->close();  // idempotent
    auto [ec, n] = run(io_, strand_, testing::read_once(*a));
    EXPECT_EQ(ec, std::errc::operation_canceled);
}

TEST_F(SimDeviceTest, DestroyingTheDeviceUnderAPendingReadIsSafe) {
    auto dev = open_sim("sim:echo");
    ASSERT_TRUE(dev);
    std::optional<std::error_code> read_ec;
    asio::co_spawn(strand_, testing::read_once(*dev),
                   [&](std::exception_ptr, std::tuple<std::error_code, std::size_t> r) {
                       read_ec = std::get<0>(r);
                   });
    settle(io_);
    asio::post(strand_, [&] { dev.reset(); });
    settle(io_);
    ASSERT_TRUE(read_ec);
    EXPECT_EQ(*read_ec, std::errc::operation_canceled);
}

TEST_F(SimDeviceTest, FaultInjectionFailsTheNthCall) {
    auto dev = open_sim("sim:loopback?fail_read=2&fail_write=3");
    ASSERT_TRUE(dev);
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "a")));
    EXPECT_FALSE(run(io_, strand_, write_string(*dev, "b")));
    EXPECT_EQ(run(io_, strand_, write_string(*dev, "c")), std::errc::io_error);
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 1)), "a");
    EXPECT_EQ(std::get<0>(run(io_, strand_, testing::read_once(*dev))), std::errc::io_error);
    // Like an unplugged device, it stays failed.
    EXPECT_EQ(std::get<0>(run(io_, strand_, testing::read_once(*dev))), std::errc::io_error);

    auto& sim = dynamic_cast<SimDevice&>(*dev);
    sim.inject_failure(SimOp::Read, 0);  // healed
    EXPECT_EQ(run(io_, strand_, read_exactly(*dev, 1)), "b");
    sim.inject_failure(SimOp::Configure, 1);
    auto st = dev->configure(settings());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, std::errc::io_error);
}

TEST_F(SimDeviceTest, AFailedConfigureAtOpenFailsTheOpenAndFreesTheEnd) {
    auto failed = open(strand_, "sim:null-modem:cfg?fail_configure=1", settings());
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, std::errc::io_error);
    EXPECT_TRUE(open_sim("sim:null-modem:cfg"));
    EXPECT_TRUE(open_sim("sim:null-modem:cfg"));  // both ends free again
}

TEST_F(SimDeviceTest, NullModemEndsOnSeveralThreads) {
    // The io_context on two threads, each end on its own strand: the cable must be thread-safe
    // (run under TSan in CI).
    auto a = open_sim("sim:null-modem:threads");
    auto b = open_sim("sim:null-modem:threads", settings(), &other_strand_);
    ASSERT_TRUE(a && b);
    const std::string payload(200'000, 'q');
    std::string got_a, got_b;
    std::atomic<int> done{0};
    asio::co_spawn(strand_, write_string(*a, payload), [&](std::exception_ptr, std::error_code) {});
    asio::co_spawn(other_strand_, write_string(*b, payload),
                   [&](std::exception_ptr, std::error_code) {});
    asio::co_spawn(strand_, read_exactly(*a, payload.size()),
                   [&](std::exception_ptr, std::string s) {
                       got_a = std::move(s);
                       ++done;
                   });
    asio::co_spawn(other_strand_, read_exactly(*b, payload.size()),
                   [&](std::exception_ptr, std::string s) {
                       got_b = std::move(s);
                       ++done;
                   });
    auto guard = asio::make_work_guard(io_);
    std::thread t([&] { io_.run_for(std::chrono::seconds(20)); });
    while (done < 2 && io_.run_one_for(std::chrono::seconds(20)) != 0) {
    }
    guard.reset();
    io_.stop();
    t.join();
    EXPECT_EQ(got_a, payload);
    EXPECT_EQ(got_b, payload);
}

}  // namespace
}  // namespace sg::serial
