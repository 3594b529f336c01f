// link.h: the stable name applications open (`--link`): a symlink to the pty slave, whose own
// name (/dev/pts/N) changes from run to run. Created at start, replaced atomically when a stale
// symlink is in the way, never written over anything that is not a symlink, removed at exit.
// Synchronous file-system calls, used by the `realcom` command before the io_context runs and by
// client.cpp's destructor.
#pragma once

#include <string>

#include "core/result.h"

namespace sg::client::real_com {

/// Where a bare link name (no '/') goes.
inline constexpr const char* kDefaultLinkDir = "/run/serialgate";

class Link {
public:
    /// A bare name → kDefaultLinkDir/name; a relative path → absolute (from the working
    /// directory); an absolute path as given.
    static std::string resolve(const std::string& requested);

    /// Points `path` (already resolved) at `target`. An existing symlink there is replaced
    /// atomically (a new link under a temporary name, then rename()), so an application never
    /// sees the name missing; a regular file, directory or device there is refused. When `path`
    /// is in kDefaultLinkDir and that directory is missing, it is created (0755) first; if that
    /// is not allowed the error says what to do instead.
    static core::Result<Link> create(const std::string& path, const std::string& target);

    Link(Link&& other) noexcept;
    Link& operator=(Link&& other) noexcept;
    Link(const Link&) = delete;
    Link& operator=(const Link&) = delete;
    ~Link();

    /// Removes the symlink if it still points at our target (another process may have taken
    /// the name meanwhile: its link is left alone). Idempotent.
    void remove();

    const std::string& path() const { return path_; }
    const std::string& target() const { return target_; }

private:
    Link(std::string path, std::string target)
        : path_(std::move(path)), target_(std::move(target)) {}
    std::string path_;  // empty once removed or moved from
    std::string target_;
};

}  // namespace sg::client::real_com
