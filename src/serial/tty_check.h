// tty_check.h: what the termios backend may open (issue 14 item 12). Before TermiosDevice opens a
// path it resolves it and checks, with stat and sysfs alone, that it names a character device of
// the tty class that is a serial line: never a regular file, another character device (opening
// /dev/watchdog arms the watchdog), a console or the controlling terminal. The allow-list of
// system.allowed_devices is checked before this, in serial::open() (config/devices.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "core/result.h"

namespace sg::serial {

/// Where the kernel lists the devices of the tty class, one directory per device name holding
/// its "MAJOR:MINOR" in `dev`.
inline constexpr std::string_view kSysClassTty = "/sys/class/tty";

enum class TtyKind {
    SerialLine,  // a UART, USB serial, ... (listed in sysfs) or a pty slave (/dev/pts/N)
    Console,     // /dev/tty, /dev/console, /dev/ptmx, virtual consoles /dev/tty0../dev/tty63
    NotTty,      // any other character device
};

/// Classifies the character device `rdev` found at a path whose last component is `name`:
/// consoles by their fixed numbers (Documentation/admin-guide/devices.txt), pty slaves by the
/// UNIX98 pty slave majors (they have no sysfs entry), anything else by
/// `sys_class_tty`/<name>/dev holding exactly rdev's "MAJOR:MINOR".
TtyKind classify_tty(dev_t rdev, std::string_view name,
                     std::string_view sys_class_tty = kSysClassTty);

/// The file TermiosDevice opens for `path`, and the device it must turn out to be.
struct TtyTarget {
    std::string real_path;  // `path` with every symlink resolved (/dev/serial/by-id/x -> ttyUSB0)
    dev_t rdev = 0;
};

/// Resolves `path` (realpath) and checks that it is a character device of kind SerialLine. Errors
/// name `path` ("open /dev/ttyUSB3: No such file or directory", ENOTTY "open /dev/null: not a
/// serial line (a character device outside the tty class)"). Opens nothing.
core::Result<TtyTarget> check_tty_path(const std::string& path,
                                       std::string_view sys_class_tty = kSysClassTty);

}  // namespace sg::serial
