#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/clock.h"
#include "core/files.h"
#include "core/result.h"

namespace sg::core {
namespace {

TEST(Result, HoldsValueOrError) {
    Result<int> good = 3;
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 3);
    Result<int> bad = make_error(Errc::not_found, "no such port");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, Errc::not_found);
    EXPECT_EQ(bad.error().message, "no such port");
}

TEST(Clock, FormatsUtcWithZone) {
    EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_utc(1'795'671'604'123'456), "2026-11-26T05:40:04.123456Z");
}

TEST(Files, PrivateDirAndFileModes) {
    auto dir =
        std::filesystem::temp_directory_path() / ("sg_core_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    ASSERT_TRUE(ensure_private_dir(dir / "data").ok());
    struct stat st {};
    ASSERT_EQ(::stat((dir / "data").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_TRUE(write_private_file(dir / "data" / "f", "secret").ok());
    ASSERT_EQ(::stat((dir / "data" / "f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    auto content = read_file(dir / "data" / "f");
    ASSERT_TRUE(content.ok());
    EXPECT_EQ(*content, "secret");
    EXPECT_FALSE(read_file(dir / "missing").ok());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sg::core
