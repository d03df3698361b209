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
// Caches live for the process (untyped_cache.h): a cached function is a view of the
// cache of its identity, so declaring it again -- in a function that runs per request,
// as a Streamlit script reruns -- finds what was stored before. Copies of a cached
// function are views of the same cache.
//
// Thread safety: a cached function may be called from any number of threads at once.
// Concurrent misses on one key run the function once; the others wait for it
// (single-flight), while other keys proceed. If the function throws, nothing is
// cached and every caller waiting on that run receives the same exception; the next
// call runs the function again.
//
// USAGE FAQ: where do my callbacks run, and what may they do?
//   The function itself     on the calling thread, holding no memo lock. It may call
//                           other cached functions (or this one with other arguments).
//   hash_funcs / memo_hash  on the calling thread, before anything is looked up.
//   validate                on the calling thread, on every hit, holding no memo lock;
//                           it may call any memo function. Throwing counts as false.
//   on_release              exactly once for every object the cache made, holding no memo
//                           lock, on whichever thread removed the entry (an evicting
//                           miss, clear(), disconnect(), a failed validate) -- or, for an
//                           object that was never stored because a clear or disconnect
//                           raced with its miss, on the thread that drops its last handle.
//                           It may call any memo function, including creating caches and
//                           clear_all. It must be thread safe. Exceptions are reported.
//   the observer            on the thread running the miss, holding no memo lock; the
//                           miss keeps the observer alive until it has finished with it,
//                           even if set_default_observer() replaces it meanwhile.
//   a session's sink        on the thread that emits, holding no memo lock.
//   When is an object destroyed? When it has left the cache and the last shared_ptr a
//   caller got is gone. A thread that hit the entry recently may hold it a little longer
//   (until that thread's next cached call or its exit).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "memo/codec.h"
#include "memo/cow.h"
#include "memo/disk_cache.h"
#include "memo/errors.h"
#include "memo/hash.h"
#include "memo/options.h"
#include "memo/stats.h"
#include "memo/untyped_cache.h"

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
template <class R, class... A>
struct signature<R (*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...)> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) noexcept> : signature<R (*)(A...)> {};
template <class C, class R, class... A>
struct signature<R (C::*)(A...) const noexcept> : signature<R (*)(A...)> {};

// What a persisted value's bytes depend on besides its name: a file written for another
// layout of R (a field added, a type changed) must be refused before it is decoded.
template <class R>
std::uint64_t value_fingerprint() {
  Hasher h;
  h.update(std::string_view(typeid(R).name()));
  h.update(sizeof(R));
  h.update(alignof(R));
  h.update(std::is_trivially_copyable_v<R>);
  h.update(std::is_same_v<R, Frame>);
  return h.finish().lo;
}

// The settings and identity of a cache: every option that shapes what is stored, the
// result type and the parameter types.
template <class R, class... Args, class Options>
CacheSettings settings_of(CacheKind kind, const Options& options, const std::string& name,
                          Scope scope, std::uint64_t flavour) {
  CacheSettings s;
  s.kind = kind;
  s.display_name = name;
  s.ttl = options.ttl;
  s.max_entries = options.max_entries.value_or(0);
  s.max_bytes = options.max_bytes;
  s.store_name = options.store.name;
  s.scope = scope;
  Hasher h;
  h.update(static_cast<int>(kind));
  h.update(name);
  h.update(options.version);
  h.update(std::string_view(typeid(R).name()));
  (h.update(std::string_view(typeid(Args).name())), ...);
  h.update(s.ttl ? s.ttl->duration().count() : -1);
  h.update(s.max_entries);
  h.update(s.max_bytes.value_or(0));
  h.update(s.store_name);
  h.update(static_cast<int>(scope));
  h.update(flavour);
  if constexpr (requires { options.persist_directory; }) {
    s.store_url = options.store_url;
    h.update(s.store_url);
    if (options.persist == Persist::disk) {
      s.persist_directory = options.persist_directory.empty() ? default_cache_directory()
                                                              : options.persist_directory;
      h.update(s.persist_directory->string());
      s.value_fingerprint = value_fingerprint<R>();
    }
  }
  s.identity = h.finish();
  return s;
}

template <class Funcs, class... Args>
Key value_key(const Key& identity, const Funcs& funcs, const Args&... args) {
  Hasher h;
  h.update_bytes(&identity, sizeof identity);
  [[maybe_unused]] auto hash_one = [&](const auto& arg) {
    if constexpr (!is_unhashed_v<decltype(arg)>) hash_value(h, arg, funcs);
  };
  (hash_one(args), ...);
  return h.finish();
}

