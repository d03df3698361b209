// The errors memo throws at callers (besides what the cached function itself throws,
// which reaches every caller waiting on that run unchanged).
//
//   RecursiveCallError    a cached function called itself, on the same thread, with the
//                         same arguments while computing them: waiting would never end.
//   std::invalid_argument a cache that cannot be made as asked (unknown store, ttl <= 0,
//                         a store of bytes for cache_resource); thrown when it is declared.
//   CorruptData (codec.h) bytes that do not decode; the cache itself turns a corrupt
//                         persisted entry into a miss with a warning, so callers see it
//                         only from Codec used directly.
#pragma once

#include <stdexcept>

namespace memo {

class RecursiveCallError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace memo
