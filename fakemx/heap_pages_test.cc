#include "fakemx/heap_pages.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

// The VmFlags of the mapping holding `p`, from /proc/self/smaps ("hg" is
// MADV_HUGEPAGE), or "" when none holds it.
std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<unsigned long>(p);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {  // a mapping's first line
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

#if defined(__linux__) && defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
TEST(HeapHugePages, MarksTheHeapGrownAfterEnabling) {
  ASSERT_TRUE(EnableHeapHugePages());
  EXPECT_TRUE(heap_pages_stats().enabled);
  EXPECT_TRUE(EnableHeapHugePages()) << "a second call changes nothing";
  const size_t before = heap_pages_stats().advised_bytes;

  // Small blocks come from the main arena's brk heap (this is the main
  // thread); more of them than the top pad makes it grow at least once.
  std::vector<void*> blocks;
  for (size_t total = 0; total < 2 * kHeapTopPadBytes; total += 1000) {
    blocks.push_back(std::malloc(1000));
    std::memset(blocks.back(), 1, 1000);
    AdviseHeapGrowth();
  }
  const HeapPagesStats stats = heap_pages_stats();
  EXPECT_GE(stats.advised_bytes - before, kHeapTopPadBytes);
  EXPECT_GE(stats.advice_calls, 2u);
  // The newest block lies in advised heap: the kernel says so.
  EXPECT_NE(VmFlagsOf(blocks.back()).find(" hg"), std::string::npos) << VmFlagsOf(blocks.back());
  for (void* b : blocks) std::free(b);
}
#endif

TEST(HeapHugePages, AdviseBeforeEnableDoesNothing) {
  // Order of tests is not guaranteed; this only checks that the call is
  // safe and does not turn the policy on by itself.
  const HeapPagesStats before = heap_pages_stats();
  AdviseHeapGrowth();
  const HeapPagesStats after = heap_pages_stats();
  EXPECT_EQ(before.enabled, after.enabled);
  if (!before.enabled) {
    EXPECT_EQ(after.advice_calls, 0u);
  }
}

}  // namespace
}  // namespace mxkit::fakemx
