// test_util.h: helpers shared by the serial/ unit tests: run a coroutine on a strand to
// completion (bounded by a watchdog, not a timing assertion) and read or write whole strings.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "serial/device.h"

namespace sg::serial::testing {

/// Runs `task` on `strand` until it completes. The watchdog only stops a hung test: if nothing
/// at all happens for that long, the test fails instead of hanging ctest.
template <typename T>
T run(asio::io_context& io, const core::Strand& strand, core::Task<T> task) {
    std::optional<T> out;
    std::exception_ptr failure;
    asio::co_spawn(strand, std::move(task), [&](std::exception_ptr e, T value) {
        failure = e;
        if (!e) out = std::move(value);
    });
    io.restart();
    while (!out && !failure) {
        if (io.run_one_for(std::chrono::seconds(10)) == 0) break;
    }
    if (failure) std::rethrow_exception(failure);
    if (!out) {
        ADD_FAILURE() << "coroutine did not complete";
        return T{};
    }
    return std::move(*out);
}

/// Runs every handler that is ready now (posted notifications, woken waits), none that waits.
inline void settle(asio::io_context& io) {
    io.restart();
    io.poll();
}

/// Runs handlers until `done()` holds; false if no handler ran for 10 s (a hung test).
template <class Pred>
bool run_until(asio::io_context& io, Pred done) {
    io.restart();
    while (!done()) {
        if (io.run_one_for(std::chrono::seconds(10)) == 0) return done();
    }
    return true;
}

inline std::span<const std::byte> bytes_of(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

/// Reads exactly n bytes (as a string), or what came before an error plus "<error: ...>".
inline core::Task<std::string> read_exactly(Device& device, std::size_t n) {
    std::string out;
    std::array<std::byte, 4096> buf{};
    while (out.size() < n) {
        auto [ec, k] =
            co_await device.read_some(std::span(buf).first(std::min(buf.size(), n - out.size())));
        if (ec) co_return out + "<error: " + ec.message() + ">";
        out.append(reinterpret_cast<const char*>(buf.data()), k);
    }
    co_return out;
}

inline core::Task<std::error_code> write_string(Device& device, std::string s) {
    co_return co_await device.write(bytes_of(s));
}

/// One read_some, for tests about how a single read ends.
inline core::Task<std::tuple<std::error_code, std::size_t>> read_once(Device& device) {
    std::array<std::byte, 64> buf{};
    co_return co_await device.read_some(buf);
}

}  // namespace sg::serial::testing
