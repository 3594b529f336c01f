// sim_wire.cpp: Wire and Cable, the thread-safe plumbing of simulated lines. Called by
// sim_device.cpp from each end's strand; ends of a null-modem pair may be on different strands
// and threads, so this is the one place in serial/ with mutexes. Nothing here runs a callback
// under a lock: a Waker or Hook only posts to its end's strand, and is called after unlocking.
#include "serial/sim_wire.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace sg::serial::sim {

// ---------------------------------------------------------------- Wire

void Wire::attach_reader(Format format, Waker wake, DamageSink damage) {
    Waker wake_writer;
    {
        std::lock_guard lock(mutex_);
        clear_locked(wake_writer);
        has_reader_ = true;
        reader_format_ = format;
        reader_wake_ = std::move(wake);
        damage_ = std::move(damage);
        reader_waiting_ = false;
    }
    if (wake_writer) wake_writer();
}

void Wire::detach_reader() {
    Waker wake_writer;
    {
        std::lock_guard lock(mutex_);
        clear_locked(wake_writer);
        has_reader_ = false;
        reader_wake_ = nullptr;
        damage_ = nullptr;
        reader_waiting_ = false;
        // A writer waiting for room must go on: its bytes now fall off the open end.
        if (!wake_writer && writer_waiting_) {
            writer_waiting_ = false;
            wake_writer = writer_wake_;
        }
    }
    if (wake_writer) wake_writer();
}

void Wire::set_reader_format(Format format) {
    std::lock_guard lock(mutex_);
    reader_format_ = format;
}

void Wire::attach_writer(Waker wake) {
    std::lock_guard lock(mutex_);
    writer_wake_ = std::move(wake);
    writer_waiting_ = false;
}

void Wire::detach_writer() {
    std::lock_guard lock(mutex_);
    writer_wake_ = nullptr;
    writer_waiting_ = false;
}

std::size_t Wire::push(std::span<const std::byte> bytes, const Format& sender) {
    if (bytes.empty()) return 0;
    Waker wake_reader;
    DamageSink damage_sink;
    Damage damage;
    std::size_t n = 0;
    {
        std::lock_guard lock(mutex_);
        if (!has_reader_) return bytes.size();  // nobody on the other end: the bytes are lost
        n = std::min(bytes.size(), kWireBytes - bytes_);
        if (n < bytes.size()) writer_waiting_ = true;  // the rest waits for the reader
        if (n == 0) return 0;
        std::vector<std::byte> chunk(bytes.begin(), bytes.begin() + static_cast<long>(n));
        const Format& reader = reader_format_;
        if (!(sender == reader)) {
            // A UART at the wrong rate or framing samples garbage and sees bad stop bits; with
            // only the parity setting different, the stop bits are fine and parity fails. The
            // garbling is deterministic so a test can recognise it.
            const bool parity_only = sender.baud == reader.baud &&
                                     sender.data_bits == reader.data_bits &&
                                     sender.stop_bits == reader.stop_bits;
            for (auto& b : chunk) b ^= std::byte{0xFF};
            (parity_only ? damage.parity : damage.framing) += n;
            damage_sink = damage_;
        }
        if (reader.data_bits < 8) {
            const auto mask = static_cast<std::byte>((1U << reader.data_bits) - 1U);
            for (auto& b : chunk) b &= mask;
        }
        chunks_.push_back(std::move(chunk));
        bytes_ += n;
        if (reader_waiting_) {
            reader_waiting_ = false;
            wake_reader = reader_wake_;
        }
    }
    if (wake_reader) wake_reader();
    if (damage_sink) damage_sink(damage);
    return n;
}

