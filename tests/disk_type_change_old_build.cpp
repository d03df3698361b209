// The "old build" half of disk_type_change_test.cpp: a persisted cache_data whose
// result type is spelled exactly as the new build spells it (an anonymous-namespace
// `Row`, so typeid names match) but has other fields.
#include <filesystem>
#include <string>

#include "memo/memo.h"

namespace {

struct Row {
  std::int32_t id = 0;
  template <class Archive>
  void serialize(Archive& archive) {
    archive(id);
  }
};

}  // namespace

namespace disk_type_change {

// Persists one value of the old Row under `.name = "type_change_rows"`.
void write_with_old_type(const std::filesystem::path& dir) {
  auto rows = memo::cache_data([](int n) { return Row{n}; },
                               {.name = "type_change_rows", .show_spinner = false,
                                .persist = memo::Persist::disk, .persist_directory = dir});
  rows(7);
}

}  // namespace disk_type_change
