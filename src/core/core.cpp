// core.cpp: the error category and assertion handler shared by every layer.
#include <cstdio>
#include <cstdlib>

#include "core/result.h"

namespace sg::core {

namespace {
class SgCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "serialgate"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
            case Errc::ok: return "success";
            case Errc::invalid_config: return "invalid configuration";
            case Errc::not_found: return "not found";
            case Errc::already_exists: return "already exists";
            case Errc::unsupported: return "not supported";
            case Errc::refused: return "refused";
            case Errc::store_error: return "state store error";
            case Errc::busy: return "busy";
        }
        return "unknown error";
    }
};
}  // namespace

const std::error_category& sg_category() noexcept {
    static const SgCategory category;
    return category;
}

void assert_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "serialgate: assertion failed: %s at %s:%d\n", expr, file, line);
    std::abort();
}

}  // namespace sg::core
