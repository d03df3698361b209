// The entries the cache layer stores: what a cached call produced, plus the messages it
// emitted (replayed on every hit), behind the store engines' opaque memo::Entry.
//
//   DataEntry      cache_data: the serialized value (every hit decodes a private copy).
//   ResourceEntry  cache_resource: one shared object, handed to every caller.
//
// Entries are immutable once made, except for lifecycle flags that the cache layer alone
// writes (stores never look at them). Each is set at most once, so readers need no lock:
//   stored   a store accepted the entry: from then on the store reports its removal
//            exactly once, and the releases part runs on_release for it then.
//   retired  that removal has been processed: a thread's hit slot still holding the
//            entry treats it as gone (hit_slots.h).
//   slotted  some thread's hit slot holds it, so retiring it must tell the slots.
//
// Exactly-once release of resources: an object the cache makes is either stored (and
// released when the store reports it removed) or never stored -- a clear, an erase or a
// session disconnect won the race with its miss, or another entry was already there. A
// never-stored ResourceEntry runs on_release in its destructor, i.e. when the last handle
// to it goes (callers' shared_ptrs alias the entry, so they keep it alive). The cache layer
// never drops an entry reference while it holds one of its locks, so that destructor never
// runs under a memo lock.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "memo/codec.h"
#include "memo/store.h"

namespace memo::detail {

class ValueEntry : public Entry {
 public:
  ValueEntry(Clock::time_point expires_at, std::size_t bytes, std::vector<std::string> messages)
      : Entry(expires_at, bytes), messages_(std::move(messages)) {}

  const std::vector<std::string>& messages() const { return messages_; }
  // The serialized form a store of bytes (disk, Redis) can keep; empty when there is none.
  virtual std::span<const std::byte> persistable_bytes() const { return {}; }

  bool stored() const { return stored_.load(std::memory_order_acquire); }
  void mark_stored() const { stored_.store(true, std::memory_order_release); }
  bool retired() const { return retired_.load(); }
  void mark_retired() const { retired_.store(true); }
  bool slotted() const { return slotted_.load(); }
  void mark_slotted() const {
    if (!slotted_.load(std::memory_order_relaxed)) slotted_.store(true);
  }

 private:
  const std::vector<std::string> messages_;
  mutable std::atomic<bool> stored_{false};
  mutable std::atomic<bool> retired_{false};
  mutable std::atomic<bool> slotted_{false};
};

class DataEntry final : public ValueEntry {
 public:
  DataEntry(Clock::time_point expires_at, Payload payload, std::vector<std::string> messages)
      : ValueEntry(expires_at, payload.size, std::move(messages)), payload_(std::move(payload)) {}
  const Payload& payload() const { return payload_; }
  std::span<const std::byte> persistable_bytes() const override { return payload_.view(); }

 private:
  const Payload payload_;
};

// Runs a cache's on_release for a resource that was never stored (see above).
class UnstoredRelease {
 public:
  virtual ~UnstoredRelease() = default;
  virtual void release_unstored(const class ResourceEntry& entry) noexcept = 0;
};

class ResourceEntry final : public ValueEntry {
 public:
  ResourceEntry(Clock::time_point expires_at, std::shared_ptr<void> object, std::size_t bytes,
                std::vector<std::string> messages, UnstoredRelease* releaser)
      : ValueEntry(expires_at, bytes, std::move(messages)),
        object_(std::move(object)),
        releaser_(releaser) {}
  ~ResourceEntry() override {
    if (!stored() && releaser_ != nullptr) releaser_->release_unstored(*this);
  }

  void* object() const { return object_.get(); }

 private:
  const std::shared_ptr<void> object_;
  UnstoredRelease* const releaser_;  // the owning cache; caches live for the process
};

}  // namespace memo::detail
