// memo::cache_data and memo::cache_resource: Streamlit's two caching decorators.
//
//   auto load = memo::cache_data([](const std::string& url, int rows) { ... },
//                                {.ttl = std::chrono::hours(1), .max_entries = 1000});
//   memo::Frame df = load(url, 10);   // miss: runs, stores bytes, returns the value
//   memo::Frame df2 = load(url, 10);  // hit: a fresh copy decoded from the bytes
//
//   auto model = memo::cache_resource([](const std::string& path) { return Model(path); });
//   std::shared_ptr<Model> m = model("path");  // every caller: the same object
//
// cache_data hands every caller its own copy, so mutating a result never reaches the
// cache or another caller. cache_resource hands every caller the same object (a
// singleton per key), which callers may mutate and which must therefore be thread
// safe. The key is the function's identity plus every argument's hash (hash.h);
// memo::unhashed<T> parameters are left out.
//
// The callable must have one signature (no `auto` parameters): it is what the cached
// function's call operator takes and what is hashed.
//
// Thread safety: a cached function may be called from any number of threads at once.
// Concurrent misses on one key run the function once; the others wait for it
// (single-flight), while other keys proceed. If the function throws, nothing is
// cached and every caller waiting on that run receives the same exception; the next
// call runs the function again.
#pragma once

#include <cxxabi.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "memo/codec.h"
#include "memo/cow.h"
#include "memo/detail/cache_core.h"
#include "memo/detail/messages.h"
#include "memo/hash.h"
#include "memo/options.h"
#include "memo/stats.h"

