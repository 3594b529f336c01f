// manager_test.cpp: configuration changes and the final stop through port::Manager with a port
// that runs no mode (disabled): the Manager waits for each stopped port's `done`, so a port that
// never reports would hold back every later change and serve's exit.
#include "port/manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/store.h"

namespace sg::port {
namespace {

using Clock = std::chrono::steady_clock;

std::uint16_t closed_port(asio::io_context& io) {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

class ManagerTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_manager_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        manager_ = std::make_unique<Manager>(io_, *log_);
    }
    void TearDown() override {
        manager_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    static config::Config with_port_1(config::ModeSettings mode) {
        config::Config c;
        c.system.listen_address = "127.0.0.1";
        config::PortConfig pc;
        pc.number = 1;
        pc.device = "sim:loopback";
        pc.serial.flow_control = config::FlowControl::None;
        pc.mode = std::move(mode);
        c.ports.push_back(std::move(pc));
        return c;
    }

    config::Config tcp_client_to_closed_port() {
        config::TcpClientSettings s;
        s.destinations.push_back({"127.0.0.1", closed_port(io_), 0});
        return with_port_1(s);
    }

    /// The mode type port 1 runs now ("" while it is being stopped or not there).
    std::string mode_of_port_1() const {
        for (const auto& st : manager_->status()) {
            if (st.number == 1) return st.mode;
        }
        return "";
    }

    /// Runs handlers until `pred` holds, the io_context runs out of work or a watchdog expires
    /// (a bound on a hung test, not a timing assertion).
    template <typename Pred>
    bool run_until(Pred pred, std::chrono::seconds watchdog = std::chrono::seconds(15)) {
        const auto give_up = Clock::now() + watchdog;
        io_.restart();
        while (!pred() && Clock::now() < give_up) {
            if (io_.run_one_for(std::chrono::milliseconds(200)) == 0 && io_.stopped()) break;
        }
        return pred();
    }

    void run_for(std::chrono::milliseconds d) {
        io_.restart();
        io_.run_for(d);
    }

    asio::io_context io_;
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    std::unique_ptr<Manager> manager_;
};

TEST_F(ManagerTest, StopsAfterATcpClientWasSwitchedToDisabled) {
    manager_->apply(tcp_client_to_closed_port(), true);
    run_for(std::chrono::milliseconds(300));  // refused, backing off
    ASSERT_EQ(mode_of_port_1(), "tcp_client");
    manager_->apply(with_port_1(config::DisabledSettings{}), true);
    ASSERT_TRUE(run_until([&] { return mode_of_port_1() == "disabled"; }));
    bool done = false;
    manager_->stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

TEST_F(ManagerTest, ADisabledPortCanBeEnabledAndThenStopped) {
    manager_->apply(with_port_1(config::DisabledSettings{}), true);
    run_for(std::chrono::milliseconds(50));
    ASSERT_EQ(mode_of_port_1(), "disabled");
    // The disabled port must report its stop, or the new configuration is never applied.
    manager_->apply(tcp_client_to_closed_port(), true);
    EXPECT_TRUE(run_until([&] { return mode_of_port_1() == "tcp_client"; }));
    bool done = false;
    manager_->stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

TEST_F(ManagerTest, StopsWithADisabledPort) {
    manager_->apply(with_port_1(config::DisabledSettings{}), true);
    run_for(std::chrono::milliseconds(50));
    bool done = false;
    manager_->stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
}

// Issue 12 item 3 (ADR 0015): the ports on two io threads of their own, the Manager on io_. Each
// port is placed on the least-loaded thread, so ports spread evenly whatever their numbers, also
// after some stop. The status is each port's snapshot taken on its strand (a port that keeps its
// strand busy is reported from its counters after Manager::kStatusWait, never waited for longer),
// and the stop destroys ports that ran on the other threads.
TEST_F(ManagerTest, PortsOnTwoDataThreadsReportStatusAndStop) {
    core::IoPool data(2);
    data.start();
    // io_ has no work of its own here (the ports run on the pool): without a guard, run_until()
    // would see it stopped before the ports' stop reports were posted to it.
    auto io_guard = asio::make_work_guard(io_);
    manager_.reset();
    manager_ = std::make_unique<Manager>(io_, *log_, nullptr, nullptr, nullptr, &data);
    config::Config c;
    c.system.listen_address = "127.0.0.1";
    for (std::uint32_t n = 1; n <= 8; ++n) {
        config::PortConfig pc;
        pc.number = n;
        pc.device = "sim:echo";
        pc.serial.flow_control = config::FlowControl::None;
        config::TcpServerSettings ts;
        ts.local_port = 0;
        ts.command_port = 0;
        pc.mode = ts;
        c.ports.push_back(std::move(pc));
    }
    manager_->apply(c, true);
    const auto all_running = [&] {
        const auto st = manager_->status();
        return st.size() == 8 && std::all_of(st.begin(), st.end(), [](const PortStatus& s) {
                   return s.state == "running" && s.mode_status.has_value();
               });
    };
    EXPECT_TRUE(run_until(all_running));
    EXPECT_EQ(data.load(), (std::vector<std::size_t>{4, 4}));
    // Ports 1, 3, 5, 7 went to thread 0 (the least-loaded, lowest first): remove them, add four
    // new ones, and the new ones fill thread 0 again.
    std::erase_if(c.ports, [](const config::PortConfig& p) { return p.number % 2 == 1; });
    for (std::uint32_t n = 9; n <= 12; ++n) {
        config::PortConfig pc = c.ports.front();
        pc.number = n;
        c.ports.push_back(std::move(pc));
    }
    manager_->apply(c, true);
    EXPECT_TRUE(run_until(all_running));
    EXPECT_EQ(data.load(), (std::vector<std::size_t>{4, 4}));
    bool done = false;
    manager_->stop([&] { done = true; });
    EXPECT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(data.load(), (std::vector<std::size_t>{0, 0}));
    manager_.reset();  // every port destroyed here, on this thread
    data.stop();
}

}  // namespace
}  // namespace sg::port
