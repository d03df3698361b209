// The value every adapter stores: the key it was stored under, so that a get can prove
// it found the right entry (the benchmark's checksum), and --value_bytes of filler in an
// allocation of their own (none for 0), so that an insert pays for allocating and
// writing a value of that size. Gets read the key only.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

#include "memo/key.h"

namespace memo_bench {

struct Payload {
  memo::Key key;
  std::unique_ptr<char[]> value;
};

inline Payload make_payload(const memo::Key& key, std::size_t value_bytes) {
  Payload payload{key, nullptr};
  if (value_bytes != 0) {
    payload.value = std::make_unique_for_overwrite<char[]>(value_bytes);
    std::memset(payload.value.get(), 'v', value_bytes);
  }
  return payload;
}

}  // namespace memo_bench
