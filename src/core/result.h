// result.h: errors as values (STYLE.md §3.6). `Result<T>` holds a T or an `Error`; `Error` carries
// a std::error_code for programs and a sentence for people. Used by every layer; no exceptions
// cross an async boundary.
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace sg::core {

struct Error {
    std::error_code code;  // machine-readable cause (errno, or sg::core::Errc)
    std::string message;   // human-readable, names what failed and why

    static Error from_errno(int err, std::string what) {
        return Error{std::error_code(err, std::generic_category()),
                     std::move(what) + ": " + std::generic_category().message(err)};
    }
};

/// Project-specific error conditions that have no errno equivalent.
enum class Errc {
    ok = 0,
    invalid_config = 1,  // a setting failed validation
    not_found = 2,
    already_exists = 3,
    unsupported = 4,  // the platform or driver cannot do this
    refused = 5,      // a policy said no (e.g. setup when an account exists)
    store_error = 6,  // SQLite reported a failure
    busy = 7,
};

const std::error_category& sg_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), sg_category()};
}
inline Error make_error(Errc e, std::string message) {
    return Error{make_error_code(e), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        SG_ASSERT(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        SG_ASSERT(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        SG_ASSERT(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const {
        SG_ASSERT(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, Error> v_;
};

/// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT
    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const {
        SG_ASSERT(failed_);
        return error_;
    }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace sg::core

template <>
struct std::is_error_code_enum<sg::core::Errc> : std::true_type {};