std::size_t Wire::pop(std::span<std::byte> out) {
    Waker wake_writer;
    std::size_t n = 0;
    {
        std::lock_guard lock(mutex_);
        if (bytes_ == 0) {
            reader_waiting_ = true;
            return 0;
        }
        while (n < out.size() && !chunks_.empty()) {
            auto& front = chunks_.front();
            const std::size_t take = std::min(out.size() - n, front.size() - front_read_);
            std::memcpy(out.data() + n, front.data() + front_read_, take);
            n += take;
            front_read_ += take;
            if (front_read_ == front.size()) {
                chunks_.pop_front();
                front_read_ = 0;
            }
        }
        bytes_ -= n;
        if (writer_waiting_) {
            writer_waiting_ = false;
            wake_writer = writer_wake_;
        }
    }
    if (wake_writer) wake_writer();
    return n;
}

void Wire::clear() {
    Waker wake_writer;
    {
        std::lock_guard lock(mutex_);
        clear_locked(wake_writer);
    }
    if (wake_writer) wake_writer();
}

void Wire::clear_locked(Waker& wake_writer) {
    chunks_.clear();
    front_read_ = 0;
    bytes_ = 0;
    if (writer_waiting_) {
        writer_waiting_ = false;
        wake_writer = writer_wake_;
    }
}

std::size_t Wire::size() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

// ---------------------------------------------------------------- Cable registry

namespace {

// One mutex for the registry and every cable's control state: opens, closes, modem-line and
// break changes are rare next to bytes, which never take it.
std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}

std::map<std::string, std::shared_ptr<Cable>>& registry() {
    static std::map<std::string, std::shared_ptr<Cable>> cables;
    return cables;
}

}  // namespace

core::Result<std::pair<std::shared_ptr<Cable>, int>> Cable::acquire(const std::string& name) {
    std::lock_guard lock(registry_mutex());
    auto& cable = registry()[name];
    if (!cable) cable = std::make_shared<Cable>(name);
    for (int end = 0; end < 2; ++end) {
        if (!cable->in_use_[end]) {
            cable->in_use_[end] = true;
            return std::pair{cable, end};
        }
    }
    return core::make_error(core::Errc::already_exists,
                            "both ends of null-modem " + name + " are in use");
}

void Cable::attach(int end, Hooks hooks, Outputs outputs) {
    std::function<void()> peer_hook;
    {
        std::lock_guard lock(registry_mutex());
        hooks_[end] = std::move(hooks);
        outputs_[end] = outputs;
        peer_hook = hooks_[1 - end].lines_changed;
    }
    if (peer_hook) peer_hook();
}

void Cable::release(int end) {
    std::function<void()> peer_hook;
    {
        std::lock_guard lock(registry_mutex());
        in_use_[end] = false;
        outputs_[end] = {};  // an unplugged end drives nothing: the peer sees CTS/DSR/DCD drop
        hooks_[end] = {};
        peer_hook = hooks_[1 - end].lines_changed;
        if (!in_use_[0] && !in_use_[1]) {
            auto& cables = registry();
            if (auto it = cables.find(name_); it != cables.end() && it->second.get() == this) {
                cables.erase(it);  // our owners still hold us; the next open makes a new cable
            }
        }
    }
    if (peer_hook) peer_hook();
}

void Cable::set_outputs(int end, Outputs outputs) {
    std::function<void()> peer_hook;
    {
        std::lock_guard lock(registry_mutex());
        outputs_[end] = outputs;
        peer_hook = hooks_[1 - end].lines_changed;
    }
    if (peer_hook) peer_hook();
}

Outputs Cable::peer_outputs(int end) const {
    std::lock_guard lock(registry_mutex());
    return outputs_[1 - end];
}

void Cable::send_break(int end) {
    std::function<void()> peer_hook;
    {
        std::lock_guard lock(registry_mutex());
        peer_hook = hooks_[1 - end].break_received;
    }
    if (peer_hook) peer_hook();
}

std::shared_ptr<Wire> Cable::tx(int end) {
    // Aliasing pointer: keeps the cable (and so the wire) alive as long as an end holds it.
    return {shared_from_this(), &wires_[end]};
}

std::shared_ptr<Wire> Cable::rx(int end) {
    return {shared_from_this(), &wires_[1 - end]};
}

}  // namespace sg::serial::sim
