#include "serial/tty_check.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "serial/device.h"

namespace sg::serial {
namespace {

namespace fs = std::filesystem;

/// A private directory standing in for /sys/class/tty, and for symlinks.
class TtyCheck : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("sg_tty_check_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "sys");
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// A sysfs entry `name` whose dev attribute says `numbers`.
    void sysfs(const std::string& name, const std::string& numbers) {
        fs::create_directories(dir_ / "sys" / name);
        std::ofstream(dir_ / "sys" / name / "dev") << numbers << "\n";
    }
    std::string sys() const { return (dir_ / "sys").string(); }

    fs::path dir_;
};

TEST_F(TtyCheck, ConsolesAreNeverSerialLines) {
    for (const auto& [maj, min, name] :
         {std::tuple{5U, 0U, "tty"}, std::tuple{5U, 1U, "console"}, std::tuple{5U, 2U, "ptmx"},
          std::tuple{4U, 0U, "tty0"}, std::tuple{4U, 1U, "tty1"}, std::tuple{4U, 63U, "tty63"}}) {
        sysfs(name, std::to_string(maj) + ":" + std::to_string(min));  // even when listed
        EXPECT_EQ(classify_tty(makedev(maj, min), name, sys()), TtyKind::Console) << name;
    }
}

TEST_F(TtyCheck, PtySlavesAreSerialLinesWithoutSysfs) {
    EXPECT_EQ(classify_tty(makedev(136, 0), "0", sys()), TtyKind::SerialLine);
    EXPECT_EQ(classify_tty(makedev(143, 9), "9", sys()), TtyKind::SerialLine);
    EXPECT_EQ(classify_tty(makedev(144, 0), "0", sys()), TtyKind::NotTty);
}

TEST_F(TtyCheck, OtherDevicesNeedTheirNumbersInSysClassTty) {
    sysfs("ttyS0", "4:64");
    sysfs("ttyUSB0", "188:0");
    EXPECT_EQ(classify_tty(makedev(4, 64), "ttyS0", sys()), TtyKind::SerialLine);
    EXPECT_EQ(classify_tty(makedev(188, 0), "ttyUSB0", sys()), TtyKind::SerialLine);
    // A node named like a tty but with other numbers (mknod /dev/ttyS0 c 10 130: a watchdog).
    EXPECT_EQ(classify_tty(makedev(10, 130), "ttyS0", sys()), TtyKind::NotTty);
    EXPECT_EQ(classify_tty(makedev(10, 130), "watchdog", sys()), TtyKind::NotTty);
    EXPECT_EQ(classify_tty(makedev(1, 3), "null", sys()), TtyKind::NotTty);
    EXPECT_EQ(classify_tty(makedev(4, 64), "..", sys()), TtyKind::NotTty);
    EXPECT_EQ(classify_tty(makedev(4, 64), "", sys()), TtyKind::NotTty);
}

TEST_F(TtyCheck, APtyPathAndASymlinkToItResolve) {
    int master = -1;
    int slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    const std::string pts = ::ttyname(slave);
    auto direct = check_tty_path(pts);
    ASSERT_TRUE(direct) << direct.error().message;
    EXPECT_EQ(direct->real_path, pts);
    fs::create_symlink(pts, dir_ / "by-id-link");
    auto linked = check_tty_path((dir_ / "by-id-link").string());
    ASSERT_TRUE(linked) << linked.error().message;
    EXPECT_EQ(linked->real_path, pts);  // what TermiosDevice opens
    EXPECT_EQ(linked->rdev, direct->rdev);
    ::close(slave);
    ::close(master);
}

TEST_F(TtyCheck, FilesOtherDevicesAndMissingPathsAreRefused) {
    const std::string file = (dir_ / "passwd").string();
    std::ofstream(file) << "root:x:0:0::/root:/bin/sh\n";
    auto f = check_tty_path(file);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, std::error_code(ENOTTY, std::generic_category()));
    EXPECT_EQ(f.error().message, "open " + file + ": not a character device");

    auto null = check_tty_path("/dev/null", sys());
    ASSERT_FALSE(null);
    EXPECT_EQ(null.error().message,
              "open /dev/null: not a serial line (a character device outside the tty class)");
    fs::create_symlink("/dev/null", dir_ / "ttyUSB9");  // a by-id style link to a non-tty
    auto link = check_tty_path((dir_ / "ttyUSB9").string(), sys());
    ASSERT_FALSE(link);
    EXPECT_EQ(link.error().code, std::error_code(ENOTTY, std::generic_category()));

    auto missing = check_tty_path((dir_ / "ttyUSB3").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, std::error_code(ENOENT, std::generic_category()));
}

TEST_F(TtyCheck, TheControllingTerminalIsRefusedAsAConsole) {
    if (!fs::exists("/dev/tty")) GTEST_SKIP() << "no /dev/tty here";
    auto t = check_tty_path("/dev/tty");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().message,
              "open /dev/tty: a console or controlling terminal, never a serial line");
}

TEST_F(TtyCheck, OpenRefusesAPathOutsideTheListBeforeTouchingIt) {
    asio::io_context io;
    const std::vector<std::string> allowed{"/dev/ttyS*"};
    // The list is checked on the text alone: the same answer for a path that exists and one
    // that does not.
    const std::string fifo = (dir_ / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto a = serial::open(asio::make_strand(io), fifo, config::SerialSettings{}, allowed);
    auto b =
        open(asio::make_strand(io), (dir_ / "nothing").string(), config::SerialSettings{}, allowed);
    ASSERT_FALSE(a);
    ASSERT_FALSE(b);
    EXPECT_EQ(a.error().message, fifo + " is not allowed by system.allowed_devices");
    EXPECT_EQ(b.error().message,
              (dir_ / "nothing").string() + " is not allowed by system.allowed_devices");
    EXPECT_EQ(a.error().code, b.error().code);
    // Allowed by the list, but no serial line: refused by the tty check, still never opened.
    const std::vector<std::string> null_allowed{"/dev/null"};
    auto c =
        serial::open(asio::make_strand(io), "/dev/null", config::SerialSettings{}, null_allowed);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, std::error_code(ENOTTY, std::generic_category()));
    // The default list (none) allows simulated lines only.
    auto sim = serial::open(asio::make_strand(io), "sim:loopback", config::SerialSettings{});
    ASSERT_TRUE(static_cast<bool>(sim));
    (*sim)->close();
}

}  // namespace
}  // namespace sg::serial
