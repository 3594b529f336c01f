// migrations.h: the schema history, embedded from migrations/NNN_name.sql in order. Migration i
// (0-based) brings PRAGMA user_version from i to i + 1. Never edit a landed migration: add one.
#pragma once

#include <string_view>
#include <vector>

namespace sg::store {
struct Migration {
    std::string_view name;
    std::string_view sql;
};
const std::vector<Migration>& migrations();
}  // namespace sg::store
