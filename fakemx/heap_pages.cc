#include "fakemx/heap_pages.h"

#include <cstdint>

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#define MXKIT_HEAP_PAGES_SUPPORTED 1
#else
#define MXKIT_HEAP_PAGES_SUPPORTED 0
#endif

namespace mxkit::fakemx {
namespace {

// Process-wide, like the heap it describes; touched only by the thread
// that enabled it (the main arena's thread: fakemx's SMTP loop).
HeapPagesStats g_stats;
uintptr_t g_advised_end = 0;

constexpr uintptr_t kPageBytes = 4096;

}  // namespace

bool EnableHeapHugePages() {
#if MXKIT_HEAP_PAGES_SUPPORTED
  if (g_stats.enabled) return true;
  if (mallopt(M_TOP_PAD, static_cast<int>(kHeapTopPadBytes)) != 1) return false;
  // Where the heap begins: the current break (glibc's main arena starts at
  // it); what lies below it is the program's data, not ours to advise.
  void* brk_now = sbrk(0);
  if (brk_now == reinterpret_cast<void*>(-1)) return false;
  g_advised_end = reinterpret_cast<uintptr_t>(brk_now) & ~(kPageBytes - 1);
  g_stats.enabled = true;
  AdviseHeapGrowth();
  return true;
#else
  return false;
#endif
}

void AdviseHeapGrowth() {
#if MXKIT_HEAP_PAGES_SUPPORTED
  if (!g_stats.enabled) return;
  // sbrk(0) reads glibc's cached break: no system call.
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(sbrk(0)) + kPageBytes - 1) & ~(kPageBytes - 1);
  if (end <= g_advised_end) {
    // Trimmed back (glibc returned the top to the kernel): what grows there
    // again is a new mapping without the advice.
    g_advised_end = end;
    return;
  }
  // Advice only: on failure (THP compiled out) the pages stay 4 KiB.
  madvise(reinterpret_cast<void*>(g_advised_end), end - g_advised_end, MADV_HUGEPAGE);
  g_stats.advised_bytes += end - g_advised_end;
  ++g_stats.advice_calls;
  g_advised_end = end;
#endif
}

HeapPagesStats heap_pages_stats() { return g_stats; }

}  // namespace mxkit::fakemx
