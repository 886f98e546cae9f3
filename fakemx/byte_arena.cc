#include "fakemx/byte_arena.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// MADV_POPULATE_WRITE is Linux 5.14; older headers lack the constant, and an
// older kernel answers EINVAL, after which the pages are touched by hand.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace mxkit::fakemx {
namespace internal {

// Lives at the start of its own mapping; the bytes follow it.
struct ArenaChunk {
  std::atomic<size_t> refs{1};
  size_t mapping_bytes = 0;
  size_t capacity = 0;  // bytes after the header
  // Null for an oversize mapping, which is never reused. Reset while the
  // chunk is spare, so spare chunks do not keep their pool alive.
  std::shared_ptr<ArenaPool> pool;

  char* bytes() { return reinterpret_cast<char*>(this) + kHeaderBytes; }
  static constexpr size_t kHeaderBytes = 64;
};
static_assert(sizeof(ArenaChunk) <= ArenaChunk::kHeaderBytes);

struct ArenaPool {
  explicit ArenaPool(size_t max_spare) : max_spare(max_spare) {}
  ~ArenaPool();

  const size_t max_spare;
  std::mutex mu;
  std::vector<ArenaChunk*> spare;  // guarded by mu; refs 0, pool null
  std::atomic<size_t> chunks_mapped{0};
  std::atomic<size_t> chunks_reused{0};
  std::atomic<size_t> oversize_mapped{0};
};

namespace {

constexpr size_t kPageBytes = 4096;

void Unmap(ArenaChunk* chunk) {
  const size_t bytes = chunk->mapping_bytes;
  chunk->~ArenaChunk();
  munmap(chunk, bytes);
}

// `bytes` of fresh, faulted-in memory with a chunk header at its start, or
// null when the kernel has none.
ArenaChunk* MapChunk(size_t bytes, ByteArenaOptions::Prefault prefault, size_t align) {
  void* at = nullptr;
  if (prefault == ByteArenaOptions::Prefault::kPopulate) {
    at = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
              -1, 0);
    if (at == MAP_FAILED) return nullptr;
  } else {
    // A transparent huge page needs a 2 MiB-aligned range: map more, trim.
    const size_t over = bytes + align;
    void* raw = mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (base + align - 1) & ~(uintptr_t{align} - 1);
    if (aligned > base) munmap(raw, aligned - base);
    const uintptr_t end = base + over;
    if (end > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
    at = reinterpret_cast<void*>(aligned);
    madvise(at, bytes, MADV_HUGEPAGE);  // advice: without THP the chunk is still usable
    if (madvise(at, bytes, MADV_POPULATE_WRITE) != 0) {
      char* p = static_cast<char*>(at);
      for (size_t i = 0; i < bytes; i += kPageBytes) p[i] = 0;
    }
  }
  auto* chunk = new (at) ArenaChunk;
  chunk->mapping_bytes = bytes;
  chunk->capacity = bytes - ArenaChunk::kHeaderBytes;
  return chunk;
}

void Acquire(ArenaChunk* chunk) { chunk->refs.fetch_add(1, std::memory_order_relaxed); }

void Release(ArenaChunk* chunk) {
  if (chunk->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::shared_ptr<ArenaPool> pool = std::move(chunk->pool);
  if (pool == nullptr) {  // oversize
    Unmap(chunk);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    if (pool->spare.size() < pool->max_spare) {
      pool->spare.push_back(chunk);
      return;  // `pool` may be the last reference: it then unmaps the spares
    }
  }
  pool->chunks_mapped.fetch_sub(1, std::memory_order_relaxed);
  Unmap(chunk);
}

// Copies into a chunk with non-temporal (streaming) stores where the CPU
// has them. The chunk's bytes are written once and read rarely (when the API
// or a test asks for the message), and they are fresh: an ordinary store
// first reads every cache line it writes from memory, and on the project VM
// that made the copy of a 1 KiB message ~8% of fakemx's CPU per message with
// smtp-source -d. Streaming stores write whole lines without reading them and
// leave the cache to the SMTP work.
void CopyIntoChunk(char* to, const char* from, size_t n) {
#if defined(__SSE2__)
  constexpr size_t kVector = 16;
  size_t head = (kVector - (reinterpret_cast<uintptr_t>(to) & (kVector - 1))) & (kVector - 1);
  if (n < 2 * kVector + head) {
    std::memcpy(to, from, n);
    return;
  }
  std::memcpy(to, from, head);
  to += head;
  from += head;
  n -= head;
  for (; n >= kVector; n -= kVector, to += kVector, from += kVector) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(to),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(from)));
  }
  std::memcpy(to, from, n);
  // Streaming stores are weakly ordered: fence them before the bytes are
  // published (the store's mutex, another thread reading them).
  _mm_sfence();
#else
  std::memcpy(to, from, n);
#endif
}

}  // namespace

