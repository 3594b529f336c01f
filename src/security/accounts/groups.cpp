// groups.cpp: menu areas, access levels, and the group half of Accounts (AZ-1, AZ-2). Called by the
// API's account handlers on their thread pool; each change is one store transaction. The built-in
// groups live in the store (migration 002) like custom ones, so a privilege check reads one source.
#include "security/accounts/groups.h"

#include <array>

#include "security/accounts/accounts.h"

namespace sg::security::accounts {

namespace {
constexpr std::array kAreas{Area::Overview,    Area::System,      Area::Network,
                            Area::Serial,      Area::Security,    Area::Accounts,
                            Area::Diagnostics, Area::Maintenance, Area::Administration};

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// Reads groups (all, or the one named) with their privileges; every area present, Hidden when the
// store has no row for it (deny by default).
core::Result<std::vector<Group>> read_groups(sqlite3* db, std::optional<std::string_view> only) {
    std::vector<Group> out;
    store::Statement g(db, only ? "SELECT name, builtin FROM groups WHERE name = ?"
                                : "SELECT name, builtin FROM groups ORDER BY builtin DESC, name");
    if (only) g.bind(1, *only);
    while (g.step()) {
        Group group{.name = g.text(0), .builtin = g.integer(1) != 0, .privileges = {}};
        for (Area a : kAreas) group.privileges[a] = Access::Hidden;
        out.push_back(std::move(group));
    }
    if (auto st = g.status(); !st) return st.error();
    for (auto& group : out) {
        store::Statement p(db, "SELECT area, access FROM group_privileges WHERE group_name = ?");
        p.bind(1, group.name);
        while (p.step()) {
            auto area = parse_area(p.text(0));
            auto access = parse_access(p.text(1));
            if (area && access) group.privileges[*area] = *access;
        }
        if (auto st = p.status(); !st) return st.error();
    }
    return out;
}
}  // namespace

std::span<const Area> all_areas() {
    return kAreas;
}

const char* to_string(Area a) {
    switch (a) {
        case Area::Overview: return "overview";
        case Area::System: return "system";
        case Area::Network: return "network";
        case Area::Serial: return "serial";
        case Area::Security: return "security";
        case Area::Accounts: return "accounts";
        case Area::Diagnostics: return "diagnostics";
        case Area::Maintenance: return "maintenance";
        case Area::Administration: return "administration";
    }
    return "?";
}

std::optional<Area> parse_area(std::string_view s) {
    for (Area a : kAreas) {
        if (s == to_string(a)) return a;
    }
    return std::nullopt;
}

const char* to_string(Access a) {
    switch (a) {
        case Access::Hidden: return "hidden";
        case Access::ReadOnly: return "read_only";
        case Access::ReadWrite: return "read_write";
    }
    return "?";
}

std::optional<Access> parse_access(std::string_view s) {
    for (Access a : {Access::Hidden, Access::ReadOnly, Access::ReadWrite}) {
        if (s == to_string(a)) return a;
    }
    return std::nullopt;
}

bool Group::allows(Area a, bool write) const {
    auto it = privileges.find(a);
    if (it == privileges.end()) return false;
    return write ? it->second == Access::ReadWrite : it->second != Access::Hidden;
}

Group administrator_group() {
    Group g{.name = std::string(kAdministrator), .builtin = true, .privileges = {}};
    for (Area a : kAreas) g.privileges[a] = Access::ReadWrite;
    return g;
}

Group operator_group() {
    Group g{.name = std::string(kOperator), .builtin = true, .privileges = {}};
    for (Area a : kAreas) g.privileges[a] = Access::ReadWrite;
    g.privileges[Area::Security] = Access::Hidden;  // guide §3.4: all but Security and
    g.privileges[Area::Accounts] = Access::Hidden;  // Account Management
    return g;
}

// ---------------------------------------------------------------- Accounts: groups

std::vector<Group> Accounts::groups() {
    auto r = store_.with([](sqlite3* db) { return read_groups(db, std::nullopt); });
    return r ? std::move(*r) : std::vector<Group>{};
}

std::optional<Group> Accounts::group(std::string_view name) {
    auto r = store_.with([&](sqlite3* db) { return read_groups(db, name); });
    if (!r || r->empty()) return std::nullopt;
    return std::move(r->front());
}

std::optional<Refused> Accounts::save_group(const Group& g) {
    if (equal_ignoring_ascii_case(g.name, kAdministrator) ||
        equal_ignoring_ascii_case(g.name, kOperator)) {
        return Refused{"builtin_group", "the built-in groups cannot be changed"};
    }
    if (auto st = check_account_name(g.name); !st) {
        return Refused{"invalid_name", "group name: " + st.error().message};
    }
    if (g.allows(Area::Accounts, true)) {  // AZ-2: account management write is the admins' alone
        return Refused{"escalation",
                       "only the Administrator group may change accounts (read_write on accounts)"};
    }
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement b(db, "SELECT builtin FROM groups WHERE name = ?");
        b.bind(1, g.name);
        if (b.step() && b.integer(0) != 0) {
            return Refused{"builtin_group", "the built-in groups cannot be changed"};
        }
        if (!b.status()) return Accounts::store_failed();
        store::Statement ins(db, "INSERT OR IGNORE INTO groups (name, builtin) VALUES (?, 0)");
        ins.bind(1, g.name);
        ins.step();
        store::Statement del(db, "DELETE FROM group_privileges WHERE group_name = ?");
        del.bind(1, g.name);
        del.step();
        if (!ins.status() || !del.status()) return Accounts::store_failed();
        for (Area a : kAreas) {
            auto it = g.privileges.find(a);
            const Access access = it == g.privileges.end() ? Access::Hidden : it->second;
            store::Statement p(
                db, "INSERT INTO group_privileges (group_name, area, access) VALUES (?, ?, ?)");
            p.bind(1, g.name).bind(2, to_string(a)).bind(3, to_string(access));
            p.step();
            if (!p.status()) return Accounts::store_failed();
        }
        return std::nullopt;
    });
}

std::optional<Refused> Accounts::remove_group(std::string_view name) {
    return write([&](sqlite3* db) -> std::optional<Refused> {
        store::Statement b(db, "SELECT builtin FROM groups WHERE name = ?");
        b.bind(1, name);
        if (!b.step()) {
            if (!b.status()) return Accounts::store_failed();
            return Refused{"not_found", "no such group"};
        }
        if (b.integer(0) != 0) {
            return Refused{"builtin_group", "the built-in groups cannot be deleted"};
        }
        store::Statement used(db, "SELECT count(*) FROM accounts WHERE group_name = ?");
        used.bind(1, name);
        if (!used.step()) return Accounts::store_failed();
        if (used.integer(0) > 0) {
            return Refused{"group_in_use", "the group still has " +
                                               std::to_string(used.integer(0)) +
                                               " account(s): move them first"};
        }
        store::Statement del(db, "DELETE FROM groups WHERE name = ?");  // privileges cascade
        del.bind(1, name);
        del.step();
        if (!del.status()) return Accounts::store_failed();
        return std::nullopt;
    });
}

}  // namespace sg::security::accounts
