// tty_check.cpp: the stat and sysfs checks of tty_check.h. Called by TermiosDevice::open() on a
// port's strand before any open(2); reads only metadata (realpath, stat, a sysfs attribute), so a
// path that fails a check was never opened.
#include "serial/tty_check.h"

#include <linux/major.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <string>

namespace sg::serial {

namespace {

core::Error not_a_line(const std::string& path, std::string why) {
    return core::Error{std::error_code(ENOTTY, std::generic_category()),
                       "open " + path + ": " + std::move(why)};
}

}  // namespace

TtyKind classify_tty(dev_t rdev, std::string_view name, std::string_view sys_class_tty) {
    const unsigned maj = major(rdev);
    const unsigned min = minor(rdev);
    // devices.txt: 4:0..63 are the virtual consoles (4:64.. are ttyS0..); 5:0 /dev/tty (the
    // caller's controlling terminal), 5:1 /dev/console, 5:2 /dev/ptmx (opening it makes a pty).
    if (maj == TTY_MAJOR && min < 64) return TtyKind::Console;
    if (maj == TTYAUX_MAJOR && min <= 2) return TtyKind::Console;
    if (maj >= UNIX98_PTY_SLAVE_MAJOR && maj < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT) {
        return TtyKind::SerialLine;  // /dev/pts/N: devpts nodes have no /sys/class/tty entry
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
        return TtyKind::NotTty;
    }
    std::ifstream dev(std::string(sys_class_tty) + "/" + std::string(name) + "/dev");
    std::string numbers;
    if (!dev || !std::getline(dev, numbers)) return TtyKind::NotTty;
    // The name alone proves nothing (a node called ttyS0 may be any device): the numbers must be
    // those of the tty-class device of that name.
    return numbers == std::to_string(maj) + ":" + std::to_string(min) ? TtyKind::SerialLine
                                                                      : TtyKind::NotTty;
}

core::Result<TtyTarget> check_tty_path(const std::string& path, std::string_view sys_class_tty) {
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr) {
        return core::Error::from_errno(errno, "open " + path);  // ENOENT while a USB adapter is out
    }
    struct stat st {};
    if (::stat(real, &st) != 0) return core::Error::from_errno(errno, "open " + path);
    if (!S_ISCHR(st.st_mode)) return not_a_line(path, "not a character device");
    const std::string_view r(real);
    switch (classify_tty(st.st_rdev, r.substr(r.rfind('/') + 1), sys_class_tty)) {
        case TtyKind::SerialLine: return TtyTarget{std::string(real), st.st_rdev};
        case TtyKind::Console:
            return not_a_line(path, "a console or controlling terminal, never a serial line");
        case TtyKind::NotTty: break;
    }
    return not_a_line(path, "not a serial line (a character device outside the tty class)");
}

}  // namespace sg::serial
