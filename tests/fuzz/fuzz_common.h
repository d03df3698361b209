// What the fuzz target expects and the seed writer (fuzz_replay --make-seeds) writes:
// the function key, value key and value fingerprint of a valid cache file.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memo/key.h"

namespace memo_fuzz {

inline const memo::Key kFunction{1, 2};
inline const memo::Key kValue{3, 4};
inline constexpr std::uint64_t kFingerprint = 0x5eed5eed5eed5eedull;

// The first input byte picks the decoder (modulo kDecoders).
enum Decoder : std::uint8_t { disk_bytes = 0, frame_bytes = 1, cereal_bytes = 2, disk_file = 3 };
inline constexpr std::uint8_t kDecoders = 4;

// Inputs a decoder accepted whole (fuzz_replay reports it: the valid seeds must count).
inline std::size_t decoded = 0;

}  // namespace memo_fuzz
