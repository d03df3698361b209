// Runs the fuzz target over files (the committed corpus), or writes the seed corpus:
//   fuzz_replay FILE...           exit 0 when every input is handled
//   fuzz_replay --make-seeds DIR  writes one valid input per decoder, plus cache files
//                                 with a foreign fingerprint and impossible sizes
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "memo/codec.h"
#include "memo/disk_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void write_seed(const std::string& path, std::uint8_t selector, std::span<const std::byte> body) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(selector));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

// Overwrites 8 bytes at `offset` (a header field) of a copy of `file`.
std::vector<std::byte> with_field(std::vector<std::byte> file, std::size_t offset, std::uint64_t value) {
  std::memcpy(file.data() + offset, &value, sizeof value);
  return file;
}

int make_seeds(const std::string& dir) {
  using namespace memo_fuzz;
  memo::Frame frame;
  frame.add_column<double>("Lat", {40.7, 40.8});
  frame.add_column<std::int32_t>("Base", {1, 2});
  const memo::Payload encoded = memo::Codec<memo::Frame>::encode(frame);
  const auto file = memo::DiskCache::encode_file(kFunction, kValue, kFingerprint,
                                                 std::chrono::system_clock::now(), encoded.view(),
                                                 {"Fetched data from API!"});
  const auto as_bytes = [](const std::vector<std::byte>& bytes) { return std::span(bytes); };
  // Header field offsets (disk_cache.h): fingerprint 48, messages size 64, payload size 72.
  write_seed(dir + "/disk_file_with_frame", disk_bytes, as_bytes(file));
  write_seed(dir + "/disk_file_other_fingerprint", disk_bytes, as_bytes(with_field(file, 48, 1)));
  write_seed(dir + "/disk_file_huge_payload_size", disk_bytes,
             as_bytes(with_field(file, 72, std::uint64_t{1} << 62)));
  write_seed(dir + "/disk_load_with_frame", disk_file, as_bytes(file));
  write_seed(dir + "/disk_load_other_fingerprint", disk_file, as_bytes(with_field(file, 48, 1)));
  write_seed(dir + "/disk_load_huge_messages_size", disk_file,
             as_bytes(with_field(file, 64, ~std::uint64_t{0})));
  write_seed(dir + "/frame", frame_bytes, encoded.view());
  const std::map<std::string, std::vector<double>> table{{"a", {1.0, 2.0}}, {"b", {}}};
  const memo::Payload cereal = memo::Codec<std::map<std::string, std::vector<double>>>::encode(table);
  write_seed(dir + "/cereal_map", cereal_bytes, cereal.view());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--make-seeds") return make_seeds(argv[2]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_replay FILE... | --make-seeds DIR\n");
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz_replay: cannot read %s\n", argv[i]);
      return 2;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("fuzz_replay: %d inputs handled, %zu decoded whole\n", argc - 1, memo_fuzz::decoded);
  return 0;
}
