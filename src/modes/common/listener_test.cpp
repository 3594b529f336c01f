#include "modes/common/listener.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include "modes/common/session_base.h"
#include "modes/common/tcp_options.h"
#include "modes/test_util.h"
#include "serial/sim_device.h"
#include "serial/test_util.h"
#include "store/store.h"

namespace sg::modes::common {
namespace {

using asio::ip::tcp;

/// A session that reads until its peer closes (or end()); it does not finish on drain(), so a
/// stop must wait for the peer (or the drain deadline).
class TestSession final : public SessionBase {
public:
    TestSession(Stream stream, Listener& listener)
        : SessionBase(std::move(stream), listener, 0, "test session") {}
    void start() { spawn(reader()); }

private:
    core::Task<void> reader() {
        while (!ended_) {
            auto [ec, data] = co_await stream_.read_some(64);
            if (ec) break;
            rx_ += data.size();
        }
        end();
    }
};

class ListenerTest : public ::testing::Test, public Listener::Owner {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_listener_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        auto dev = serial::open(strand_, "sim:loopback", config::SerialSettings{});
        ASSERT_TRUE(dev.ok());
        device_ = std::move(*dev);
        ctx_.emplace(testing::port_context(strand_, *device_, *log_, stats_));
        listener_.emplace(*ctx_, *this);
        ASSERT_FALSE(common::listen(acceptor_, "127.0.0.1", 0));
        endpoint_ = acceptor_.local_endpoint();
        listener_->accept(acceptor_, {.refusal = [this]() -> std::optional<std::string> {
                                          if (listener_->sessions().size() < kMax) return {};
                                          return "max connections (1) reached";
                                      },
                                      .take =
                                          [this](Stream stream) {
                                              ++taken_;
                                              listener_->connected(peer_string(stream.socket()));
                                              auto session = std::make_shared<TestSession>(
                                                  std::move(stream), *listener_);
                                              listener_->add(*session);
                                              session->start();
                                          }});
    }
    void TearDown() override {
        if (!stop_asked_) {
            listener_->stop([] {});
            stop_asked_ = true;
        }
        for (auto& c : clients_) c.close();
        run_until([this] { return listener_->sessions().empty(); });
        io_.restart();
        io_.poll();
        listener_.reset();
        ctx_.reset();
        device_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    // ---- Listener::Owner
    void session_ended(SessionBase&) override { ++ended_; }
    bool busy() const override { return busy_; }
    void stopped() override { ++stopped_; }

    template <class P>
    bool run_until(P done) {
        return serial::testing::run_until(io_, done);
    }
    void settle() { serial::testing::settle(io_); }

    tcp::socket& connect() {
        auto& c = clients_.emplace_back(io_);
        c.connect(endpoint_);
        return c;
    }
    /// A client from another loopback address (the allowlist tells them apart).
    tcp::socket& connect_from(const char* source) {
        auto& c = clients_.emplace_back(io_);
        c.open(tcp::v4());
        c.bind(tcp::endpoint(asio::ip::make_address(source), 0));
        c.connect(endpoint_);
        return c;
    }

    /// A DoS gate with `settings` in front of the listener (ctx_->dos). The fixture owns it: it
    /// outlives the listener and the context, which TearDown resets first.
    void use_dos(const config::SerialDosSettings& settings) {
        dos_policy_.emplace();
        dos_policy_->set(settings);
        dos_gate_.emplace(*dos_policy_);
        ctx_->dos = &*dos_gate_;
    }

    std::vector<events::Event> events_of(const char* type) {
        log_->flush();
        auto r = events::read(*store_, {.type = type});
        return r.ok() ? *r : std::vector<events::Event>{};
    }

    static constexpr std::size_t kMax = 1;

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    PortStats stats_;
    serial::DevicePtr device_;
    std::optional<security::dos::Policy> dos_policy_;  // use_dos()
    std::optional<security::dos::PortGate> dos_gate_;
    std::optional<PortContext> ctx_;
    tcp::acceptor acceptor_{strand_};
    tcp::endpoint endpoint_;
    std::optional<Listener> listener_;
    std::list<tcp::socket> clients_;
    int taken_ = 0;
    int ended_ = 0;
    int stopped_ = 0;
    bool busy_ = false;
    bool stop_asked_ = false;
};

TEST_F(ListenerTest, RefusesPastMaxConnectionsWithFinAndAnEvent) {
    connect();
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    auto& second = connect();
    ASSERT_TRUE(run_until([this] { return stats_.refused.load() == 1; }));
    EXPECT_EQ(taken_, 1);
    EXPECT_EQ(listener_->sessions().size(), 1u);
    // Accepted and closed at once: the refused client reads EOF, not a timeout.
    std::array<char, 1> b{};
    boost::system::error_code ec;
    second.read_some(asio::buffer(b), ec);
    EXPECT_EQ(ec, asio::error::eof);
    const auto refused = events_of("serial.refused");
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].message, "max connections (1) reached");
    EXPECT_EQ(refused[0].source, "127.0.0.1:" + std::to_string(second.local_endpoint().port()));
}

