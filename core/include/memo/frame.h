// memo::Frame: a small column table, the C++ stand-in for the guide's DataFrame.
//
// A Frame is a value: copying it copies every column (so a cache_data caller's copy
// is truly its own), moving it is free. Columns are named, typed and of equal length.
// A column's storage is an owner-managed block (memory.h), so a decoder can hand out
// columns that live in a copy-on-write mapping without the Frame knowing.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "memo/hash.h"
#include "memo/memory.h"

namespace memo {

enum class DType : std::uint8_t { f64 = 1, f32 = 2, i64 = 3, i32 = 4, u8 = 5 };

std::size_t dtype_size(DType type);
std::string_view to_string(DType type);
bool valid_dtype(std::uint8_t raw);

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, double>) return DType::f64;
  else if constexpr (std::is_same_v<T, float>) return DType::f32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return DType::i64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return DType::i32;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return DType::u8;
  else static_assert(detail::dependent_false<T>, "memo::Frame columns hold double, float, "
                     "int64_t, int32_t or uint8_t");
}

// The guide's pandas KeyError: a column that is not there.
class KeyError : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

class Column {
 public:
  Column(std::string name, DType type, std::size_t rows, ByteOwner data);

  const std::string& name() const { return name_; }
  DType dtype() const { return type_; }
  std::size_t rows() const { return rows_; }
  std::size_t size_bytes() const { return rows_ * dtype_size(type_); }

  std::span<std::byte> bytes() { return {data_.get(), size_bytes()}; }
  std::span<const std::byte> bytes() const { return {data_.get(), size_bytes()}; }

  template <class T>
  std::span<T> values() {
    check_type(dtype_of<T>());
    return {reinterpret_cast<T*>(data_.get()), rows_};
  }
  template <class T>
  std::span<const T> values() const {
    check_type(dtype_of<T>());
    return {reinterpret_cast<const T*>(data_.get()), rows_};
  }

  Column deep_copy() const;

 private:
  void check_type(DType wanted) const;

  std::string name_;
  DType type_;
  std::size_t rows_;
  ByteOwner data_;
};

class Frame {
 public:
  Frame() = default;
  Frame(const Frame& other);
  Frame& operator=(const Frame& other);
  Frame(Frame&&) noexcept = default;
  Frame& operator=(Frame&&) noexcept = default;

  template <class T>
  Column& add_column(std::string name, std::span<const T> values) {
    Column& column = add_uninitialized(std::move(name), dtype_of<T>(), values.size());
    copy_bytes(column.bytes().data(), values.data(), values.size_bytes());
    return column;
  }
  template <class T>
  Column& add_column(std::string name, std::initializer_list<T> values) {
    return add_column<T>(std::move(name), std::span<const T>(values.begin(), values.size()));
  }
  template <class T>
  Column& add_column(std::string name, const std::vector<T>& values) {
    return add_column<T>(std::move(name), std::span<const T>(values));
  }
  // A column of `rows` uninitialized values, for generators and decoders.
  Column& add_uninitialized(std::string name, DType type, std::size_t rows);
  // Adopts a column whose storage is already owned elsewhere (a mapping, a block).
  Column& adopt(Column column);

  // Throws KeyError naming the column when it is missing.
  Column& column(std::string_view name);
  const Column& column(std::string_view name) const;
  bool has_column(std::string_view name) const;
  // Removes a column in place, like pandas' drop(columns=[name], inplace=True).
  void drop(std::string_view name);

  std::size_t rows() const { return rows_; }
  std::size_t num_columns() const { return columns_.size(); }
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<Column>& columns() { return columns_; }
  std::size_t size_bytes() const;

  friend bool operator==(const Frame& a, const Frame& b);

 private:
  std::vector<Column>::iterator find(std::string_view name);
  std::vector<Column>::const_iterator find(std::string_view name) const;

  std::vector<Column> columns_;
  std::size_t rows_ = 0;
};

// Frames hash by shape, names, types and every value byte.
void memo_hash(Hasher& hasher, const Frame& frame);

}  // namespace memo
