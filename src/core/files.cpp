// files.cpp: private directory and atomic file helpers. Called at start-up and by CLI subcommands,
// never on the data plane.
#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace sg::core {

Status ensure_private_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{ec, "cannot create data directory " + dir.string() + ": " + ec.message()};
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return Error::from_errno(errno, "stat " + dir.string());
    if (!S_ISDIR(st.st_mode)) {
        return make_error(Errc::invalid_config, dir.string() + " exists and is not a directory");
    }
    if (st.st_uid != ::geteuid()) {
        return make_error(Errc::refused,
                          "data directory " + dir.string() + " is owned by another user");
    }
    if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
        return Error::from_errno(errno, "chmod 0700 " + dir.string());
    }
    return {};
}

Status write_private_file(const std::filesystem::path& path, std::string_view content) {
    const std::string tmp = path.string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error::from_errno(errno, "open " + tmp);
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error::from_errno(err, "write " + tmp);
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error::from_errno(err, "fsync " + tmp);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return Error::from_errno(err, "rename " + tmp);
    }
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::from_errno(errno ? errno : ENOENT, "cannot read " + path.string());
    std::string out;
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        out.append(buf, static_cast<std::size_t>(in.gcount()));
        if (out.size() > max_bytes) {
            return make_error(Errc::invalid_config, path.string() + " is larger than " +
                                                        std::to_string(max_bytes) + " bytes");
        }
    }
    return out;
}

}  // namespace sg::core
