// manager.cpp: port lifecycle across configuration changes. Runs on the io_context thread (the
// serve loop, signal handlers and the store watcher all post there); each Port does its own work
// on its strand — on one of the data plane's io threads when serve gives it a pool (ADR 0015) — and
// reports back by posting to the io_context.
#include "port/manager.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

namespace sg::port {

Manager::Manager(asio::io_context& io, events::Log& events, security::allowlist::Gate* allowlist,
                 security::certs::TlsContexts* tls, const security::dos::Policy* dos,
                 core::IoPool* data)
    : io_(io), data_(data), events_(events), allowlist_(allowlist), tls_(tls), dos_(dos) {}

Manager::~Manager() = default;

void Manager::apply(const config::Config& config, bool data_plane_on) {
    if (shutting_down_) return;
    pending_.emplace(config, data_plane_on);
    if (stops_in_flight_ == 0) run_pending();
}

void Manager::revoke() {
    // Stopping ports close every connection anyway; new ones check at accept.
    for (auto& [n, p] : ports_) p->revoke();
}

void Manager::run_pending() {
    if (!pending_ || shutting_down_) return;
    auto [config, on] = std::move(*pending_);
    pending_.reset();

    // 1. Stop ports that are gone or whose settings differ.
    std::vector<std::uint32_t> to_stop;
    for (const auto& [n, p] : ports_) {
        const config::PortConfig* want = on ? config.port(n) : nullptr;
        if (!want || !(*want == p->config()) ||
            p->listen_address() != config.system.listen_address) {
            to_stop.push_back(n);
        }
    }
    for (auto n : to_stop) {
        auto port = std::move(ports_[n]);
        ports_.erase(n);
        unplace(n);
        ++stops_in_flight_;
        Port* raw = port.get();
        stopping_.push_back(std::move(port));
        raw->stop([this] { asio::post(io_, [this] { on_stopped(); }); });
    }
    if (stops_in_flight_ != 0) {
        // 2. Start the rest once every stopped port has released its TCP ports and device.
        pending_.emplace(std::move(config), on);
        return;
    }
    if (!on) return;
    for (const auto& pc : config.ports) {
        if (ports_.contains(pc.number)) continue;  // unchanged: keeps running untouched
        // A running port keeps the list it started with: every valid configuration allows its
        // (unchanged) device, so a new list need not restart it.
        auto port =
            std::make_unique<Port>(place(pc.number), pc, config.system.listen_address,
                                   config.system.allowed_devices, events_, allowlist_, tls_, dos_);
        port->set_tap(monitor_.tap(pc.number));  // issue 13: the live monitor
        port->start();
        ports_.emplace(pc.number, std::move(port));
    }
}

asio::io_context& Manager::place(std::uint32_t number) {
    if (data_ == nullptr) return io_;
    const std::size_t i = data_->place();
    placed_[number] = i;
    return data_->at(i);
}

void Manager::unplace(std::uint32_t number) {
    const auto it = placed_.find(number);
    if (it == placed_.end()) return;
    data_->release(it->second);
    placed_.erase(it);
}

void Manager::on_stopped() {
    if (--stops_in_flight_ != 0) return;
    stopping_.clear();
    if (shutting_down_) {
        if (stop_done_) {
            auto done = std::move(stop_done_);
            stop_done_ = nullptr;
            done();
        }
        return;
    }
    run_pending();
}

void Manager::stop(std::function<void()> done) {
    shutting_down_ = true;
    pending_.reset();
    stop_done_ = std::move(done);
    for (auto& [n, port] : ports_) {
        unplace(n);
        ++stops_in_flight_;
        Port* raw = port.get();
        stopping_.push_back(std::move(port));
        raw->stop([this] { asio::post(io_, [this] { on_stopped(); }); });
    }
    ports_.clear();
    if (stops_in_flight_ == 0 && stop_done_) {
        auto d = std::move(stop_done_);
        stop_done_ = nullptr;
        asio::post(io_, std::move(d));
    }
}

std::vector<PortStatus> Manager::status() const {
    std::vector<PortStatus> out;
    if (data_ == nullptr) {  // one thread: the ports' state is ours to read
        for (const auto& [n, p] : ports_) out.push_back(p->status());
        return out;
    }
    // The ports run on other threads: each takes its own snapshot on its strand. Late answers
    // land in `gather`, which they keep alive, after we have moved on.
    struct Gather {
        std::mutex mu;
        std::condition_variable cv;
        std::vector<std::optional<PortStatus>> got;
        std::size_t left = 0;
    };
    auto gather = std::make_shared<Gather>();
    gather->got.resize(ports_.size());
    gather->left = ports_.size();
    std::size_t i = 0;
    for (const auto& [n, p] : ports_) {
        p->status([gather, i](PortStatus s) {
            const std::lock_guard lock(gather->mu);
            gather->got[i] = std::move(s);
            if (--gather->left == 0) gather->cv.notify_all();
        });
        ++i;
    }
    std::unique_lock lock(gather->mu);
    gather->cv.wait_for(lock, kStatusWait, [&] { return gather->left == 0; });
    i = 0;
    for (const auto& [n, p] : ports_) {
        out.push_back(gather->got[i] ? std::move(*gather->got[i]) : p->counters());
        ++i;
    }
    return out;
}

}  // namespace sg::port
