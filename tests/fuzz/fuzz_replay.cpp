// Runs the fuzz target over files (the committed corpus), or writes the seed corpus:
//   fuzz_replay FILE...           exit 0 when every input is handled
//   fuzz_replay --make-seeds DIR  writes one valid input per decoder
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/disk_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void write_seed(const std::string& path, std::uint8_t selector, std::span<const std::byte> body) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(selector));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

int make_seeds(const std::string& dir) {
  memo::Frame frame;
  frame.add_column<double>("Lat", {40.7, 40.8});
  frame.add_column<std::int32_t>("Base", {1, 2});
  const memo::Payload encoded = memo::Codec<memo::Frame>::encode(frame);
  const auto file = memo::DiskCache::encode_file({1, 2}, {3, 4}, std::chrono::system_clock::now(),
                                                 encoded.view(), {"Fetched data from API!"});
  write_seed(dir + "/disk_file_with_frame", 0, std::as_bytes(std::span(file)));
  write_seed(dir + "/frame", 1, encoded.view());
  const std::map<std::string, std::vector<double>> table{{"a", {1.0, 2.0}}, {"b", {}}};
  const memo::Payload cereal = memo::Codec<std::map<std::string, std::vector<double>>>::encode(table);
  write_seed(dir + "/cereal_map", 2, cereal.view());
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
  std::printf("fuzz_replay: %d inputs handled\n", argc - 1);
  return 0;
}