namespace memo {
namespace detail {

template <class F>
struct signature : signature<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class R, class... A>
struct signature<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct signature<R(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const noexcept> : signature<R (*)(A...)> {};

std::string demangle(const char* mangled);

// The cache identity: kind, name, version, signature and the identity-shaping options.
template <class R, class... Args>
Key function_key(CacheKind kind, const std::string& name, std::uint64_t version,
                 const std::optional<std::chrono::nanoseconds>& ttl,
                 const std::optional<std::size_t>& max_entries,
                 const std::optional<std::size_t>& max_bytes, const std::string& store,
                 Scope scope, bool persisted = false, Copy copy = Copy::serialize) {
  Hasher h;
  h.update(static_cast<int>(kind));
  h.update(name);
  h.update(version);
  h.update(std::string_view(typeid(R).name()));
  (h.update(std::string_view(typeid(Args).name())), ...);
  h.update(ttl ? ttl->count() : -1);
  h.update(max_entries ? *max_entries : std::size_t{0});
  h.update(max_bytes ? *max_bytes : std::size_t{0});
  h.update(store);
  h.update(static_cast<int>(scope));
  h.update(persisted);
  h.update(static_cast<int>(copy));
  return h.finish();
}

template <class Funcs, class... Args>
Key value_key(const Key& function, const Funcs& funcs, const Args&... args) {
  Hasher h;
  h.update_bytes(&function, sizeof function);
  [[maybe_unused]] auto hash_one = [&](const auto& arg) {
    if constexpr (!is_unhashed_v<decltype(arg)>) hash_value(h, arg, funcs);
  };
  (hash_one(args), ...);
  return h.finish();
}

template <class Options>
CoreSettings common_settings(CacheKind kind, const Options& options, const std::string& name,
                             const Key& function_key) {
  CoreSettings s;
  s.kind = kind;
  s.display_name = name;
  s.function_key = function_key;
  s.ttl = options.ttl;
  s.store_name = options.store.name;
  s.store_config.max_entries = options.max_entries.value_or(0);
  s.max_bytes = options.max_bytes;
  s.spinner = options.show_spinner;
  s.show_time = options.show_time;
  s.observer = options.observer;
  return s;
}

template <class F>
std::string display_name(const std::string& name) {
  return name.empty() ? demangle(typeid(F).name()) : name;
}

template <class T>
struct shared_object {
  using type = T;
  static std::shared_ptr<T> wrap(T&& value) { return std::make_shared<T>(std::move(value)); }
};
template <class T>
struct shared_object<std::shared_ptr<T>> {
  using type = T;
  static std::shared_ptr<T> wrap(std::shared_ptr<T>&& value) { return std::move(value); }
};

class DataEntry final : public ValueEntry {
 public:
  DataEntry(Clock::time_point expires_at, Payload payload, std::vector<std::string> messages)
      : ValueEntry(expires_at, payload.size, std::move(messages)), payload_(std::move(payload)) {}
  std::span<const std::byte> bytes_view() const { return payload_.view(); }
  const Payload& payload() const { return payload_; }
  std::span<const std::byte> persistable_bytes() const override { return payload_.view(); }

 private:
  const Payload payload_;
};

template <class T>
class ResourceEntry final : public ValueEntry {
 public:
  ResourceEntry(Clock::time_point expires_at, std::shared_ptr<T> object, std::size_t bytes,
                std::vector<std::string> messages)
      : ValueEntry(expires_at, bytes, std::move(messages)), object_(std::move(object)) {}
  const std::shared_ptr<T>& object() const { return object_; }

 private:
  const std::shared_ptr<T> object_;
};

}  // namespace detail

// A function memoized by cache_data. Copyable; copies share the cache.
template <class F, class Funcs, class R, class... Args>
class CachedData {
 public:
  CachedData(F fn, const DataOptions& options, Funcs funcs)
      : fn_(std::move(fn)), funcs_(std::move(funcs)), copy_(options.copy) {
    const std::string name = detail::display_name<F>(options.name);
    const Key identity = detail::function_key<R, Args...>(
        detail::CacheKind::data, name, options.version, options.ttl, options.max_entries,
        options.max_bytes, options.store.name, Scope::global, options.persist == Persist::disk, options.copy);
    auto settings = detail::common_settings(detail::CacheKind::data, options, name, identity);
    if (options.persist == Persist::disk) {
      settings.persist_directory = options.persist_directory.empty() ? default_cache_directory()
                                                                     : options.persist_directory;
      settings.from_disk = [](DiskEntry&& file, Clock::time_point expires_at) -> EntryPtr {
        return std::make_shared<detail::DataEntry>(expires_at, std::move(file.payload),
                                                   std::move(file.messages));
      };
    }
    core_ = detail::CacheCore::open(std::move(settings));
  }

  R operator()(Args... args) const {
    const Key key = detail::value_key(core_->settings().function_key, funcs_, args...);
    std::optional<R> fresh;
    auto compute = [&](Clock::time_point expires_at) -> EntryPtr {
      detail::MessageRecorder recorder;
      fresh.emplace(std::invoke(fn_, std::forward<Args>(args)...));
      Payload payload = detail::encode_result(*fresh, copy_);
      return std::make_shared<detail::DataEntry>(expires_at, std::move(payload), recorder.take());
    };
    auto result = core_->get(key, {}, compute);
    if (fresh) return std::move(*fresh);
    return detail::decode_result<R>(static_cast<const detail::DataEntry&>(*result.entry).payload());
  }

  // Drops the entry for these arguments; clear() drops every entry of this function.
  void clear(Args... args) const
    requires(sizeof...(Args) > 0)
  {
    core_->erase(detail::value_key(core_->settings().function_key, funcs_, args...));
  }
  void clear() const { core_->clear(); }
  CacheStats stats() const { return core_->stats(); }
  const std::string& name() const { return core_->settings().display_name; }

 private:
  F fn_;
  Funcs funcs_;
  Copy copy_;
  std::shared_ptr<detail::CacheCore> core_;
};

// A function memoized by cache_resource. Copyable; copies share the cache.
template <class F, class Funcs, class R, class... Args>
class CachedResource {
  using Shared = detail::shared_object<R>;

 public:
  using Object = typename Shared::type;