ArenaPool::~ArenaPool() {
  for (ArenaChunk* chunk : spare) Unmap(chunk);
}

}  // namespace internal

using internal::ArenaChunk;
using internal::ArenaPool;

ArenaBytes::ArenaBytes(const ArenaBytes& other)
    : chunk_(other.chunk_), data_(other.data_), size_(other.size_) {
  if (chunk_ != nullptr) internal::Acquire(chunk_);
}

ArenaBytes::ArenaBytes(ArenaBytes&& other) noexcept
    : chunk_(std::exchange(other.chunk_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

ArenaBytes& ArenaBytes::operator=(ArenaBytes other) noexcept {
  std::swap(chunk_, other.chunk_);
  std::swap(data_, other.data_);
  std::swap(size_, other.size_);
  return *this;
}

ArenaBytes::~ArenaBytes() {
  if (chunk_ != nullptr) internal::Release(chunk_);
}

ByteArena::ByteArena(ByteArenaOptions options)
    : options_(options), pool_(std::make_shared<ArenaPool>(options.max_spare_chunks)) {}

ByteArena::~ByteArena() {
  if (current_ != nullptr) internal::Release(current_);
}

std::optional<ArenaBytes> ByteArena::Copy(std::string_view bytes) {
  if (bytes.empty()) return ArenaBytes();
  const size_t capacity = options_.chunk_bytes - ArenaChunk::kHeaderBytes;
  if (bytes.size() > capacity) {
    // A message larger than a chunk: its own mapping, unmapped with it.
    const size_t total = (ArenaChunk::kHeaderBytes + bytes.size() + internal::kPageBytes - 1) &
                         ~(internal::kPageBytes - 1);
    ArenaChunk* own = internal::MapChunk(total, ByteArenaOptions::Prefault::kPopulate, 0);
    if (own == nullptr) return std::nullopt;
    pool_->oversize_mapped.fetch_add(1, std::memory_order_relaxed);
    std::memcpy(own->bytes(), bytes.data(), bytes.size());
    return ArenaBytes(own, own->bytes(), bytes.size());  // takes the mapping's reference
  }
  if (current_ == nullptr || current_->capacity - used_ < bytes.size()) {
    ArenaChunk* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      if (!pool_->spare.empty()) {
        next = pool_->spare.back();
        pool_->spare.pop_back();
      }
    }
    if (next != nullptr) {
      next->refs.store(1, std::memory_order_relaxed);
      pool_->chunks_reused.fetch_add(1, std::memory_order_relaxed);
    } else {
      next = internal::MapChunk(options_.chunk_bytes, options_.prefault, options_.chunk_bytes);
      if (next == nullptr) return std::nullopt;
      pool_->chunks_mapped.fetch_add(1, std::memory_order_relaxed);
    }
    next->pool = pool_;
    if (current_ != nullptr) internal::Release(current_);
    current_ = next;
    used_ = 0;
  }
  char* at = current_->bytes() + used_;
  internal::CopyIntoChunk(at, bytes.data(), bytes.size());
  used_ += bytes.size();
  internal::Acquire(current_);
  return ArenaBytes(current_, at, bytes.size());
}

ByteArenaStats ByteArena::stats() const {
  ByteArenaStats s;
  s.chunks_mapped = pool_->chunks_mapped.load(std::memory_order_relaxed);
  s.chunks_reused = pool_->chunks_reused.load(std::memory_order_relaxed);
  s.oversize_mapped = pool_->oversize_mapped.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(pool_->mu);
  s.chunks_spare = pool_->spare.size();
  return s;
}

}  // namespace mxkit::fakemx
