// audit.h: which event types record the administrators' own actions, and which of them a change of
// `event_log.types` switches on or off (AU-3; issue 14 item 7). Pure functions over the catalog and
// the settings. The API refuses such a change without the Security privilege and a recent
// re-authentication (web/api Api::commit); every path that changes the settings (API, `config
// import`, `serve --config`, SIGHUP) records it as security.policy_changed while the old settings
// are still in force.
//
// Why a privilege and not "always recorded": AU-3 lets each of these types be switched off (only
// Security Error/Warning cannot be, events::mandatory()), so an administrator keeps that choice;
// what must not happen is that someone without the Security privilege (an Operator has Diagnostics
// write, which owns event_log) switches off the record of what administrators do.
#pragma once

#include <string>
#include <vector>

#include "config/settings.h"
#include "events/catalog.h"
#include "events/log.h"

namespace sg::events {

/// The Security category's types of severity Notice and above: account created, changed,
/// deleted, unlocked, password, group, policy and certificate changed, session ended; and the
/// mandatory() ones (Error, Warning), which no setting switches off anyway.
inline bool audits_administrators(const Type& t) {
    return t.category == Category::Security &&
           (t.severity == Severity::Error || t.severity == Severity::Warning ||
            t.severity == Severity::Notice);
}

/// Whether `settings` has `t` recorded (as Log::enabled() under those settings).
inline bool recorded(const config::EventLogSettings& settings, const Type& t) {
    if (mandatory(t)) return true;
    auto it = settings.types.find(std::string(t.key));
    return it == settings.types.end() ? t.default_on : it->second;
}

/// The audits_administrators() types recorded under one of the two settings and not the other,
/// in catalog order.
inline std::vector<const Type*> audit_changes(const config::EventLogSettings& before,
                                              const config::EventLogSettings& after) {
    std::vector<const Type*> out;
    for (const Type* t : catalog()) {
        if (audits_administrators(*t) && recorded(before, *t) != recorded(after, *t)) {
            out.push_back(t);
        }
    }
    return out;
}

/// "security.account_created off, security.group_changed on": the changes as `after` has them.
inline std::string describe_audit_changes(const std::vector<const Type*>& changes,
                                          const config::EventLogSettings& after) {
    std::string s;
    for (const Type* t : changes) {
        if (!s.empty()) s += ", ";
        s += std::string(t->key) + (recorded(after, *t) ? " on" : " off");
    }
    return s;
}

}  // namespace sg::events