  CachedResource(F fn, const ResourceOptions<Object>& options, Funcs funcs)
      : fn_(std::move(fn)),
        funcs_(std::move(funcs)),
        validate_(options.validate),
        weigh_(options.weigh) {
    const std::string name = detail::display_name<F>(options.name);
    const Key identity = detail::function_key<R, Args...>(
        detail::CacheKind::resource, name, options.version, options.ttl, options.max_entries,
        options.max_bytes, options.store.name, options.scope);
    auto settings = detail::common_settings(detail::CacheKind::resource, options, name, identity);
    settings.scope = options.scope;
    if (options.on_release) {
      settings.on_release = [on_release = options.on_release](const Entry& entry) {
        on_release(*static_cast<const detail::ResourceEntry<Object>&>(entry).object());
      };
    }
    core_ = detail::CacheCore::open(std::move(settings));
  }

  std::shared_ptr<Object> operator()(Args... args) const {
    const Key key = detail::value_key(core_->settings().function_key, funcs_, args...);
    auto compute = [&](Clock::time_point expires_at) -> EntryPtr {
      detail::MessageRecorder recorder;
      std::shared_ptr<Object> object = Shared::wrap(std::invoke(fn_, std::forward<Args>(args)...));
      const std::size_t bytes = weigh_ ? weigh_(*object) : 0;
      return std::make_shared<detail::ResourceEntry<Object>>(expires_at, std::move(object), bytes,
                                                             recorder.take());
    };
    auto validate = [this](const Entry& entry) {
      return validate_(*static_cast<const detail::ResourceEntry<Object>&>(entry).object());
    };
    detail::FunctionRef<bool(const Entry&)> accept;
    if (validate_) accept = validate;
    auto result = core_->get(key, accept, compute);
    return static_cast<const detail::ResourceEntry<Object>&>(*result.entry).object();
  }

  void clear(Args... args) const
    requires(sizeof...(Args) > 0)
  {
    core_->erase(detail::value_key(core_->settings().function_key, funcs_, args...));
  }
  void clear() const { core_->clear(); }
  CacheStats stats() const { return core_->stats(); }
  const std::string& name() const { return core_->settings().display_name; }

 private:
  F fn_;
  Funcs funcs_;
  std::function<bool(const Object&)> validate_;
  std::function<std::size_t(const Object&)> weigh_;
  std::shared_ptr<detail::CacheCore> core_;
};

namespace detail {

template <class F, class Funcs, class Tuple>
struct data_type;
template <class F, class Funcs, class... A>
struct data_type<F, Funcs, std::tuple<A...>> {
  using type = CachedData<F, Funcs, std::remove_cvref_t<typename signature<F>::result>, A...>;
};
template <class F, class Funcs, class Tuple>
struct resource_type;
template <class F, class Funcs, class... A>
struct resource_type<F, Funcs, std::tuple<A...>> {
  using type = CachedResource<F, Funcs, std::remove_cvref_t<typename signature<F>::result>, A...>;
};

template <class F>
using resource_object_t =
    typename shared_object<std::remove_cvref_t<typename signature<F>::result>>::type;

}  // namespace detail

template <class F, class Funcs = no_hash_funcs>
auto cache_data(F fn, const DataOptions& options = {}, Funcs funcs = {}) {
  using Cached = typename detail::data_type<F, Funcs, typename detail::signature<F>::args>::type;
  return Cached(std::move(fn), options, std::move(funcs));
}

template <class F, class Funcs = no_hash_funcs>
auto cache_resource(F fn, const ResourceOptions<detail::resource_object_t<F>>& options = {},
                    Funcs funcs = {}) {
  using Cached =
      typename detail::resource_type<F, Funcs, typename detail::signature<F>::args>::type;
  return Cached(std::move(fn), options, std::move(funcs));
}

// Clear every cache_data (or cache_resource) cache in the process.
void cache_data_clear_all();
void cache_resource_clear_all();

}  // namespace memo
