// Argument hashing: the stable key of a cached call.
//
// A key is XXH3-128 over a canonical byte encoding of the arguments, so it is the
// same across processes, runs and machines of one endianness (the disk cache relies
// on that), unlike std::hash. The encoding is unambiguous: strings and containers are
// length-prefixed, so ("ab","c") and ("a","bc") differ.
//
// What hashes out of the box: integers, floating point (+0.0 and -0.0 hash alike),
// bool, enums, std::string/string_view, std containers (sequences in order; unordered
// containers independently of iteration order), pair/tuple/optional/variant, and any
// type with a hook. Hooks, in the order they are tried:
//   1. the cache's hash_funcs table (the guide's `hash_funcs`): memo::hash_funcs{...}
//      of callables, one per type, each returning something hashable;
//   2. an ADL function `void memo_hash(memo::Hasher&, const T&)` in T's namespace;
//   3. the built-in rules above.
// A type with none of these is a compile error pointing at the fix. memo::unhashed<T>
// arguments are left out of the key altogether (the guide's leading underscore).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ranges>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "memo/key.h"

namespace memo {

// Incremental XXH3-128. Small inputs (every typical argument list) stay in an inline
// buffer and are hashed in one shot at finish(): XXH3's streaming state is ~600 bytes
// to reset, which would dominate a cache_resource hit.
class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update_bytes(const void* data, std::size_t size);

  // Hashes any hashable value (see the rules above). Used by memo_hash hooks:
  //   void memo_hash(memo::Hasher& h, const Person& p) { h.update(p.name); }
  template <class T>
  void update(const T& value);

  Key finish();

 private:
  void spill();

  static constexpr std::size_t kInline = 256;
  unsigned char inline_[kInline];
  std::size_t inline_size_ = 0;
  struct Stream;
  std::unique_ptr<Stream> stream_;  // only once the inline buffer overflows
};

// An argument left out of the key (the guide's `_param`). Behaves like the value:
//   memo::cache_data([](memo::unhashed<Db*> db, int n) { return db->fetch(n); })
//   memo::cache_data([](memo::unhashed<Connection&> db, int n) { ... })  // by reference
// Anything T can be made from converts implicitly, so a lambda can be passed straight to
// an unhashed<std::function<...>> parameter.
template <class T>
class unhashed {
 public:
  template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>, unhashed> && std::is_constructible_v<T, U &&>)
  unhashed(U&& value) : value_(std::forward<U>(value)) {}  // NOLINT: implicit on purpose
  T& get() { return value_; }
  const T& get() const { return value_; }
  operator T&() { return value_; }
  operator const T&() const { return value_; }
  auto operator->() { return &deref(value_); }
  auto operator->() const { return &deref(value_); }
  template <class... A>
    requires std::is_invocable_v<T&, A...>
  decltype(auto) operator()(A&&... args) {
    return std::invoke(value_, std::forward<A>(args)...);
  }
  template <class... A>
    requires std::is_invocable_v<const T&, A...>
  decltype(auto) operator()(A&&... args) const {
    return std::invoke(value_, std::forward<A>(args)...);
  }

 private:
  template <class U>
  static auto& deref(U& v) {
    if constexpr (std::is_pointer_v<std::remove_cvref_t<U>> ||
                  requires { *v; v.operator->(); }) {
      return *v;
    } else {
      return v;
    }
  }
  T value_;
};

// By reference (the guide's `_db_connection` passed as is): the parameter refers to the
// caller's object; nothing is copied or hashed.
template <class T>
class unhashed<T&> {
 public:
  unhashed(T& value) : value_(&value) {}  // NOLINT: implicit on purpose
  T& get() const { return *value_; }
  operator T&() const { return *value_; }  // NOLINT: implicit on purpose
  T* operator->() const { return value_; }

 private:
  T* value_;
};

template <class T>
struct is_unhashed : std::false_type {};
template <class T>
struct is_unhashed<unhashed<T>> : std::true_type {};
template <class T>
inline constexpr bool is_unhashed_v = is_unhashed<std::remove_cvref_t<T>>::value;

// Per-cache hash functions (the guide's hash_funcs={Person: str}):
//   memo::hash_funcs{[](const Person& p) { return p.name; }}
// Each callable takes one type and returns a hashable stand-in for it.
template <class... Fns>
struct hash_funcs : Fns... {
  using Fns::operator()...;
};
template <class... Fns>
hash_funcs(Fns...) -> hash_funcs<Fns...>;
using no_hash_funcs = hash_funcs<>;

