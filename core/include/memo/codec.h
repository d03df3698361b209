// How cache_data turns a value into stored bytes and back (the guide's pickle step).
//
// Codec<T> is the customization point: encode(value) -> Payload, decode(bytes) -> T.
// General types go through cereal's binary archive; memo::Frame has its own format
// (a header, then each column's raw bytes 64-byte aligned) so a copy is one memcpy per
// column rather than an element-by-element walk. A type cereal cannot serialize is a
// compile error that says what to do.
//
// Decoders treat their input as untrusted (a disk cache file may be corrupt): any
// inconsistency throws CorruptData, never reads out of bounds.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <span>
#include <sstream>
#include <stdexcept>

#include "memo/bounded_archive.h"
#include "memo/frame.h"
#include "memo/memory.h"

namespace memo {

class CorruptData : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Serialized bytes of one cached value.
struct Payload {
  ByteOwner data;
  std::size_t size = 0;
  std::span<const std::byte> view() const { return {data.get(), size}; }
};

Payload make_payload(std::string_view bytes);

template <class T>
struct Codec {
  static_assert(cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
                    cereal::traits::is_input_serializable<T, BoundedInputArchive>::value,
                "memo::cache_data needs a serializable return type: give the type a cereal "
                "`serialize(Archive&)` member (or save/load pair), specialize memo::Codec<T>, or "
                "use memo::cache_resource for objects that cannot be serialized.");
  static_assert(std::is_default_constructible_v<T>,
                "memo::cache_data decodes into a default-constructed value: give the return "
                "type a default constructor or specialize memo::Codec<T>.");

  static Payload encode(const T& value) {
    std::ostringstream out(std::ios::binary);
    {
      cereal::BinaryOutputArchive archive(out);
      archive(value);
    }
    return make_payload(std::move(out).str());
  }

  static T decode(std::span<const std::byte> bytes) {
    T value{};
    try {
      BoundedInputArchive archive(bytes);
      archive(value);
      // Bytes left over mean they were written for another layout of T (a field
      // removed, a type narrowed): decoding "succeeded" into a wrong value.
      if (archive.remaining() != 0) throw CorruptData("memo: cached value has trailing bytes");
    } catch (const CorruptData&) {
      throw;
    } catch (const std::exception& error) {  // cereal::Exception, a bad variant index, ...
      throw CorruptData(std::string("memo: cannot decode cached value: ") + error.what());
    }
    return value;
  }
};

// Frame wire format, version 1 (little-endian):
//   "MEMOFRM1" | u64 rows | u64 columns | per column: u8 dtype, u32 name length, name
//   | zero padding to 64 | each column's bytes, each padded to 64.
template <>
struct Codec<Frame> {
  static Payload encode(const Frame& frame);
  static Frame decode(std::span<const std::byte> bytes);
};

// Where each column's bytes sit inside an encoded Frame; shared by the decoders that
// copy (Codec<Frame>) and those that map (copy-on-write).
struct FrameLayout {
  struct ColumnSlot {
    std::string name;
    DType type;
    std::size_t offset;  // from the start of the payload
  };
  std::size_t rows = 0;
  std::vector<ColumnSlot> columns;
  std::size_t total_size = 0;
};
// Parses and bounds-checks the header; throws CorruptData.
FrameLayout read_frame_layout(std::span<const std::byte> bytes);
// The header Codec<Frame>::encode writes for `frame`, zero-padded to 64 bytes: the
// first column starts right after it, each next one at the next 64-byte boundary.
// For encoders that place the column bytes themselves (copy-on-write files).
std::vector<std::byte> encode_frame_header(const Frame& frame);

}  // namespace memo
