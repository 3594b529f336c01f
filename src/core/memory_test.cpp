// memory_test.cpp: free heap goes back to the system (memory.h).
#include "core/memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <vector>

namespace sg::core {
namespace {

/// Resident pages of this process (statm's second field), in bytes.
std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0;
    std::size_t resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(MemoryTest, FreedHeapBelowALiveBlockIsGivenBack) {
#if !defined(__GLIBC__) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "malloc_trim is glibc's allocator's (a sanitizer brings its own)";
#endif
    // 16 MiB in 4 KiB blocks (below the mmap threshold: on the heap), touched, then all freed but
    // the last: it pins the top of the heap, so glibc's own trim of the top cannot return the rest.
    constexpr std::size_t kBlock = 4096;
    constexpr std::size_t kCount = 4096;
    std::vector<std::unique_ptr<char[]>> blocks;
    blocks.reserve(kCount);
    for (std::size_t i = 0; i < kCount; ++i) {
        blocks.push_back(std::make_unique<char[]>(kBlock));
        for (std::size_t j = 0; j < kBlock; j += 512) blocks.back()[j] = static_cast<char>(j);
    }
    for (std::size_t i = 0; i + 1 < kCount; ++i) blocks[i].reset();
    const std::size_t before = resident_bytes();
    EXPECT_TRUE(release_free_heap());
    const std::size_t after = resident_bytes();
    EXPECT_LT(after + 8 * 1024 * 1024, before) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace sg::core
