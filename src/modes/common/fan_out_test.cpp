#include "modes/common/fan_out.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <list>
#include <vector>

#include "core/limits.h"
#include "modes/common/tcp_options.h"
#include "modes/test_util.h"
#include "serial/sim_device.h"
#include "serial/test_util.h"
#include "store/store.h"

namespace sg::modes::common {
namespace {

using asio::ip::tcp;

/// A fan-out session that only sends (its writer), as the modes' sessions do besides reading.
class TestSession final : public FanOutSession {
public:
    TestSession(Stream stream, FanOut& fan_out)
        : FanOutSession(std::move(stream), fan_out, 0, "test session") {}
    void start() { spawn(writer()); }
};

/// A Listener with TestSessions, and the FanOut over it; the parameter is ignore_jammed_ip.
class FanOutTest : public ::testing::TestWithParam<bool>, public Listener::Owner {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("sg_fan_out_test_" + std::to_string(::getpid()) + "_" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        std::filesystem::remove_all(dir_);
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok());
        store_ = std::move(*s);
        log_ = std::make_unique<events::Log>(*store_);
        auto dev = serial::open(strand_, "sim:loopback", config::SerialSettings{});
        ASSERT_TRUE(dev.ok());
        device_ = std::move(*dev);
        ctx_.emplace(testing::port_context(strand_, *device_, *log_, stats_,
                                           [this](bool paused) { pauses_.push_back(paused); }));
        listener_.emplace(*ctx_, *this);
        fan_out_.emplace(*ctx_, *listener_, GetParam());
        ASSERT_FALSE(common::listen(acceptor_, "127.0.0.1", 0));
        endpoint_ = acceptor_.local_endpoint();
        listener_->accept(acceptor_, {.refusal = [] { return std::optional<std::string>{}; },
                                      .take =
                                          [this](Stream stream) {
                                              auto session = std::make_shared<TestSession>(
                                                  std::move(stream), *fan_out_);
                                              listener_->add(*session);
                                              session->start();
                                          }});
    }
    void TearDown() override {
        listener_->stop([] {});
        for (auto& c : clients_) c.close();
        run_until([this] { return listener_->sessions().empty(); });
        io_.restart();
        io_.poll();
        fan_out_.reset();
        listener_.reset();
        ctx_.reset();
        device_.reset();
        log_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    // ---- Listener::Owner
    void session_ended(SessionBase&) override { fan_out_->update_backpressure(); }

    template <class P>
    bool run_until(P done) {
        return serial::testing::run_until(io_, done);
    }
    void settle() { serial::testing::settle(io_); }

    /// A client that reads only when told (read_all); small buffers so that it jams soon.
    tcp::socket& connect() {
        auto& c = clients_.emplace_back(io_);
        c.open(tcp::v4());
        c.set_option(asio::socket_base::receive_buffer_size(4096));
        c.connect(endpoint_);
        const std::size_t before = listener_->sessions().size();
        EXPECT_TRUE(run_until([&] { return listener_->sessions().size() > before; }));
        return c;
    }
    /// Reads what `c` has been sent until nothing comes for a moment; returns the byte count.
    std::size_t read_all(tcp::socket& c) {
        std::size_t total = 0;
        std::vector<std::byte> buf(64 * 1024);
        c.non_blocking(true);
        for (int idle = 0; idle < 50;) {
            settle();
            boost::system::error_code ec;
            const std::size_t n = c.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block) {
                ++idle;
                ::usleep(1000);
                continue;
            }
            if (ec) break;
            total += n;
            idle = 0;
        }
        return total;
    }
    /// Frames of 64 KiB until `enough` holds (at most 64 MiB).
    template <class P>
    std::size_t feed_until(P enough) {
        const std::vector<std::byte> frame(64 * 1024, std::byte{'x'});
        std::size_t fed = 0;
        for (int i = 0; i < 1024 && !enough(); ++i) {
            fan_out_->on_frame(frame);
            fed += frame.size();
            settle();
        }
        return fed;
    }
    std::size_t events_of(const char* type) {
        log_->flush();
        auto r = events::read(*store_, {.type = type});
        return r.ok() ? r->size() : 0;
    }

