// Fuzz target for every decoder that reads bytes memo did not just write itself:
// cache files, both as bytes (DiskCache::decode_file) and as a file on disk read by
// DiskCache::load (its own streaming reader: header sizes checked against the real file
// size, value fingerprint, checksum), encoded frames (Codec<Frame>) and cereal payloads
// (Codec<T>). The first input byte picks the decoder. A decoder may reject input only
// with CorruptData, and DiskCache::load only with nullopt; anything else (a crash, a
// sanitizer report, another exception) is a bug.
//
// Built two ways (tests/fuzz.cmake): with clang -fsanitize=fuzzer for real fuzzing
// (scripts/fuzz), and with the normal compiler as fuzz_replay, which CTest runs over
// the committed corpus in tests/fuzz/corpus.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "fuzz_common.h"
#include "memo/disk_cache.h"

namespace {

using memo_fuzz::kFingerprint;
using memo_fuzz::kFunction;
using memo_fuzz::kValue;

// One cache directory for the whole run, removed at exit.
const memo::DiskCache& disk() {
  static const std::filesystem::path root = [] {
    char pattern[] = "/tmp/memo-fuzz-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    return std::filesystem::path(made != nullptr ? made : "/tmp/memo-fuzz-unusable");
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(root, ignored);
    }
  } cleanup;
  static const memo::DiskCache cache(root, kFunction, kFingerprint, std::nullopt, std::nullopt,
                                     nullptr);
  return cache;
}

void load_from_file(std::span<const std::byte> bytes) {
  const memo::DiskCache& cache = disk();
  std::error_code ignored;
  std::filesystem::create_directories(cache.folder(), ignored);
  {
    std::ofstream out(cache.file_for(kValue), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  if (auto entry = cache.load(kValue)) {
    memo::Codec<memo::Frame>::decode(entry->payload.view());
    ++memo_fuzz::decoded;
  }
}

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
  switch (data[0] % memo_fuzz::kDecoders) {
    case memo_fuzz::disk_bytes:
      expect_only_corrupt_data([&] {
        memo::DiskEntry entry = memo::DiskCache::decode_file(bytes, kFunction, kValue, kFingerprint);
        memo::Codec<memo::Frame>::decode(entry.payload.view());
        ++memo_fuzz::decoded;
      });
      break;
    case memo_fuzz::frame_bytes:
      expect_only_corrupt_data([&] {
        memo::Codec<memo::Frame>::decode(bytes);
        ++memo_fuzz::decoded;
      });
      break;
    case memo_fuzz::cereal_bytes:
      expect_only_corrupt_data([&] {
        memo::Codec<std::map<std::string, std::vector<double>>>::decode(bytes);
        ++memo_fuzz::decoded;
      });
      break;
    case memo_fuzz::disk_file:
      expect_only_corrupt_data([&] { load_from_file(bytes); });
      break;
  }
  return 0;
}
