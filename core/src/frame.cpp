#include "memo/frame.h"

#include <algorithm>
#include <cstring>

namespace memo {

std::size_t dtype_size(DType type) {
  switch (type) {
    case DType::f64: case DType::i64: return 8;
    case DType::f32: case DType::i32: return 4;
    case DType::u8: return 1;
  }
  return 0;
}

std::string_view to_string(DType type) {
  switch (type) {
    case DType::f64: return "float64";
    case DType::f32: return "float32";
    case DType::i64: return "int64";
    case DType::i32: return "int32";
    case DType::u8: return "uint8";
  }
  return "unknown";
}

bool valid_dtype(std::uint8_t raw) { return raw >= 1 && raw <= 5; }

Column::Column(std::string name, DType type, std::size_t rows, ByteOwner data)
    : name_(std::move(name)), type_(type), rows_(rows), data_(std::move(data)) {}

void Column::check_type(DType wanted) const {
  if (wanted != type_) {
    throw std::invalid_argument("memo: column '" + name_ + "' holds " +
                                std::string(to_string(type_)) + ", not " +
                                std::string(to_string(wanted)));
  }
}

Column Column::deep_copy() const {
  ByteOwner copy = allocate_bytes(size_bytes());
  copy_bytes(copy.get(), data_.get(), size_bytes());
  return Column(name_, type_, rows_, std::move(copy));
}

Frame::Frame(const Frame& other) : rows_(other.rows_) {
  columns_.reserve(other.columns_.size());
  for (const auto& column : other.columns_) columns_.push_back(column.deep_copy());
}

Frame& Frame::operator=(const Frame& other) {
  if (this != &other) *this = Frame(other);
  return *this;
}

Column& Frame::adopt(Column column) {
  if (has_column(column.name())) {
    throw std::invalid_argument("memo: frame already has a column '" + column.name() + "'");
  }
  if (!columns_.empty() && column.rows() != rows_) {
    throw std::invalid_argument("memo: column '" + column.name() + "' has " +
                                std::to_string(column.rows()) + " rows; the frame has " +
                                std::to_string(rows_));
  }
  rows_ = column.rows();
  columns_.push_back(std::move(column));
  return columns_.back();
}

Column& Frame::add_uninitialized(std::string name, DType type, std::size_t rows) {
  ByteOwner data = allocate_bytes(rows * dtype_size(type));
  return adopt(Column(std::move(name), type, rows, std::move(data)));
}

std::vector<Column>::iterator Frame::find(std::string_view name) {
  return std::find_if(columns_.begin(), columns_.end(),
                      [&](const Column& c) { return c.name() == name; });
}

std::vector<Column>::const_iterator Frame::find(std::string_view name) const {
  return std::find_if(columns_.begin(), columns_.end(),
                      [&](const Column& c) { return c.name() == name; });
}

Column& Frame::column(std::string_view name) {
  auto it = find(name);
  if (it == columns_.end()) throw KeyError("['" + std::string(name) + "'] not found in axis");
  return *it;
}

const Column& Frame::column(std::string_view name) const {
  auto it = find(name);
  if (it == columns_.end()) throw KeyError("['" + std::string(name) + "'] not found in axis");
  return *it;
}

bool Frame::has_column(std::string_view name) const { return find(name) != columns_.end(); }

void Frame::drop(std::string_view name) {
  auto it = find(name);
  if (it == columns_.end()) throw KeyError("['" + std::string(name) + "'] not found in axis");
  columns_.erase(it);
  if (columns_.empty()) rows_ = 0;
}

std::size_t Frame::size_bytes() const {
  std::size_t total = 0;
  for (const auto& column : columns_) total += column.size_bytes();
  return total;
}

bool operator==(const Frame& a, const Frame& b) {
  if (a.rows_ != b.rows_ || a.columns_.size() != b.columns_.size()) return false;
  for (std::size_t i = 0; i < a.columns_.size(); ++i) {
    const Column& x = a.columns_[i];
    const Column& y = b.columns_[i];
    if (x.name() != y.name() || x.dtype() != y.dtype() ||
        std::memcmp(x.bytes().data(), y.bytes().data(), x.size_bytes()) != 0) {
      return false;
    }
  }
  return true;
}

void memo_hash(Hasher& hasher, const Frame& frame) {
  hasher.update(frame.rows());
  hasher.update(frame.num_columns());
  for (const auto& column : frame.columns()) {
    hasher.update(column.name());
    hasher.update(static_cast<std::uint8_t>(column.dtype()));
    hasher.update_bytes(column.bytes().data(), column.size_bytes());
  }
}

}  // namespace memo