    asio::io_context io_;
    core::Strand strand_ = asio::make_strand(io_);
    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<events::Log> log_;
    PortStats stats_;
    serial::DevicePtr device_;
    std::optional<PortContext> ctx_;
    tcp::acceptor acceptor_{strand_};
    tcp::endpoint endpoint_;
    std::optional<Listener> listener_;
    std::optional<FanOut> fan_out_;
    std::list<tcp::socket> clients_;
    std::vector<bool> pauses_;  // every pause_serial_reads call
};

TEST_P(FanOutTest, NoClientNoBytes) {
    const std::vector<std::byte> frame(10, std::byte{'x'});
    fan_out_->on_frame(frame);
    settle();
    EXPECT_EQ(stats_.net_tx_bytes.load(), 0u);
    EXPECT_TRUE(pauses_.empty());
}

TEST_P(FanOutTest, EveryClientGetsEveryFrame) {
    auto& a = connect();
    auto& b = connect();
    std::vector<std::byte> frame(1000, std::byte{'y'});
    for (int i = 0; i < 10; ++i) fan_out_->on_frame(frame);
    EXPECT_EQ(read_all(a), 10'000u);
    EXPECT_EQ(read_all(b), 10'000u);
    EXPECT_EQ(stats_.net_tx_bytes.load(), 20'000u);
    EXPECT_EQ(stats_.jammed_drops.load(), 0u);
}

TEST_P(FanOutTest, AJammedClientPausesReadsOrIsSkipped) {
    const bool ignore_jammed = GetParam();
    auto& stuck = connect();  // reads nothing until told
    const std::size_t fed = feed_until(
        [&] { return ignore_jammed ? stats_.jammed_drops.load() != 0 : !pauses_.empty(); });
    if (ignore_jammed) {
        // Dropped for the jammed client and counted; the serial side never pauses.
        ASSERT_GT(stats_.jammed_drops.load(), 0u);
        feed_until(
            [&] { return stats_.jammed_drops.load() > 4 * core::limits::kClientQueueBytes; });
        EXPECT_TRUE(pauses_.empty());
        EXPECT_EQ(events_of("serial.jammed"), 1u);  // one event per jam, not per dropped chunk
    } else {
        // Paused once the fullest queue reached the bound; nothing dropped.
        ASSERT_EQ(pauses_, std::vector<bool>{true}) << fed << " bytes fed";
        EXPECT_EQ(stats_.jammed_drops.load(), 0u);
        EXPECT_EQ(events_of("serial.jammed"), 0u);
        // Resumed once the jammed client has read its queue below half.
        (void)read_all(stuck);
        EXPECT_EQ(pauses_, (std::vector<bool>{true, false}));
    }
}

// The jam rule drops a chunk only when the queue would pass kClientQueueBytes, while the reads
// pause once the queue reaches it: a queue filled to exactly the bound (here by one-byte frames,
// as a slow serial line delivers them in passthrough) is at the pause threshold without a drop.
// With ignore_jammed_ip that must still not pause the reads.
TEST_P(FanOutTest, AQueueFilledToExactlyTheBound) {
    const bool ignore_jammed = GetParam();
    (void)connect();  // reads nothing
    auto queued = [&] {
        std::size_t n = 0;
        for (const FanOutSession* s : listener_->sessions_as<FanOutSession>()) n = s->queued();
        return n;
    };
    // The io_context does not run, so the writer sends nothing meanwhile: large frames until the
    // socket takes no more and something is queued, then the queue grows by one byte a frame.
    const std::vector<std::byte> large(64 * 1024, std::byte{'z'});
    for (int i = 0; i < 1024 && queued() == 0; ++i) fan_out_->on_frame(large);
    ASSERT_GT(queued(), 0u);
    ASSERT_LT(queued(), core::limits::kClientQueueBytes);
    const std::vector<std::byte> byte(1, std::byte{'z'});
    for (std::size_t i = 0; i < core::limits::kClientQueueBytes; ++i) {
        fan_out_->on_frame(byte);
        if (ignore_jammed ? stats_.jammed_drops.load() != 0 : !pauses_.empty()) break;
    }
    EXPECT_EQ(queued(), core::limits::kClientQueueBytes);
    if (ignore_jammed) {
        EXPECT_EQ(stats_.jammed_drops.load(), 1u);  // the byte that would have passed the bound
        EXPECT_TRUE(pauses_.empty());
    } else {
        EXPECT_EQ(pauses_, std::vector<bool>{true});
        EXPECT_EQ(stats_.jammed_drops.load(), 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(IgnoreJammedIp, FanOutTest, ::testing::Bool());

}  // namespace
}  // namespace sg::modes::common
