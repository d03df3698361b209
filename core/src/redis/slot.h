// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag -- the part
// between the first '{' and the next '}' when that part is not empty -- modulo 16384.
// Keys sharing a hash tag live on one node, which is what lets a Lua script or a
// pipeline touch all of them at once. Internal to the memo library.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace memo::redis {

inline constexpr int kSlots = 16384;

namespace detail {
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[static_cast<std::size_t>(byte)] = crc;
  }
  return table;
}
inline constexpr auto kCrc16Table = make_crc16_table();
}  // namespace detail

constexpr std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (char c : bytes) {
    const auto index = static_cast<std::uint8_t>((crc >> 8) ^ static_cast<std::uint8_t>(c));
    crc = static_cast<std::uint16_t>((crc << 8) ^ detail::kCrc16Table[index]);
  }
  return crc;
}

constexpr int key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) % kSlots;
}

// The reference values from the Redis Cluster specification.
static_assert(crc16("123456789") == 0x31C3);
static_assert(key_slot("foo") == 12182);
static_assert(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
static_assert(key_slot("foo{}{bar}") == crc16("foo{}{bar}") % kSlots);
static_assert(key_slot("foo{{bar}}zap") == crc16("{bar") % kSlots);

}  // namespace memo::redis
