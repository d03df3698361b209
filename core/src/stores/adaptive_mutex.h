// A mutex that spins briefly before it sleeps (internal to the memo library), for the
// short critical sections of the locked stores (mutex_map, sharded_lru).
//
// Why: a store's critical section is a hash lookup and a list splice, a few hundred
// nanoseconds. std::mutex (a futex) puts a waiter to sleep at once, and waking it costs
// a system call and, under a hypervisor, an inter-processor interrupt: measured with
// memo_stores on a 2-core VM, two threads hitting mutex_map ran at about half the rate
// of one. A waiter that spins for about as long as a critical section takes the lock as
// it is released instead. glibc's adaptive mutex does exactly that: it spins a bounded
// number of times (tuned by glibc.pthread.mutex_spin_count) and then sleeps on the futex
// like std::mutex, so many more threads than cores still do not burn their time slices.
// Elsewhere it is std::mutex.
#pragma once

#include <mutex>

#if defined(__GLIBC__)
#include <pthread.h>
#endif

namespace memo::detail {

#if defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)

class AdaptiveMutex {
 public:
  AdaptiveMutex() noexcept : mutex_(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP) {}
  ~AdaptiveMutex() { pthread_mutex_destroy(&mutex_); }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

  void lock() noexcept { pthread_mutex_lock(&mutex_); }
  bool try_lock() noexcept { return pthread_mutex_trylock(&mutex_) == 0; }
  void unlock() noexcept { pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

#else

using AdaptiveMutex = std::mutex;

#endif

}  // namespace memo::detail
