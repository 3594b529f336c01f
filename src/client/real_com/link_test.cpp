// link_test.cpp: the `--link` symlink (link.h) in a private temporary directory.
#include "client/real_com/link.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sg::client::real_com {
namespace {

namespace fs = std::filesystem;

class LinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/sg_link_test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }
    static std::string target_of(const fs::path& p) { return fs::read_symlink(p).string(); }
    fs::path dir_;
};

TEST_F(LinkTest, CreatesAndRemoves) {
    const auto path = (dir_ / "ttyR1").string();
    {
        auto link = Link::create(path, "/dev/pts/99");
        ASSERT_TRUE(link) << link.error().message;
        EXPECT_TRUE(fs::is_symlink(path));
        EXPECT_EQ(target_of(path), "/dev/pts/99");
    }
    EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
}

TEST_F(LinkTest, ReplacesAStaleSymlink) {
    const auto path = (dir_ / "ttyR1").string();
    fs::create_symlink("/dev/pts/1", path);
    auto link = Link::create(path, "/dev/pts/2");
    ASSERT_TRUE(link) << link.error().message;
    EXPECT_EQ(target_of(path), "/dev/pts/2");
    // No temporary name is left behind.
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
    EXPECT_EQ(entries, 1U);
}

TEST_F(LinkTest, RefusesToReplaceARegularFileOrDirectory) {
    const auto file = (dir_ / "precious").string();
    std::ofstream(file) << "keep me";
    auto link = Link::create(file, "/dev/pts/2");
    ASSERT_FALSE(link);
    EXPECT_NE(link.error().message.find("not a symlink"), std::string::npos);
    EXPECT_TRUE(fs::is_regular_file(file));
    fs::create_directory(dir_ / "d");
    EXPECT_FALSE(Link::create((dir_ / "d").string(), "/dev/pts/2"));
    EXPECT_TRUE(fs::is_directory(dir_ / "d"));
}

TEST_F(LinkTest, LeavesALinkSomeoneElseTookOver) {
    const auto path = (dir_ / "ttyR1").string();
    auto link = Link::create(path, "/dev/pts/3");
    ASSERT_TRUE(link);
    fs::remove(path);
    fs::create_symlink("/dev/pts/4", path);  // another client's now
    link->remove();
    EXPECT_EQ(target_of(path), "/dev/pts/4");
}

TEST_F(LinkTest, MissingDirectoryIsAnError) {
    auto link = Link::create((dir_ / "no" / "such" / "ttyR1").string(), "/dev/pts/2");
    ASSERT_FALSE(link);
}

TEST(LinkResolve, BareNameGoesToTheDefaultDirectory) {
    EXPECT_EQ(Link::resolve("ttyR1"), "/run/serialgate/ttyR1");
    EXPECT_EQ(Link::resolve("/tmp/x/../ttyR1"), "/tmp/ttyR1");
    EXPECT_EQ(Link::resolve("./ttyR1"), (fs::current_path() / "ttyR1").string());
}

}  // namespace
}  // namespace sg::client::real_com
