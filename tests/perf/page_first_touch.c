// What fresh memory costs on this machine, for reading fakemx's figures
// (BENCHMARKS.md, issue 9, s17): the store keeps every message, so each
// message touches fresh pages that smtp-sink, which keeps nothing, never
// does. On the project VM (a guest with shadow paging) the first write to a
// 4 KiB page costs ~10 µs even when the kernel has already populated it.
//
//   cc -O2 -o /tmp/page_first_touch tests/perf/page_first_touch.c && /tmp/page_first_touch
//
// Prints, per 4 KiB, for 64 MiB mapped three times each way: the kernel's
// populate (MAP_POPULATE, or MADV_POPULATE_WRITE on transparent huge pages)
// and the first write after it. Not a test: it measures the machine.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  const size_t bytes = (size_t)64 << 20, huge = (size_t)2 << 20;
  const double pages = bytes / 4096.0;
  for (int round = 0; round < 3; ++round) {
    double t0 = Now();
    char* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return perror("mmap"), 1;
    double t1 = Now();
    memset(p, 1, bytes);
    double t2 = Now();
    memset(p, 2, bytes);
    double t3 = Now();
    printf("4 KiB pages, MAP_POPULATE: populate %.2f us, first write %.2f us, second write %.2f us per 4 KiB\n",
           (t1 - t0) / pages * 1e6, (t2 - t1) / pages * 1e6, (t3 - t2) / pages * 1e6);
    munmap(p, bytes);
  }
  for (int round = 0; round < 3; ++round) {
    char* raw = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return perror("mmap"), 1;
    char* p = (char*)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    madvise(p, bytes, MADV_HUGEPAGE);
    double t0 = Now();
    int rc = madvise(p, bytes, MADV_POPULATE_WRITE);
    double t1 = Now();
    memset(p, 1, bytes);
    double t2 = Now();
    printf("huge pages, MADV_POPULATE_WRITE%s: populate %.2f us, first write %.2f us per 4 KiB\n",
           rc == 0 ? "" : " (refused)", (t1 - t0) / pages * 1e6, (t2 - t1) / pages * 1e6);
    munmap(raw, bytes + huge);
  }
  return 0;
}