namespace detail {

template <class>
inline constexpr bool dependent_false = false;

template <class T>
concept has_adl_hook = requires(Hasher& h, const T& v) { memo_hash(h, v); };

template <class T>
concept unordered_range = requires { typename T::hasher; } && std::ranges::range<T>;

template <class T>
struct is_tuple_like : std::false_type {};
template <class... Ts>
struct is_tuple_like<std::tuple<Ts...>> : std::true_type {};
template <class A, class B>
struct is_tuple_like<std::pair<A, B>> : std::true_type {};
template <class T, std::size_t N>
struct is_tuple_like<std::array<T, N>> : std::false_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

template <class T>
struct is_smart_pointer : std::false_type {};
template <class T>
struct is_smart_pointer<std::shared_ptr<T>> : std::true_type {};
template <class T, class D>
struct is_smart_pointer<std::unique_ptr<T, D>> : std::true_type {};

inline void hash_size(Hasher& h, std::size_t n) {
  const auto v = static_cast<std::uint64_t>(n);
  h.update_bytes(&v, sizeof v);
}

template <class Funcs, class T>
void hash_value(Hasher& h, const T& value, const Funcs& funcs);

// Sum of element digests: commutative, so iteration order cannot change the key.
template <class Funcs, class R>
void hash_unordered(Hasher& h, const R& range, const Funcs& funcs) {
  std::uint64_t lo = 0, hi = 0;
  std::size_t n = 0;
  for (const auto& element : range) {
    Hasher one;
    hash_value(one, element, funcs);
    const Key k = one.finish();
    const std::uint64_t before = lo;
    lo += k.lo;
    hi += k.hi + (lo < before ? 1 : 0);
    ++n;
  }
  hash_size(h, n);
  h.update_bytes(&lo, sizeof lo);
  h.update_bytes(&hi, sizeof hi);
}

template <class Funcs, class T>
void hash_value(Hasher& h, const T& value, const Funcs& funcs) {
  using V = std::remove_cvref_t<T>;
  if constexpr (std::is_invocable_v<const Funcs&, const V&>) {
    hash_value(h, funcs(value), no_hash_funcs{});
  } else if constexpr (has_adl_hook<V>) {
    memo_hash(h, value);
  } else if constexpr (std::is_same_v<V, bool>) {
    const unsigned char b = value ? 1 : 0;
    h.update_bytes(&b, 1);
  } else if constexpr (std::is_integral_v<V> || std::is_enum_v<V>) {
    h.update_bytes(&value, sizeof value);
  } else if constexpr (std::is_floating_point_v<V>) {
    const V canonical = value == V(0) ? V(0) : value;  // -0.0 == 0.0 must hash alike
    h.update_bytes(&canonical, sizeof canonical);
  } else if constexpr (std::is_convertible_v<const V&, std::string_view> &&
                       !std::is_pointer_v<V>) {
    const std::string_view s(value);
    hash_size(h, s.size());
    h.update_bytes(s.data(), s.size());
  } else if constexpr (std::is_same_v<V, const char*> || std::is_same_v<V, char*>) {
    // A C string is hashed by content, exactly as the std::string with the same
    // characters (the guide: hashing is "trivial for a string"); null differs from "".
    if (value == nullptr) {
      constexpr std::uint64_t kNull = ~std::uint64_t{0};
      h.update_bytes(&kNull, sizeof kNull);
    } else {
      hash_value(h, std::string_view(value), funcs);
    }
  } else if constexpr (std::is_pointer_v<V> || is_smart_pointer<V>::value) {
    static_assert(dependent_false<V>,
                  "memo: pointer arguments are not hashed (the pointee may change behind the "
                  "key). Pass the value, or wrap the parameter as memo::unhashed<T> to leave "
                  "it out of the key.");
  } else if constexpr (is_optional<V>::value) {
    hash_value(h, value.has_value(), funcs);
    if (value) hash_value(h, *value, funcs);
  } else if constexpr (is_variant<V>::value) {
    hash_size(h, value.index());
    std::visit([&](const auto& alt) { hash_value(h, alt, funcs); }, value);
  } else if constexpr (is_tuple_like<V>::value) {
    std::apply([&](const auto&... parts) { (hash_value(h, parts, funcs), ...); }, value);
  } else if constexpr (unordered_range<V>) {
    hash_unordered(h, value, funcs);
  } else if constexpr (std::ranges::sized_range<V>) {
    hash_size(h, std::ranges::size(value));
    using Element = std::ranges::range_value_t<V>;
    if constexpr (std::is_arithmetic_v<Element> && !std::is_floating_point_v<Element> &&
                  std::ranges::contiguous_range<V>) {
      h.update_bytes(std::ranges::data(value), std::ranges::size(value) * sizeof(Element));
    } else {
      for (const auto& element : value) hash_value(h, element, funcs);
    }
  } else {
    static_assert(dependent_false<V>,
                  "memo: this argument type has no hash (see the 'T = ...' in the notes below "
                  "for which type). Fix: define `void memo_hash(memo::Hasher&, const T&)` in "
                  "T's namespace, pass memo::hash_funcs{[](const T&) { return ...; }} to the "
                  "cache, or wrap the parameter as memo::unhashed<T> to leave it out of the key.");
  }
}

}  // namespace detail

template <class T>
void Hasher::update(const T& value) {
  detail::hash_value(*this, value, no_hash_funcs{});
}

// Hashes one value with the default rules; handy in tests and hooks.
template <class T>
Key hash_of(const T& value) {
  Hasher h;
  h.update(value);
  return h.finish();
}

}  // namespace memo
