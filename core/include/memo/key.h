// Keys and clocks shared by the cache layer and every store engine.
//
// A Key is a 128-bit XXH3 digest of the function identity and the hashed arguments.
// Stores treat it as opaque; its low word is already well mixed, so engines use it
// directly as their bucket hash instead of hashing again.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace memo {

using Clock = std::chrono::steady_clock;

struct Key {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;

  friend bool operator==(const Key&, const Key&) = default;
  friend auto operator<=>(const Key&, const Key&) = default;

  // 32 lowercase hex digits, high word first: stable, file-name safe.
  std::string hex() const;
};

struct KeyHash {
  std::size_t operator()(const Key& key) const noexcept {
    return static_cast<std::size_t>(key.lo);
  }
};

}  // namespace memo
