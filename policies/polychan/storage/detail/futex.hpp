// polychan — the raw Linux futex calls, WITHOUT FUTEX_PRIVATE_FLAG, so that a waiter in one
// process is woken by a waker in another that maps the same memory (libstdc++'s
// std::atomic::wait uses private futexes, keyed by this process's address space).
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace polychan::storage::detail::futex {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "polychan: a futex word must be a plain, lock-free 32-bit atomic");

inline std::uint32_t* address(std::atomic<std::uint32_t>& word) noexcept {
    return reinterpret_cast<std::uint32_t*>(&word);
}

/// Sleeps while `word == expected`, until woken or until `until` (CLOCK_MONOTONIC, which is
/// std::chrono::steady_clock in libstdc++). Returns false only on timeout; a wake-up, a
/// changed value or a signal all return true (callers re-check their condition).
inline bool wait_until(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const std::chrono::steady_clock::time_point* until) noexcept {
    timespec ts{};
    if (until != nullptr) {
        auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until->time_since_epoch()).count();
        if (ns < 0) return false;
        ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time (FUTEX_WAIT a relative one).
    long const rc = ::syscall(SYS_futex, address(word), FUTEX_WAIT_BITSET, expected, until ? &ts : nullptr, nullptr,
                              FUTEX_BITSET_MATCH_ANY);
    return !(rc == -1 && errno == ETIMEDOUT);
}

/// Wakes up to `count` waiters of `word`, in any process.
inline void wake(std::atomic<std::uint32_t>& word, int count) noexcept {
    ::syscall(SYS_futex, address(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}
inline void wake_all(std::atomic<std::uint32_t>& word) noexcept { wake(word, INT_MAX); }

} // namespace polychan::storage::detail::futex