// cache_resource's object: the function's shared_ptr as is, or its result constructed
// in place (so a type that can be neither copied nor moved can be returned by value).
template <class R>
struct shared_object {
  using type = R;
  template <class F, class... A>
  static std::shared_ptr<R> make(const F& fn, A&&... args) {
    return std::shared_ptr<R>(new R(std::invoke(fn, std::forward<A>(args)...)));
  }
};
template <class T>
struct shared_object<std::shared_ptr<T>> {
  using type = T;
  template <class F, class... A>
  static std::shared_ptr<T> make(const F& fn, A&&... args) {
    return std::invoke(fn, std::forward<A>(args)...);
  }
};

template <class F>
std::string display_name(const std::string& name) {
  return name.empty() ? readable_type_name(typeid(F)) : name;
}

}  // namespace detail

// A function memoized by cache_data. Copyable; copies are views of the same cache.
template <class F, class Funcs, class R, class... Args>
class CachedData {
 public:
  CachedData(F fn, const DataOptions& options, Funcs funcs)
      : fn_(std::move(fn)),
        funcs_(std::move(funcs)),
        copy_(options.copy),
        display_{options.show_spinner, options.show_time, options.observer} {
    const CacheSettings settings = detail::settings_of<R, Args...>(
        CacheKind::data, options, detail::display_name<F>(options.name), Scope::global,
        static_cast<std::uint64_t>(options.copy));
    cache_ = &UntypedCache::open(settings, {nullptr, options.observer});
    identity_ = settings.identity;
  }

  R operator()(Args... args) const {
    const Key key = detail::value_key(identity_, funcs_, args...);
    std::optional<R> value;
    cache_->get_data(
        key, display_, [&](const Payload& bytes) { value.emplace(detail::decode_result<R>(bytes)); },
        [&]() -> Payload {
          value.emplace(std::invoke(fn_, std::forward<Args>(args)...));
          return detail::encode_result(*value, copy_);
        });
    return std::move(*value);
  }

  // Drops the entry for these arguments; clear() drops every entry of this function.
  void clear(Args... args) const
    requires(sizeof...(Args) > 0)
  {
    cache_->erase(detail::value_key(identity_, funcs_, args...));
  }
  void clear() const { cache_->clear(); }
  CacheStats stats() const { return cache_->stats(); }
  const std::string& name() const { return cache_->name(); }
  // The cache's identity (a persisted cache's files live under <directory>/<identity hex>)
  // and the key a call with these arguments looks up (its file is <key hex>.memo).
  const Key& identity() const { return identity_; }
  Key key(const Args&... args) const { return detail::value_key(identity_, funcs_, args...); }

 private:
  F fn_;
  Funcs funcs_;
  Copy copy_;
  MissDisplay display_;
  UntypedCache* cache_ = nullptr;
  Key identity_;
};

// A function memoized by cache_resource. Copyable; copies are views of the same cache.
template <class F, class Funcs, class R, class... Args>
class CachedResource {
  using Shared = detail::shared_object<R>;

 public:
  using Object = typename Shared::type;

  CachedResource(F fn, const ResourceOptions<Object>& options, Funcs funcs)
      : fn_(std::move(fn)),
        funcs_(std::move(funcs)),
        validate_(options.validate),
        weigh_(options.weigh),
        display_{options.show_spinner, options.show_time, options.observer} {
    const CacheSettings settings = detail::settings_of<R, Args...>(
        CacheKind::resource, options, detail::display_name<F>(options.name), options.scope, 0);
    CacheCallbacks callbacks{nullptr, options.observer};
    if (options.on_release) {
      callbacks.on_release = [on_release = options.on_release](void* object) {
        on_release(*static_cast<Object*>(object));
      };
    }
    cache_ = &UntypedCache::open(settings, std::move(callbacks));
    identity_ = settings.identity;
  }

  std::shared_ptr<Object> operator()(Args... args) const {
    const Key key = detail::value_key(identity_, funcs_, args...);
    auto validate = [this](const void* object) {
      return validate_(*static_cast<const Object*>(object));
    };
    FunctionRef<bool(const void*)> accept;
    if (validate_) accept = validate;
    auto compute = [&]() -> MadeObject {
      std::shared_ptr<Object> object = Shared::make(fn_, std::forward<Args>(args)...);
      const std::size_t bytes = weigh_ && object ? weigh_(*object) : 0;
      return {std::move(object), bytes};
    };
    return std::static_pointer_cast<Object>(cache_->get_object(key, display_, accept, compute));
  }

  void clear(Args... args) const
    requires(sizeof...(Args) > 0)
  {
    cache_->erase(detail::value_key(identity_, funcs_, args...));
  }
  void clear() const { cache_->clear(); }
  CacheStats stats() const { return cache_->stats(); }
  const std::string& name() const { return cache_->name(); }
  const Key& identity() const { return identity_; }

 private:
  F fn_;
  Funcs funcs_;
  std::function<bool(const Object&)> validate_;
  std::function<std::size_t(const Object&)> weigh_;
  MissDisplay display_;
  UntypedCache* cache_ = nullptr;
  Key identity_;
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