TEST_F(ListenerTest, AllowlistRefusesBeforeTheModeSeesItAndRevokeEndsSessions) {
    security::allowlist::Gate gate(*log_);
    ctx_->allowlist = &gate;
    ASSERT_TRUE(gate.set({.enabled = true, .entries = {"127.0.0.1", "127.0.0.2"}}));
    auto& outsider = connect_from("127.0.0.3");
    ASSERT_TRUE(run_until([this] { return stats_.refused_allowlist.load() == 1; }));
    // NE-2: refused before the max-connections rule and before `take`: reset, no byte.
    EXPECT_EQ(taken_, 0);
    EXPECT_EQ(stats_.refused.load(), 0u);
    std::array<char, 1> b{};
    boost::system::error_code ec;
    outsider.read_some(asio::buffer(b), ec);
    EXPECT_EQ(ec, asio::error::connection_reset);
    const auto refused = events_of("security.allowlist_refused");
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].source, "127.0.0.3");
    EXPECT_EQ(refused[0].message, "refused on port 1 (" + std::to_string(endpoint_.port()) + ")");

    auto& insider = connect_from("127.0.0.2");
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    // NE-4: the source is removed; revoke() ends its session at once.
    ASSERT_TRUE(gate.set({.enabled = true, .entries = {"127.0.0.1"}}));
    listener_->revoke();
    ASSERT_TRUE(run_until([this] { return ended_ == 1; }));
    insider.read_some(asio::buffer(b), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    ctx_->allowlist = nullptr;  // the gate goes first
}

TEST_F(ListenerTest, FreedSlotIsServedAgain) {
    auto& first = connect();
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    first.close();
    ASSERT_TRUE(run_until([this] { return ended_ == 1; }));
    EXPECT_TRUE(listener_->sessions().empty());
    EXPECT_EQ(events_of("serial.disconnected").size(), 1u);
    connect();
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    EXPECT_EQ(taken_, 2);
    EXPECT_EQ(stats_.refused.load(), 0u);
}

