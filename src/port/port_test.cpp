// port_test.cpp: Port::stop() must call its `done` whatever state the port's run() is in: ended at
// once (a disabled port), not yet started, or in a mode whose destination refuses every connect.
// The Manager waits for `done` before it applies the next configuration and before serve exits.
#include "port/port.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.h"

namespace sg::port {
namespace {

using Clock = std::chrono::steady_clock;

/// A TCP port on 127.0.0.1 with nothing listening: bound by the OS, then released.
std::uint16_t closed_port(asio::io_context& io) {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

class PortTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_port_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
    }
    void TearDown() override {
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    static config::PortConfig port_config(config::ModeSettings mode) {
        config::PortConfig pc;
        pc.number = 1;
        pc.device = "sim:loopback";
        pc.serial.flow_control = config::FlowControl::None;
        pc.mode = std::move(mode);
        return pc;
    }

    config::ModeSettings tcp_client_to_closed_port() {
        config::TcpClientSettings s;
        s.destinations.push_back({"127.0.0.1", closed_port(io_), 0});
        return s;
    }

    /// Runs handlers until `pred` holds, the io_context runs out of work (nothing left that could
    /// make it hold) or a watchdog expires: not a timing assertion, only a bound on a hung test.
    template <typename Pred>
    bool run_until(Pred pred, std::chrono::seconds watchdog = std::chrono::seconds(15)) {
        const auto give_up = Clock::now() + watchdog;
        io_.restart();
        while (!pred() && Clock::now() < give_up) {
            if (io_.run_one_for(std::chrono::milliseconds(200)) == 0 && io_.stopped()) break;
        }
        return pred();
    }

    /// Runs for `d` (lets a mode connect, fail and back off).
    void run_for(std::chrono::milliseconds d) {
        io_.restart();
        io_.run_for(d);
    }

    asio::io_context io_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
};

TEST_F(PortTest, StopOfADisabledPortCallsDone) {
    Port port(io_, port_config(config::DisabledSettings{}), "127.0.0.1", {}, *log_);
    port.start();
    run_for(std::chrono::milliseconds(50));  // run() sees "disabled" and ends
    EXPECT_EQ(port.status().state, "disabled");
    bool done = false;
    port.stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

TEST_F(PortTest, StopRightAfterStartOfADisabledPortCallsDone) {
    // The other order: the stop is handled before run() has seen that the port is disabled.
    Port port(io_, port_config(config::DisabledSettings{}), "127.0.0.1", {}, *log_);
    port.start();
    bool done = false;
    port.stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

TEST_F(PortTest, StopOfAPortNeverStartedCallsDone) {
    Port port(io_, port_config(tcp_client_to_closed_port()), "127.0.0.1", {}, *log_);
    bool done = false;
    port.stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

TEST_F(PortTest, StopOfATcpClientBackingOffFromARefusedDestinationCallsDone) {
    Port port(io_, port_config(tcp_client_to_closed_port()), "127.0.0.1", {}, *log_);
    port.start();
    run_for(std::chrono::milliseconds(300));  // refused at once, then backing off (0.5 s first)
    EXPECT_EQ(port.status().state, "running");
    bool done = false;
    port.stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(port.status().state, "stopped");
}

TEST_F(PortTest, StopOfAPairMasterBackingOffFromARefusedSlaveCallsDone) {
    config::PairMasterSettings s;
    s.host = "127.0.0.1";
    s.port = closed_port(io_);
    Port port(io_, port_config(s), "127.0.0.1", {}, *log_);
    port.start();
    run_for(std::chrono::milliseconds(300));
    EXPECT_EQ(port.status().state, "running");
    bool done = false;
    port.stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

}  // namespace
}  // namespace sg::port
