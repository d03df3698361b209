// Build facts tests scale themselves by (header-only).
#pragma once

namespace memo_test {

// ThreadSanitizer slows memory-heavy code about tenfold; tests that run for a fixed
// amount of work use smaller workloads under it.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

}  // namespace memo_test
