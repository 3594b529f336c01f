// monitor_tap.cpp: the live serial monitor's tap and its subscribers (issue 13 item 4). offer()
// runs on the port strand; take() and subscribe() on the management plane's threads. The only
// lock is the tap's, and the data path takes it only while someone watches that port.
#include "modes/common/monitor_tap.h"

#include "core/clock.h"

namespace sg::modes::common {

const char* to_string(TapDirection d) {
    return d == TapDirection::FromSerial ? "rx" : "tx";
}

TapSubscription::~TapSubscription() {
    tap_->remove(this);
}

TapSubscription::Batch TapSubscription::take() {
    Batch b;
    std::lock_guard lock(tap_->mutex_);
    b.frames.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    queued_bytes_ = 0;
    b.lost_frames = lost_frames_;
    b.lost_bytes = lost_bytes_;
    return b;
}

std::uint32_t TapSubscription::port() const {
    return tap_->port();
}

MonitorTap::MonitorTap(std::uint32_t port, TapLimits limits, Clock now)
    : port_(port), limits_(limits), now_(now != nullptr ? now : &core::now_utc_us) {}

void MonitorTap::offer_watched(TapDirection dir, std::span<const std::byte> bytes) {
    const std::int64_t ts = now_();
    std::lock_guard lock(mutex_);
    for (TapSubscription* s : subs_) {
        if (s->queued_bytes_ + bytes.size() > limits_.queue_bytes ||
            s->queue_.size() >= limits_.queue_frames) {
            // The subscriber is behind: it loses this frame, and is told how many it lost.
            ++s->lost_frames_;
            s->lost_bytes_ += bytes.size();
            continue;
        }
        s->queue_.push_back(TapFrame{dir, ts, std::vector<std::byte>(bytes.begin(), bytes.end())});
        s->queued_bytes_ += bytes.size();
    }
}

std::shared_ptr<TapSubscription> MonitorTap::add() {
    std::shared_ptr<TapSubscription> s(new TapSubscription(shared_from_this()));
    std::lock_guard lock(mutex_);
    subs_.push_back(s.get());
    subscribers_.store(subs_.size(), std::memory_order_relaxed);
    return s;
}

void MonitorTap::remove(TapSubscription* s) {
    std::lock_guard lock(mutex_);
    std::erase(subs_, s);
    subscribers_.store(subs_.size(), std::memory_order_relaxed);
}

MonitorHub::MonitorHub(TapLimits limits, MonitorTap::Clock now) : limits_(limits), now_(now) {}

std::shared_ptr<MonitorTap>& MonitorHub::tap_locked(std::uint32_t port) {
    auto& t = taps_[port];
    if (!t) t = std::make_shared<MonitorTap>(port, limits_, now_);
    return t;
}

std::shared_ptr<MonitorTap> MonitorHub::tap(std::uint32_t port) {
    std::lock_guard lock(mutex_);
    return tap_locked(port);
}

std::shared_ptr<TapSubscription> MonitorHub::subscribe(std::uint32_t port, std::string& why) {
    // Under the hub's mutex, so two subscribers cannot both take the last place; a subscriber
    // leaving meanwhile only frees one.
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [n, t] : taps_) total += t->subscribers();
    auto& t = tap_locked(port);
    if (t->subscribers() >= limits_.per_port) {
        why = "port";
        return nullptr;
    }
    if (total >= limits_.total) {
        why = "device";
        return nullptr;
    }
    return t->add();
}

}  // namespace sg::modes::common
