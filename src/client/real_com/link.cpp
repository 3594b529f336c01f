// link.cpp: the `--link` symlink (link.h). Called by the `realcom` command at start, before the
// io_context runs, and at exit (the Link's destructor). Plain POSIX calls; errors are values.
#include "client/real_com/link.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

namespace sg::client::real_com {

namespace {

namespace fs = std::filesystem;

// The link's target, or "" when `path` is not a symlink (or is gone).
std::string read_link(const std::string& path) {
    std::string buf(4096, '\0');
    const ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0 || static_cast<std::size_t>(n) >= buf.size()) return {};
    buf.resize(static_cast<std::size_t>(n));
    return buf;
}

core::Status ensure_default_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return {};
    const int err = errno;
    return core::Error::from_errno(
        err, "create " + dir +
                 " for the link (a bare --link name goes there); give --link a path in a "
                 "directory you may write, e.g. /tmp/ttyR1, or create " +
                 dir + " writable for this user");
}

}  // namespace

std::string Link::resolve(const std::string& requested) {
    if (requested.find('/') == std::string::npos) {
        return std::string(kDefaultLinkDir) + "/" + requested;
    }
    std::error_code ec;
    auto abs = fs::absolute(requested, ec);
    return ec ? requested : abs.lexically_normal().string();
}

core::Result<Link> Link::create(const std::string& path, const std::string& target) {
    const fs::path p(path);
    if (p.filename().empty() || p.filename() == "." || p.filename() == "..") {
        return core::make_error(core::Errc::invalid_config, "--link " + path + " names no file");
    }
    const std::string dir = p.parent_path().string();
    if (dir == kDefaultLinkDir) {
        if (auto st = ensure_default_dir(dir); !st) return st.error();
    }

    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISLNK(st.st_mode)) {
        return core::make_error(core::Errc::already_exists,
                                path +
                                    " exists and is not a symlink: refusing to replace it "
                                    "(remove it, or choose another --link)");
    }

    // Atomic replacement: a fresh link under a temporary name in the same directory, renamed
    // over the old one. The temporary name carries our pid, so two clients starting at once do
    // not collide.
    std::string tmp_name = ".";
    tmp_name += p.filename().string();
    tmp_name += ".tmp";
    tmp_name += std::to_string(::getpid());
    const std::string tmp = (p.parent_path() / tmp_name).string();
    ::unlink(tmp.c_str());  // a leftover of a crashed run with the same pid
    if (::symlink(target.c_str(), tmp.c_str()) != 0) {
        return core::Error::from_errno(errno, "create the link " + tmp + " → " + target);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return core::Error::from_errno(err, "move the link into place at " + path);
    }
    return Link(path, target);
}

Link::Link(Link&& other) noexcept
    : path_(std::exchange(other.path_, {})), target_(std::move(other.target_)) {}

Link& Link::operator=(Link&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
        target_ = std::move(other.target_);
    }
    return *this;
}

Link::~Link() {
    remove();
}

void Link::remove() {
    if (path_.empty()) return;
    if (read_link(path_) == target_) ::unlink(path_.c_str());
    path_.clear();
}

}  // namespace sg::client::real_com
