// memo_scenarios::AtomicList: the guide's list `[1, 2, 3]`, built from atomics.
//
// Why atomics: the guide's race is `first = l[0]; l[0] = first + 1` run by many
// sessions at once. With plain longs that is a C++ data race (undefined behaviour,
// which ThreadSanitizer rightly rejects); with std::atomic<long> and a separate load
// and store it is the same lost-update race, fully defined: updates can be lost,
// values are never torn. What the scenarios measure is therefore the guide's bug, not
// undefined behaviour.
//
// Why a mutex inside: the guide's remedy for a mutated cache_resource object is to
// make the object itself thread safe. mutex() is that object's own lock, taken by the
// `cache_resource_locked` strategy around its read-modify-write.
//
// Serializable (cereal save/load of the values only), so cache_data can cache it.
// Movable, not copyable: atomics and mutexes are neither. A moved-from list is empty
// and has no mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace memo_scenarios {

class AtomicList {
 public:
  AtomicList() = default;
  explicit AtomicList(const std::vector<long>& values)
      : size_(values.size()), values_(std::make_unique<std::atomic<long>[]>(values.size())) {
    for (std::size_t i = 0; i < size_; ++i) values_[i].store(values[i], std::memory_order_relaxed);
  }
  AtomicList(AtomicList&&) noexcept = default;
  AtomicList& operator=(AtomicList&&) noexcept = default;

  std::size_t size() const { return size_; }
  std::atomic<long>& operator[](std::size_t i) { return values_[i]; }
  const std::atomic<long>& operator[](std::size_t i) const { return values_[i]; }
  std::mutex& mutex() const { return *mutex_; }

  // Each element read once; not an atomic snapshot of the whole list.
  std::vector<long> values() const {
    std::vector<long> out(size_);
    for (std::size_t i = 0; i < size_; ++i) out[i] = values_[i].load();
    return out;
  }
  long sum() const {
    long total = 0;
    for (std::size_t i = 0; i < size_; ++i) total += values_[i].load();
    return total;
  }

  template <class Archive>
  void save(Archive& archive) const {
    archive(values());
  }
  template <class Archive>
  void load(Archive& archive) {
    std::vector<long> loaded;
    archive(loaded);
    *this = AtomicList(loaded);
  }

 private:
  std::size_t size_ = 0;
  std::unique_ptr<std::atomic<long>[]> values_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

}  // namespace memo_scenarios
