// Transparent huge pages for the heap fakemx's store grows into.
//
// Why: fakemx keeps every message it accepts. A 1 KiB message leaves about
// 4 KiB on the heap (the CapturedMessage, its envelope and verdict strings,
// its transcript entries), so a run with reused connections touches a fresh
// 4 KiB page for nearly every message: ~1.06 minor page faults per message
// (smtp-source -d), and on the project VM (a Firecracker guest) both the
// trap and the TLB misses over a heap of hundreds of MiB are expensive. With
// the heap in 2 MiB pages the same run took 0.31 faults per message (those
// left are the message bytes' own arena, fakemx/byte_arena.h), and malloc's
// share of fakemx's CPU fell from ~13% to ~1% (perf; BENCHMARKS.md, issue 9).
//
// glibc offers the same for its own heap with GLIBC_TUNABLES=
// glibc.malloc.hugetlb=1, but a tunable must be in the environment before
// the process starts. This does it from inside, for the main arena (the
// heap of the thread that runs the SMTP server in the fakemx binary): the
// heap grows in large steps (mallopt M_TOP_PAD), and each step is marked
// MADV_HUGEPAGE while most of it is still untouched. It is advice: without
// THP ("never") or where the kernel has no huge page free, pages stay 4 KiB
// and nothing else changes. Linux with glibc only; elsewhere a no-op.
//
// Not for a library: it changes process-wide malloc behaviour, so only a
// program's main (fakemx/main.cc) turns it on.

#ifndef MXKIT_FAKEMX_HEAP_PAGES_H_
#define MXKIT_FAKEMX_HEAP_PAGES_H_

#include <cstddef>

namespace mxkit::fakemx {

// How far ahead of what it needs the main heap grows: large enough that a
// step is mostly untouched when AdviseHeapGrowth marks it (a busy fakemx
// fills ~50 MiB/s), small enough to stay a fraction of the store's budget.
inline constexpr size_t kHeapTopPadBytes = size_t{64} << 20;

struct HeapPagesStats {
  bool enabled = false;
  size_t advised_bytes = 0;  // heap marked MADV_HUGEPAGE so far
  size_t advice_calls = 0;   // madvise calls made (one per heap step)
};

// Turns the policy on for the calling thread's heap (the main arena).
// Returns false, and changes nothing, where it is not supported.
bool EnableHeapHugePages();

// Marks heap grown since the last call. Cheap when it has not grown (no
// system call); call it where the heap grows, e.g. when a message is
// stored. A no-op until EnableHeapHugePages succeeded.
void AdviseHeapGrowth();

HeapPagesStats heap_pages_stats();

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_HEAP_PAGES_H_
