// Must NOT compile: Opaque has no hash. With -DMEMO_FIX it gets a memo_hash hook and
// must compile, which proves the failure comes from the missing hash alone.
#include "memo/memo.h"

struct Opaque {
  int handle = 0;
};
#ifdef MEMO_FIX
void memo_hash(memo::Hasher& h, const Opaque& o) { h.update(o.handle); }
#endif

int main() {
  auto f = memo::cache_data([](const Opaque& o) { return o.handle; });
  return f(Opaque{});
}
