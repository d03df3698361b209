// A cereal input archive that reads from a byte span and refuses any size that claims
// more elements than there are bytes left.
//
// Why not cereal's BinaryInputArchive: on a corrupt payload it reads a length, then
// resizes the container to it before reading a byte more, so eight bad bytes can ask
// for gigabytes (found by the fuzz target in tests/fuzz). Every element of a
// serialized container takes at least one byte, so "elements <= bytes left" rejects
// every such claim before anything is allocated. The wire format is unchanged:
// payloads are written by cereal's BinaryOutputArchive.
#pragma once

#include <cereal/cereal.hpp>

#include <cstring>
#include <span>
#include <stdexcept>

namespace memo {
class CorruptData;
}

namespace memo {

[[noreturn]] void throw_corrupt(const char* what);

class BoundedInputArchive
    : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::span<const std::byte> bytes)
      : InputArchive(this), bytes_(bytes) {}

  void loadBinary(void* data, std::size_t size) {
    if (size > remaining()) throw_corrupt("memo: cached value is truncated");
    if (size == 0) return;  // an empty container's data() may be null
    std::memcpy(data, bytes_.data() + position_, size);
    position_ += size;
  }
  std::size_t remaining() const { return bytes_.size() - position_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t position_ = 0;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar,
                                                                    T& value) {
  ar.loadBinary(std::addressof(value), sizeof value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& pair) {
  ar(pair.value);
}

template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& tag) {
  ar(tag.size);
  if (static_cast<std::uint64_t>(tag.size) > ar.remaining()) {
    throw_corrupt("memo: cached value claims more elements than it has bytes");
  }
}

template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& data) {
  ar.loadBinary(data.data, static_cast<std::size_t>(data.size));
}

}  // namespace memo

CEREAL_REGISTER_ARCHIVE(memo::BoundedInputArchive)
