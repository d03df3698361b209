#include "memo/hash.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t by value, no malloc per hasher
#include <xxhash.h>

#include <cstdio>

namespace memo {

struct Hasher::Stream {
  XXH3_state_t state;
};

Hasher::Hasher() = default;
Hasher::~Hasher() = default;

void Hasher::spill() {
  stream_ = std::make_unique<Stream>();
  XXH3_128bits_reset(&stream_->state);
  XXH3_128bits_update(&stream_->state, inline_, inline_size_);
  inline_size_ = 0;
}

void Hasher::update_bytes(const void* data, std::size_t size) {
  if (!stream_ && inline_size_ + size <= kInline) {
    std::memcpy(inline_ + inline_size_, data, size);
    inline_size_ += size;
    return;
  }
  if (!stream_) spill();
  XXH3_128bits_update(&stream_->state, data, size);
}

Key Hasher::finish() {
  const XXH128_hash_t digest = stream_ ? XXH3_128bits_digest(&stream_->state)
                                       : XXH3_128bits(inline_, inline_size_);
  return Key{digest.low64, digest.high64};
}

std::string Key::hex() const {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return text;
}

}  // namespace memo
