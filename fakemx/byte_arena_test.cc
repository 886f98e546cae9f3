#include "fakemx/byte_arena.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using Prefault = ByteArenaOptions::Prefault;

// Small chunks so a test crosses chunk boundaries with a few copies; the
// header takes 64 bytes of each.
constexpr size_t kSmallChunk = 8192;

class ByteArenaBothWays : public testing::TestWithParam<Prefault> {};

INSTANTIATE_TEST_SUITE_P(Prefault, ByteArenaBothWays,
                         testing::Values(Prefault::kPopulate, Prefault::kHugePage));

TEST_P(ByteArenaBothWays, CopiesAreByteForByteAcrossChunkBoundaries) {
  ByteArena arena({.chunk_bytes = kSmallChunk, .prefault = GetParam()});
  std::vector<std::string> originals;
  std::vector<ArenaBytes> copies;
  for (int i = 0; i < 100; ++i) {
    originals.push_back(std::string(100 + 37 * i, static_cast<char>('a' + i % 26)));
    std::optional<ArenaBytes> c = arena.Copy(originals.back());
    ASSERT_TRUE(c.has_value());
    copies.push_back(std::move(*c));
  }
  for (size_t i = 0; i < copies.size(); ++i) EXPECT_EQ(copies[i].view(), originals[i]) << i;
  EXPECT_GT(arena.stats().chunks_mapped, 1u);
}

TEST_P(ByteArenaBothWays, DefaultChunksAreUsable) {
  ByteArena arena({.prefault = GetParam()});
  const std::string bytes(1024, 'm');
  std::optional<ArenaBytes> c = arena.Copy(bytes);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->view(), bytes);
  EXPECT_EQ(arena.stats().chunks_mapped, 1u);
}

TEST(ByteArena, EmptyBytesTakeNoChunk) {
  ByteArena arena;
  std::optional<ArenaBytes> c = arena.Copy("");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->empty());
  EXPECT_EQ(arena.stats().chunks_mapped, 0u);
}

TEST(ByteArena, BytesLargerThanAChunkGetTheirOwnMapping) {
  ByteArena arena({.chunk_bytes = kSmallChunk});
  const std::string big(3 * kSmallChunk + 5, 'b');
  std::optional<ArenaBytes> c = arena.Copy(big);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->view(), big);
  EXPECT_EQ(arena.stats().oversize_mapped, 1u);
  EXPECT_EQ(arena.stats().chunks_mapped, 0u);
  // Exactly a chunk's capacity still fits a chunk.
  std::optional<ArenaBytes> fits = arena.Copy(std::string(kSmallChunk - 64, 'f'));
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(arena.stats().oversize_mapped, 1u);
  EXPECT_EQ(arena.stats().chunks_mapped, 1u);
}

// The store evicts oldest first: once every copy in a full chunk is gone,
// the chunk comes back as a spare and the next chunk is that one, already
// faulted in, not a fresh mapping.
TEST(ByteArena, AChunkIsReusedOnceEveryCopyInItIsReleased) {
  ByteArena arena({.chunk_bytes = kSmallChunk, .max_spare_chunks = 1});
  const std::string kb(1024, 'k');
  std::vector<ArenaBytes> first;
  for (int i = 0; i < 7; ++i) first.push_back(*arena.Copy(kb));  // 7 KiB: fills chunk 1
  std::optional<ArenaBytes> second = arena.Copy(kb);            // opens chunk 2
  EXPECT_EQ(arena.stats().chunks_mapped, 2u);
  first.pop_back();
  EXPECT_EQ(arena.stats().chunks_spare, 0u) << "a live copy keeps its chunk";
  first.clear();
  EXPECT_EQ(arena.stats().chunks_spare, 1u);
  std::vector<ArenaBytes> more;
  for (int i = 0; i < 7; ++i) more.push_back(*arena.Copy(kb));  // fills chunk 2, opens the spare
  EXPECT_EQ(arena.stats().chunks_reused, 1u);
  EXPECT_EQ(arena.stats().chunks_mapped, 2u);
  for (const ArenaBytes& b : more) EXPECT_EQ(b.view(), kb);
}

TEST(ByteArena, ReleasedChunksBeyondTheSpareLimitAreUnmapped) {
  ByteArena arena({.chunk_bytes = kSmallChunk, .max_spare_chunks = 1});
  std::vector<ArenaBytes> held;
  for (int i = 0; i < 4 * 7; ++i) held.push_back(*arena.Copy(std::string(1024, 'u')));
  EXPECT_EQ(arena.stats().chunks_mapped, 4u);
  held.clear();
  // Three full chunks released: one kept, two unmapped; the fourth is the
  // arena's current chunk.
  EXPECT_EQ(arena.stats().chunks_spare, 1u);
  EXPECT_EQ(arena.stats().chunks_mapped, 2u);
}

TEST(ByteArena, CopiesShareTheChunkAndOutliveTheArena) {
  std::optional<ArenaBytes> kept;
  {
    ByteArena arena({.chunk_bytes = kSmallChunk});
    std::optional<ArenaBytes> c = arena.Copy("hello");
    ASSERT_TRUE(c.has_value());
    ArenaBytes copy = *c;
    EXPECT_EQ(copy.data(), c->data()) << "a copy shares the bytes";
    kept = std::move(copy);
  }
  EXPECT_EQ(kept->view(), "hello");
}

// The last holder may release on another thread (a test reading the
// capture) while the arena's thread copies.
TEST(ByteArena, ReleasesOnAnotherThreadWhileCopying) {
  ByteArena arena({.chunk_bytes = kSmallChunk, .max_spare_chunks = 2});
  std::vector<ArenaBytes> batch;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 20; ++i) batch.push_back(*arena.Copy(std::string(700, 'r')));
    std::thread releaser([taken = std::move(batch)]() mutable { taken.clear(); });
    batch.clear();
    for (int i = 0; i < 5; ++i) {
      std::optional<ArenaBytes> c = arena.Copy(std::string(300, 'c'));
      ASSERT_TRUE(c.has_value());
      EXPECT_EQ(c->view(), std::string(300, 'c'));
    }
    releaser.join();
  }
  EXPECT_GT(arena.stats().chunks_reused, 0u);
}

}  // namespace
}  // namespace mxkit::fakemx
