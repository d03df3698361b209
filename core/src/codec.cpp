#include "memo/codec.h"

#include <cstring>
#include <limits>

namespace memo {
namespace {

constexpr char kFrameMagic[8] = {'M', 'E', 'M', 'O', 'F', 'R', 'M', '1'};
constexpr std::size_t kAlign = 64;
constexpr std::size_t kMaxColumns = std::size_t{1} << 16;
constexpr std::size_t kMaxNameLength = 4096;

std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::size_t header_size(const Frame& frame) {
  std::size_t size = sizeof kFrameMagic + 2 * sizeof(std::uint64_t);
  for (const auto& column : frame.columns()) size += 1 + sizeof(std::uint32_t) + column.name().size();
  return align_up(size);
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  void read(void* out, std::size_t size) {
    if (size > bytes_.size() - position_) throw CorruptData("memo: frame header is truncated");
    std::memcpy(out, bytes_.data() + position_, size);
    position_ += size;
  }
  template <class T>
  T read() {
    T value;
    read(&value, sizeof value);
    return value;
  }
  std::size_t position() const { return position_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t position_ = 0;
};

}  // namespace

void throw_corrupt(const char* what) { throw CorruptData(what); }

Payload make_payload(std::string_view bytes) {
  Payload payload{allocate_bytes(bytes.size()), bytes.size()};
  std::memcpy(payload.data.get(), bytes.data(), bytes.size());
  return payload;
}

std::vector<std::byte> encode_frame_header(const Frame& frame) {
  std::vector<std::byte> header(header_size(frame));
  std::size_t at = 0;
  auto put = [&](const void* data, std::size_t size) {
    std::memcpy(header.data() + at, data, size);
    at += size;
  };
  put(kFrameMagic, sizeof kFrameMagic);
  const std::uint64_t rows = frame.rows(), columns = frame.num_columns();
  put(&rows, sizeof rows);
  put(&columns, sizeof columns);
  for (const auto& column : frame.columns()) {
    const auto type = static_cast<std::uint8_t>(column.dtype());
    const auto length = static_cast<std::uint32_t>(column.name().size());
    put(&type, 1);
    put(&length, sizeof length);
    put(column.name().data(), length);
  }
  return header;  // value-initialized, so the padding is already zero
}

Payload Codec<Frame>::encode(const Frame& frame) {
  const std::vector<std::byte> header = encode_frame_header(frame);
  std::size_t total = header.size();
  for (const auto& column : frame.columns()) total += align_up(column.size_bytes());
  Payload payload{allocate_bytes(total), total};
  std::byte* out = payload.data.get();
  std::memcpy(out, header.data(), header.size());
  std::size_t at = header.size();
  for (const auto& column : frame.columns()) {
    copy_bytes(out + at, column.bytes().data(), column.size_bytes());
    at += column.size_bytes();
    std::memset(out + at, 0, align_up(at) - at);
    at = align_up(at);
  }
  return payload;
}

FrameLayout read_frame_layout(std::span<const std::byte> bytes) {
  Reader reader(bytes);
  char magic[sizeof kFrameMagic];
  reader.read(magic, sizeof magic);
  if (std::memcmp(magic, kFrameMagic, sizeof magic) != 0) {
    throw CorruptData("memo: not an encoded frame (bad magic)");
  }
  FrameLayout layout;
  const auto rows = reader.read<std::uint64_t>();
  const auto count = reader.read<std::uint64_t>();
  if (count > kMaxColumns) throw CorruptData("memo: frame header claims too many columns");
  layout.rows = rows;
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto type = reader.read<std::uint8_t>();
    const auto length = reader.read<std::uint32_t>();
    if (!valid_dtype(type)) throw CorruptData("memo: frame column has an unknown type");
    if (length > kMaxNameLength) throw CorruptData("memo: frame column name is too long");
    std::string name(length, '\0');
    reader.read(name.data(), length);
    layout.columns.push_back({std::move(name), static_cast<DType>(type), 0});
  }
  std::size_t at = align_up(reader.position());
  for (auto& slot : layout.columns) {
    const std::size_t width = dtype_size(slot.type);
    if (rows > std::numeric_limits<std::size_t>::max() / width) {
      throw CorruptData("memo: frame row count overflows");
    }
    const std::size_t size = rows * width;
    if (at > bytes.size() || size > bytes.size() - at) {
      throw CorruptData("memo: frame payload is truncated");
    }
    slot.offset = at;
    at = align_up(at + size);
  }
  layout.total_size = std::min(at, bytes.size());
  return layout;
}

Frame Codec<Frame>::decode(std::span<const std::byte> bytes) {
  const FrameLayout layout = read_frame_layout(bytes);
  Frame frame;
  for (const auto& slot : layout.columns) {
    if (frame.has_column(slot.name)) throw CorruptData("memo: frame repeats column '" + slot.name + "'");
    Column& column = frame.add_uninitialized(slot.name, slot.type, layout.rows);
    copy_bytes(column.bytes().data(), bytes.data() + slot.offset, column.size_bytes());
  }
  return frame;
}

}  // namespace memo
