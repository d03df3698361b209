// Fuzz target for every decoder that reads bytes memo did not just write itself:
// cache files (DiskCache::decode_file), encoded frames (Codec<Frame>) and cereal
// payloads (Codec<T>). The first input byte picks the decoder. A decoder may reject
// input only with CorruptData; anything else (a crash, a sanitizer report, another
// exception) is a bug.
//
// Built two ways (tests/fuzz.cmake): with clang -fsanitize=fuzzer for real fuzzing
// (scripts/fuzz), and with the normal compiler as fuzz_replay, which CTest runs over
// the committed corpus in tests/fuzz/corpus.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/disk_cache.h"

namespace {

const memo::Key kFunction{1, 2};
const memo::Key kValue{3, 4};

template <class Decode>
void expect_only_corrupt_data(Decode decode) {
  try {
    decode();
  } catch (const memo::CorruptData&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = std::as_bytes(std::span(data + 1, size - 1));
  switch (data[0] % 3) {
    case 0:
      expect_only_corrupt_data([&] {
        memo::DiskEntry entry = memo::DiskCache::decode_file(bytes, kFunction, kValue);
        memo::Codec<memo::Frame>::decode(entry.payload.view());
      });
      break;
    case 1:
      expect_only_corrupt_data([&] { memo::Codec<memo::Frame>::decode(bytes); });
      break;
    case 2:
      expect_only_corrupt_data(
          [&] { memo::Codec<std::map<std::string, std::vector<double>>>::decode(bytes); });
      break;
  }
  return 0;
}
