// assert.h: SG_ASSERT for our own bugs (STYLE.md §3.6): checked in every build, aborts with the
// place. Untrusted input never reaches an assert; it is handled as a value.
#pragma once

namespace sg::core {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}

#define SG_ASSERT(expr) \
    ((expr) ? static_cast<void>(0) : ::sg::core::assert_failed(#expr, __FILE__, __LINE__))
