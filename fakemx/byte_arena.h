// Bulk bytes (captured message contents) in large, pre-faulted chunks.
//
// Why: the capture store keeps every message it is sent. Kept in ordinary
// heap strings, a long run touches fresh memory with every message, and on a
// virtual machine each first touch of a 4 KiB page is a page fault costing
// tens of microseconds, more than the SMTP work of a 1 KiB message (issue 9
// "Performance": fakemx took ~0.67 faults per message, Postfix's smtp-sink
// 0.06). Here bytes are copied into 2 MiB chunks that are faulted in at once
// (MAP_POPULATE) and reused: a chunk whose bytes
// are all released goes back to a small spare list instead of to the kernel.
//
// Lifetime: an ArenaBytes keeps its chunk mapped (a reference count per
// chunk), so a reader holding a captured session keeps what it read after
// the store dropped it, and even after the arena itself is gone. The count
// is atomic because the last holder may be on another thread than the one
// that copied the bytes (a test reading the capture); the arena itself
// (Copy) is single-threaded, like the store.

#ifndef MXKIT_FAKEMX_BYTE_ARENA_H_
#define MXKIT_FAKEMX_BYTE_ARENA_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

namespace mxkit::fakemx {

namespace internal {
struct ArenaChunk;
struct ArenaPool;
}  // namespace internal

// A view of bytes in an arena chunk that keeps the chunk alive. Copying it
// shares the chunk (no byte copy).
class ArenaBytes {
 public:
  ArenaBytes() = default;
  ArenaBytes(const ArenaBytes& other);
  ArenaBytes(ArenaBytes&& other) noexcept;
  ArenaBytes& operator=(ArenaBytes other) noexcept;
  ~ArenaBytes();

  std::string_view view() const { return {data_, size_}; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  friend class ByteArena;
  ArenaBytes(internal::ArenaChunk* chunk, const char* data, size_t size)
      : chunk_(chunk), data_(data), size_(size) {}

  internal::ArenaChunk* chunk_ = nullptr;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

struct ByteArenaOptions {
  // How a new chunk's pages are faulted in before use.
  enum class Prefault {
    kPopulate,  // mmap(MAP_POPULATE): the kernel fills every 4 KiB page at once
    kHugePage,  // a 2 MiB-aligned chunk, madvise(MADV_HUGEPAGE), then populated
                // (one huge page where the kernel has one; else as kPopulate)
  };
  // kPopulate: on the project VM (THP "madvise", defrag "madvise") a huge
  // page costs a direct compaction per chunk, and fakemx ran 4x slower
  // with kHugePage (2,518 messages/s against 10,018, smtp-source -d, 20
  // sessions x 1,000 x 1 KiB) for the same page faults per message.
  size_t chunk_bytes = size_t{2} << 20;  // one x86-64 huge page
  // Released chunks kept for reuse (already faulted in); beyond these a
  // released chunk is unmapped, so memory falls when the store shrinks.
  size_t max_spare_chunks = 4;
  Prefault prefault = Prefault::kPopulate;
};

struct ByteArenaStats {
  size_t chunks_mapped = 0;  // chunks in use or spare (not counting oversize ones)
  size_t chunks_spare = 0;
  size_t chunks_reused = 0;  // taken from the spare list instead of mmap, ever
  size_t oversize_mapped = 0;  // ever: a mapping of its own, for bytes larger than a chunk
};

class ByteArena {
 public:
  explicit ByteArena(ByteArenaOptions options = {});
  ~ByteArena();
  ByteArena(const ByteArena&) = delete;
  ByteArena& operator=(const ByteArena&) = delete;

  // A copy of `bytes` in the arena. Bytes larger than a chunk get a mapping
  // of their own. Empty bytes take no memory. nullopt only when the kernel
  // refuses a mapping (ENOMEM); the caller then keeps its own copy.
  std::optional<ArenaBytes> Copy(std::string_view bytes);

  ByteArenaStats stats() const;

 private:
  ByteArenaOptions options_;
  std::shared_ptr<internal::ArenaPool> pool_;
  internal::ArenaChunk* current_ = nullptr;  // the arena's own reference
  size_t used_ = 0;                          // bytes of current_ handed out
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_BYTE_ARENA_H_
