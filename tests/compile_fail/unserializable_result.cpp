// Must NOT compile: cache_data needs a serializable result, and Socket is not. With
// -DMEMO_FIX the same function goes through cache_resource and must compile.
#include "memo/memo.h"

struct Socket {
  int fd = 0;
};

int main() {
#ifdef MEMO_FIX
  auto open = memo::cache_resource([](int port) { return Socket{port}; });
  return open(1)->fd;
#else
  auto open = memo::cache_data([](int port) { return Socket{port}; });
  return open(1).fd;
#endif
}
