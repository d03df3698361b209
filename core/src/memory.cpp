#include "memo/memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace memo {
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeThreshold = std::size_t{4} << 20;
constexpr std::size_t kParallelCopyThreshold = std::size_t{64} << 20;

}  // namespace

ByteOwner allocate_bytes(std::size_t size) {
  const std::size_t alignment = size >= kHugeThreshold ? kHugePage : 64;
  const std::size_t rounded = (std::max<std::size_t>(size, 1) + alignment - 1) / alignment * alignment;
  void* block = std::aligned_alloc(alignment, rounded);
  if (block == nullptr) throw std::bad_alloc();
  if (alignment == kHugePage) madvise(block, rounded, MADV_HUGEPAGE);
  return ByteOwner(static_cast<std::byte*>(block), [](std::byte* p) { std::free(p); });
}

void copy_bytes(void* destination, const void* source, std::size_t size) {
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  if (size < kParallelCopyThreshold || workers == 1) {
    std::memcpy(destination, source, size);
    return;
  }
  // Chunks are whole huge pages so no two threads fault the same page.
  const std::size_t chunk = (size / workers + kHugePage - 1) / kHugePage * kHugePage;
  std::vector<std::thread> helpers;
  auto* out = static_cast<char*>(destination);
  const auto* in = static_cast<const char*>(source);
  for (std::size_t begin = chunk; begin < size; begin += chunk) {
    const std::size_t length = std::min(chunk, size - begin);
    helpers.emplace_back([=] { std::memcpy(out + begin, in + begin, length); });
  }
  std::memcpy(out, in, std::min(chunk, size));
  for (auto& helper : helpers) helper.join();
}

std::size_t available_memory_bytes() {
  std::FILE* meminfo = std::fopen("/proc/meminfo", "r");
  if (meminfo == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, meminfo) != nullptr) {
    if (std::sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
  }
  std::fclose(meminfo);
  return static_cast<std::size_t>(kib) * 1024;
}

}  // namespace memo
