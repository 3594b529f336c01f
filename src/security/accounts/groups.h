// groups.h: privileges of the management plane (guide §3.4, device ref. §7, AZ-1). A group grants
// each menu area of the console one access level; an account belongs to exactly one group. The
// built-in groups Administrator (everything) and Operator (everything but Security and Account
// Management) are seeded by store migration 002 and cannot be changed. Plain values, no I/O: the
// API's handlers hold a Group for the length of a request.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sg::security::accounts {

inline constexpr std::string_view kAdministrator = "Administrator";
inline constexpr std::string_view kOperator = "Operator";

/// The console's left menu (device ref. §7), one privilege each. The string forms are stored in
/// the `group_privileges` table and used by the API: never rename them.
enum class Area {
    Overview,
    System,
    Network,
    Serial,
    Security,
    Accounts,
    Diagnostics,
    Maintenance,
    Administration
};
enum class Access { Hidden, ReadOnly, ReadWrite };

/// Every area, in menu order.
std::span<const Area> all_areas();
/// "overview", "system", "network", "serial", "security", "accounts", "diagnostics",
/// "maintenance", "administration".
const char* to_string(Area a);
std::optional<Area> parse_area(std::string_view s);
/// "hidden", "read_only", "read_write".
const char* to_string(Access a);
std::optional<Access> parse_access(std::string_view s);

struct Group {
    std::string name;                   // 1-32 chars, the account-name rule (check_account_name)
    bool builtin = false;               // Administrator, Operator: read-only definitions
    std::map<Area, Access> privileges;  // every area present when read from the store
    /// Read needs ReadOnly or ReadWrite; write needs ReadWrite. An area missing from `privileges`
    /// is Hidden (deny by default).
    bool allows(Area a, bool write) const;
};

/// The built-in definitions, as migration 002 seeds them (tests and the API's docs compare).
Group administrator_group();
Group operator_group();

}  // namespace sg::security::accounts
