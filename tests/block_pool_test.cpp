// The large-block pool of memory.h: freed blocks are reused, within its size rule and cap.
#include <catch2/catch.hpp>

#include <cstring>

#include "memo/memory.h"

namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// Sets a pool cap for one test and puts the previous one back.
class PoolLimit {
 public:
  explicit PoolLimit(std::size_t bytes) : previous_(memo::block_pool_limit()) {
    memo::release_pooled_memory();
    memo::set_block_pool_limit(bytes);
  }
  ~PoolLimit() {
    memo::release_pooled_memory();
    memo::set_block_pool_limit(previous_);
  }

 private:
  std::size_t previous_;
};

}  // namespace

TEST_CASE("block pool: a freed large block is reused for a request of about its size",
          "[memory]") {
  PoolLimit limit(64 * kMiB);
  memo::ByteOwner first = memo::allocate_bytes(8 * kMiB);
  std::memset(first.get(), 0x5a, 8 * kMiB);
  std::byte* const address = first.get();
  CHECK(reinterpret_cast<std::uintptr_t>(address) % (2 * kMiB) == 0);
  first.reset();
  CHECK(memo::pooled_memory_bytes() == 8 * kMiB);

  memo::ByteOwner bigger = memo::allocate_bytes(16 * kMiB);  // more than 1/8 larger: fresh
  CHECK(bigger.get() != address);
  CHECK(memo::pooled_memory_bytes() == 8 * kMiB);

  memo::ByteOwner again = memo::allocate_bytes(7 * kMiB + 1);  // rounds to 8 MiB
  CHECK(again.get() == address);
  CHECK(memo::pooled_memory_bytes() == 0);
  std::memset(again.get(), 0x11, 7 * kMiB + 1);  // reused pages are writable
}

TEST_CASE("block pool: the cap unmaps the oldest blocks - cap 0 disables pooling", "[memory]") {
  PoolLimit limit(20 * kMiB);
  memo::ByteOwner a = memo::allocate_bytes(8 * kMiB);
  memo::ByteOwner b = memo::allocate_bytes(8 * kMiB);
  memo::ByteOwner c = memo::allocate_bytes(8 * kMiB);
  std::byte* const c_address = c.get();
  a.reset();
  b.reset();
  c.reset();  // 24 MiB freed under a 20 MiB cap: a, the oldest, is unmapped
  CHECK(memo::pooled_memory_bytes() == 16 * kMiB);
  memo::set_block_pool_limit(8 * kMiB);
  CHECK(memo::pooled_memory_bytes() == 8 * kMiB);
  memo::ByteOwner reused = memo::allocate_bytes(8 * kMiB);
  CHECK(reused.get() == c_address);  // the newest survived

  memo::set_block_pool_limit(0);
  reused.reset();
  CHECK(memo::pooled_memory_bytes() == 0);
  CHECK(memo::release_pooled_memory() == 0);
}

TEST_CASE("block pool: small blocks come from the heap and are 64-byte aligned", "[memory]") {
  PoolLimit limit(64 * kMiB);
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, kMiB}) {
    memo::ByteOwner block = memo::allocate_bytes(size);
    CHECK(reinterpret_cast<std::uintptr_t>(block.get()) % 64 == 0);
  }
  CHECK(memo::pooled_memory_bytes() == 0);
}
