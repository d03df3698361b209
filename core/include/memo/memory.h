// Byte storage for cached payloads and frame columns.
//
// Why not std::vector<std::byte>: a vector zero-fills, doubling the page-fault bill
// on fresh memory (a copy into fresh memory is page-fault bound), and
// it cannot carry a foreign owner such as a copy-on-write mapping. A shared_ptr with
// a deleter can: heap blocks, huge-page blocks and mappings all look the same.
//
// Large blocks and the block pool
//   Blocks of kLargeBlockBytes or more are anonymous mappings of their own, 2 MiB
//   aligned and advised for transparent huge pages (512× fewer page faults). When one
//   is freed it is not unmapped but kept in a process-wide pool, its pages marked
//   MADV_FREE, and the next allocation of about the same size takes it back.
//   Benefits: a cache_data hit after the caller dropped its previous copy (a rerun)
//     copies into memory that is already mapped, at warm memcpy speed, several times
//     faster than into fresh huge pages (docs/copy-costs.md has the measurements).
//   Costs: the process keeps the address space and, until the kernel needs them, the
//     pages. MADV_FREE pages are reclaimable without swap and count in MemAvailable,
//     so other processes do not lose memory to the pool; a reclaimed page simply
//     faults in as zero again on reuse.
//   Limits: a block is reused only for a request within 1/8 of its size; the pool
//     holds at most block_pool_limit() bytes (default: half of physical memory) and
//     unmaps the oldest blocks beyond it.
//
// All functions are thread safe.
#pragma once

#include <cstddef>
#include <memory>

namespace memo {

using ByteOwner = std::shared_ptr<std::byte>;

// Blocks this large come from their own huge-page mapping and return to the pool.
inline constexpr std::size_t kLargeBlockBytes = std::size_t{4} << 20;

// Uninitialized, 64-byte aligned storage for `size` bytes. Blocks of several MiB are
// 2 MiB aligned and advised for transparent huge pages, which cuts page faults 512×.
ByteOwner allocate_bytes(std::size_t size);

// memcpy for large blocks: splits the copy across hardware threads so both the
// page faults of a fresh destination and the copying run in parallel.
void copy_bytes(void* destination, const void* source, std::size_t size);

// Bytes of memory the system reports as available now (MemAvailable), or 0 if unknown.
std::size_t available_memory_bytes();

// Bytes of freed large blocks kept for reuse.
std::size_t pooled_memory_bytes();
// Unmaps every pooled block; returns the bytes given back.
std::size_t release_pooled_memory();
// Caps the pool (0 disables pooling: freed large blocks are unmapped at once) and
// trims it to the new cap.
void set_block_pool_limit(std::size_t bytes);
std::size_t block_pool_limit();

}  // namespace memo
