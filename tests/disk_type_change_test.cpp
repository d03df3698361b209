// Issue: "a persisted value that no longer decodes fails forever". Same `.name`, the
// result type changed its fields: the new build must see a miss with one warning and
// replace the file, never throw CorruptData on every call. (With a value fingerprint
// of 0 for every type, the cache layer before v2, every call threw "cached value is
// truncated".)
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

#include "support/disk_testing.h"
#include "support/test_helpers.h"

namespace disk_type_change {
void write_with_old_type(const std::filesystem::path& dir);
}

namespace {

struct Row {  // the new layout, under the same (anonymous-namespace) name
  std::string label;
  double weight = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(label, weight);
  }
};

}  // namespace

TEST_CASE("disk: a persisted value whose type changed is a miss with one warning, then replaced",
          "[disk]") {
  disk_test::TempDir dir;
  disk_type_change::write_with_old_type(dir.path);
  int runs = 0;
  auto make = [&](std::shared_ptr<memo::MissObserver> observer) {
    return memo::cache_data(
        [&runs](int n) { ++runs; return Row{"row " + std::to_string(n), n * 0.5}; },
        {.name = "type_change_rows", .show_spinner = false, .observer = std::move(observer),
         .persist = memo::Persist::disk, .persist_directory = dir.path});
  };
  auto observer = memo_test::recorder();
  {
    auto rows = make(observer);
    Row row;
    REQUIRE_NOTHROW(row = rows(7));
    CHECK(row.label == "row 7");
    CHECK(runs == 1);
    CHECK(observer->count(memo::RecordingObserver::Event::warning) == 1);
  }
  // The replacement on disk holds the new type: decode it as the next process would.
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::recursive_directory_iterator(dir.path)) {
    if (item.path().extension() == ".memo" && item.path().filename().string()[0] != '.') {
      files.push_back(item.path());
    }
  }
  REQUIRE(files.size() == 1);
  std::ifstream in(files[0], std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto bytes = std::as_bytes(std::span(text));
  REQUIRE(bytes.size() > 56);
  memo::Key function_key, key;
  std::uint64_t fingerprint = 0;
  std::memcpy(&function_key, bytes.data() + 16, sizeof function_key);
  std::memcpy(&key, bytes.data() + 32, sizeof key);
  std::memcpy(&fingerprint, bytes.data() + 48, sizeof fingerprint);
  const memo::DiskEntry entry = memo::DiskCache::decode_file(bytes, function_key, key, fingerprint);
  CHECK(memo::Codec<Row>::decode(entry.payload.view()).label == "row 7");
}