// Issue 14 item 5: a connect/close flood from one address leaves kConnectionEventLimit.burst
// Connected rows, each with its Disconnected, and summaries that count the rest; the port
// counters count every connection.
TEST_F(ListenerTest, ConnectionEventsAreLimitedPerSourceWithCountsAndPairs) {
    constexpr int kConnects = 25;
    const int burst = static_cast<int>(kConnectionEventLimit.burst);
    for (int i = 0; i < kConnects; ++i) {
        auto& c = connect();
        ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
        c.close();
        ASSERT_TRUE(run_until([this, i] { return ended_ == i + 1; }));
    }
    auto& holder = connect();  // keeps the one slot: the next ones are refused
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    for (int i = 0; i < kConnects; ++i) connect();
    ASSERT_TRUE(run_until(
        [this] { return stats_.refused.load() == static_cast<std::uint64_t>(kConnects); }));
    EXPECT_EQ(stats_.connections.load(), static_cast<std::uint64_t>(kConnects + 1));

    auto connected = events_of("serial.connected");
    auto disconnected = events_of("serial.disconnected");
    ASSERT_EQ(connected.size(), static_cast<std::size_t>(burst));
    ASSERT_EQ(disconnected.size(), static_cast<std::size_t>(burst));
    for (int i = 0; i < burst; ++i) {  // the same sessions, in order
        EXPECT_EQ(connected[static_cast<std::size_t>(i)].source,
                  disconnected[static_cast<std::size_t>(i)].source);
    }
    EXPECT_EQ(events_of("serial.refused").size(), static_cast<std::size_t>(burst));

    log_->emit_summaries(true);  // as serve does at stop
    const auto summary = [](const std::vector<events::Event>& evs) { return evs.back().message; };
    EXPECT_TRUE(summary(events_of("serial.connected"))
                    .starts_with("rate-limited: " + std::to_string(kConnects + 1 - burst) +
                                 " more from 127.0.0.1 since "));
    EXPECT_TRUE(summary(events_of("serial.disconnected"))
                    .starts_with("rate-limited: " + std::to_string(kConnects - burst) + " more"));
    EXPECT_TRUE(summary(events_of("serial.refused"))
                    .starts_with("rate-limited: " + std::to_string(kConnects - burst) + " more"));
    holder.close();
}

TEST_F(ListenerTest, StopCompletesOnlyAfterEverySessionEnded) {
    auto& client = connect();
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    bool done = false;
    listener_->stop([&] { done = true; });
    stop_asked_ = true;
    settle();
    // The session drains; its peer has not closed and the drain deadline is far: not done.
    EXPECT_TRUE(listener_->stopping());
    EXPECT_FALSE(done);
    EXPECT_EQ(stopped_, 0);
    client.close();
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(ended_, 1);
    EXPECT_EQ(stopped_, 1);
    // The acceptor is closed: nothing more is accepted.
    tcp::socket late(io_);
    boost::system::error_code ec;
    late.connect(endpoint_, ec);
    EXPECT_TRUE(ec);
}

TEST_F(ListenerTest, StopWaitsForWhatTheOwnerReportsBusy) {
    busy_ = true;
    bool done = false;
    listener_->stop([&] { done = true; });
    stop_asked_ = true;
    settle();
    EXPECT_FALSE(done);  // the accept loop has ended, but the owner is busy
    busy_ = false;
    listener_->settle();
    settle();
    EXPECT_TRUE(done);
    EXPECT_EQ(stopped_, 1);
}

TEST_F(ListenerTest, StopWithNothingRunningCompletesOnce) {
    int done = 0;
    listener_->stop([&] { ++done; });
    stop_asked_ = true;
    ASSERT_TRUE(run_until([&] { return done == 1; }));
    listener_->settle();
    settle();
    EXPECT_EQ(done, 1);
}

