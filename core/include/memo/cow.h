// Copy-on-write copies of cached frames (cache_data with Copy::cow).
//
// What it is: the stored form of a Frame result is a sealed memory file (memfd_create,
// then F_SEAL_WRITE|GROW|SHRINK|SEAL) holding Codec<Frame>'s bytes. A hit maps that
// file MAP_PRIVATE once and hands out a Frame whose columns point into the mapping.
//
// Benefits: a hit costs one mmap plus a few small allocations, independent of the
//   frame's size (tens of microseconds for gigabytes; docs/copy-costs.md). The caller
//   may write freely: the first write to a page copies that page only (4 KiB).
// Costs: the page faults are deferred, not avoided. The first read of each page maps
//   it (fault-around maps 64 KiB per fault), the first write
//   of each page copies it, and dropping a fully-read copy unmaps its page tables
//   (docs/copy-costs.md). Storing costs more than serialize's copy: the file's pages
//   are 4 KiB shmem pages (shmem huge pages are usually off), written several times
//   slower than a copy into reused memory.
// Why no MAP_POPULATE: on a writable private mapping it breaks copy-on-write up front,
//   copying every page (seconds for gigabytes, against microseconds without).
//
// Guarantees: the seals make the file immutable for everyone, the cache included, so
//   a caller's pages never change under it, and private mappings never write through:
//   no caller's write reaches the cache or another caller. A copy stays valid after
//   its entry is evicted or cleared (the mapping holds the file).
//
// Limits: each stored entry holds one file descriptor and one read-only mapping. When
//   a sealed file cannot be made (descriptor limit, no memfd_create), the entry is
//   stored as ordinary serialized bytes and hits copy; nothing else changes. Entries
//   read back from a disk cache (persist) are plain bytes too, so their hits copy.
//   Only Frame results are mapped: other types must be rebuilt element by element
//   whatever their bytes live in, so Copy::cow stores and copies them exactly as
//   Copy::serialize does.
//
// Thread safety: all functions are thread safe; a stored payload is immutable.
#pragma once

#include <type_traits>

#include "memo/codec.h"
#include "memo/frame.h"
#include "memo/options.h"

namespace memo::cow {

// Whether this kernel offers sealed memory files.
bool available();

// Codec<Frame>'s bytes for `frame` in a sealed memory file; the Payload's view is a
// read-only shared mapping of it. Falls back to Codec<Frame>::encode (see Limits).
Payload encode_frame(const Frame& frame);

// Whether `payload` lives in a sealed memory file made by encode_frame.
bool is_sealed(const Payload& payload);

// A frame whose columns live in one private mapping of the payload's file. A payload
// that is not sealed (or a mapping the kernel refuses) is decoded by copying instead.
Frame map_frame(const Payload& payload);

}  // namespace memo::cow

namespace memo::detail {

// The cache layer's two entry points: how cache_data stores a result, and how a hit
// turns the stored payload back into the caller's copy.
template <class R>
Payload encode_result(const R& value, Copy copy) {
  if constexpr (std::is_same_v<R, Frame>) {
    if (copy == Copy::cow) return cow::encode_frame(value);
  }
  return Codec<R>::encode(value);
}

template <class R>
R decode_result(const Payload& payload) {
  if constexpr (std::is_same_v<R, Frame>) {
    if (cow::is_sealed(payload)) return cow::map_frame(payload);
  }
  return Codec<R>::decode(payload.view());
}

}  // namespace memo::detail
