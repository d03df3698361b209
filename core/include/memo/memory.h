// Byte storage for cached payloads and frame columns.
//
// Why not std::vector<std::byte>: a vector zero-fills, doubling the page-fault bill
// on fresh memory (DESIGN.md §5: fresh memory is page-fault bound at 0.4–2 GB/s), and
// it cannot carry a foreign owner such as a copy-on-write mapping. A shared_ptr with
// a deleter can: heap blocks, huge-page blocks and mappings all look the same.
#pragma once

#include <cstddef>
#include <memory>

namespace memo {

using ByteOwner = std::shared_ptr<std::byte>;

// Uninitialized, 64-byte aligned storage for `size` bytes. Blocks of several MiB are
// 2 MiB aligned and advised for transparent huge pages, which cuts page faults 512×.
ByteOwner allocate_bytes(std::size_t size);

// memcpy for large blocks: splits the copy across hardware threads so both the
// page faults of a fresh destination and the copying run in parallel.
void copy_bytes(void* destination, const void* source, std::size_t size);

// Bytes of memory the system reports as available now (MemAvailable), or 0 if unknown.
std::size_t available_memory_bytes();

}  // namespace memo