TEST_F(ListenerTest, DosBoundsRefuseBeforeTheModeSeesIt) {
    // Guide §3.7, NE-5: the source's connections open and its connection rate, checked after the
    // allowlist and before the mode's own refusal (max connections) and `take`.
    config::SerialDosSettings s;
    s.max_connections_per_source = 1;
    s.connections_per_second_per_source = 0;  // never refills: no timing in this test
    s.connection_burst_per_source = 2;
    use_dos(s);
    connect();
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    auto& second = connect_from("127.0.0.1");  // the same source: one open already
    ASSERT_TRUE(run_until([this] { return stats_.refused_dos.load() == 1; }));
    EXPECT_EQ(taken_, 1);
    EXPECT_EQ(stats_.refused.load(), 0u);
    std::array<char, 1> b{};
    boost::system::error_code ec;
    second.read_some(asio::buffer(b), ec);
    EXPECT_EQ(ec, asio::error::connection_reset);  // RST, no byte
    // Another source passes the DoS bounds twice (burst 2) and meets the mode's max-connections
    // refusal; its third connection is over the rate.
    connect_from("127.0.0.3");
    ASSERT_TRUE(run_until([this] { return stats_.refused.load() == 1; }));
    connect_from("127.0.0.3");
    ASSERT_TRUE(run_until([this] { return stats_.refused.load() == 2; }));
    connect_from("127.0.0.3");
    ASSERT_TRUE(run_until([this] { return stats_.refused_dos.load() == 2; }));
    EXPECT_EQ(taken_, 1);
    const auto events = events_of("security.dos_refused");
    ASSERT_EQ(events.size(), 2u);  // one per source and minute
    const std::string port = std::to_string(endpoint_.port());
    EXPECT_EQ(events[0].source, "127.0.0.1");
    EXPECT_EQ(events[0].message, "port 1 (" + port + "): per-source connection limit (1 open)");
    EXPECT_EQ(events[1].source, "127.0.0.3");
    EXPECT_EQ(events[1].message, "port 1 (" + port + "): connection rate above 0/s (burst 2)");
    ASSERT_EQ(events[0].port, 1u);
}

TEST_F(ListenerTest, APeerThatResetBeforeTheAcceptIsJudgedAsItsSource) {
    // bench/run --dos: a flooder that resets its connections got twice its rate through, because
    // a reset peer has no address left for getpeername and was judged as the unspecified address,
    // with an allowance of its own. accept(2)'s address still names it.
    config::SerialDosSettings s;
    s.max_connections_per_source = 100;
    s.connections_per_second_per_source = 0;  // never refills: no timing in this test
    s.connection_burst_per_source = 1;
    use_dos(s);
    connect_from("127.0.0.2");  // takes the source's one connection
    ASSERT_TRUE(run_until([this] { return listener_->sessions().size() == 1; }));
    // Connected (the kernel completed the handshake) and reset before the listener accepts it:
    // the io_context does not run between the two.
    auto& gone = connect_from("127.0.0.2");
    gone.set_option(asio::socket_base::linger(true, 0));
    gone.close();
    ASSERT_TRUE(run_until([this] { return stats_.refused_dos.load() == 1; }));
    EXPECT_EQ(stats_.refused.load(), 0u);  // not admitted as somebody else
    const auto events = events_of("security.dos_refused");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].source, "127.0.0.2");
}

TEST_F(ListenerTest, HandshakeAdmissionCountsAndLogsRefusals) {
    // The call Secure Connection makes before each server-side TLS handshake.
    EXPECT_TRUE(ctx_->admit_handshake(asio::ip::make_address("127.0.0.2"), 4001));  // no gate
    config::SerialDosSettings s;
    s.handshakes_per_second_per_source = 0;  // never refills
    s.handshake_burst_per_source = 2;
    use_dos(s);
    const auto source = asio::ip::make_address("127.0.0.2");
    EXPECT_TRUE(ctx_->admit_handshake(source, 4001));
    EXPECT_TRUE(ctx_->admit_handshake(source, 4001));
    EXPECT_FALSE(ctx_->admit_handshake(source, 4001));
    EXPECT_FALSE(ctx_->admit_handshake(source, 4001));
    EXPECT_TRUE(ctx_->admit_handshake(asio::ip::make_address("127.0.0.3"), 4001));
    EXPECT_EQ(stats_.refused_dos.load(), 2u);
    const auto events = events_of("security.dos_refused");
    ASSERT_EQ(events.size(), 1u);  // once per source and minute
    EXPECT_EQ(events[0].message, "port 1 (4001): TLS handshake rate above 0/s (burst 2)");
}

}  // namespace
}  // namespace sg::modes::common
