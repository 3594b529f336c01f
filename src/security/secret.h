// secret.h: passwords and keys as a type (STYLE.md §3.11): no copies, zeroed on destruction,
// redacted when printed. reveal() is the only way out; reviewers grep for it.
#pragma once

#include <sodium.h>

#include <ostream>
#include <string>
#include <string_view>

namespace sg::security {

class Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    Secret(Secret&& o) noexcept : value_(std::move(o.value_)) { o.wipe(); }
    Secret& operator=(Secret&& o) noexcept {
        if (this != &o) {
            wipe();
            value_ = std::move(o.value_);
            o.wipe();
        }
        return *this;
    }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret() { wipe(); }

    std::string_view reveal() const { return value_; }
    std::size_t size() const { return value_.size(); }
    bool empty() const { return value_.empty(); }

    friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "<redacted>"; }

private:
    void wipe() noexcept {
        if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
        value_.clear();
    }
    std::string value_;
};

}  // namespace sg::security
