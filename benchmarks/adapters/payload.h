// The value every adapter stores: the key it was stored under, so that a get can
// prove it found the right entry (the benchmark's checksum).
#pragma once

#include "memo/key.h"

namespace memo_bench {

struct Payload {
  memo::Key key;
};

}  // namespace memo_bench
