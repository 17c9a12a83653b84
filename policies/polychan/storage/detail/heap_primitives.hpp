// polychan — the blocking primitives every in-process storage hands to the sync policies.
#pragma once

#include <polychan/storage/detail/spinning_condition.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <semaphore>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace polychan::storage::detail {

/// A 32-bit atomic that threads of this process can sleep on: a private futex
/// (FUTEX_PRIVATE_FLAG, the cheaper kind, keyed by this address space). The same interface
/// as the shared-memory storages' `futex_word`, so lock-free sync code is written once
/// against `Storage::wait_word`. Unlike std::atomic::wait it has a timed form, and all four
/// operations are raw futex calls (libstdc++'s notify may skip the system call when its own
/// waiter count says nobody waits, which would lose a wake-up of a raw futex waiter).
class private_wait_word : public std::atomic<std::uint32_t> {
  public:
    using std::atomic<std::uint32_t>::atomic;
    using std::atomic<std::uint32_t>::operator=;

    /// Sleeps while the value is `old` (may return spuriously; re-check).
    void wait(std::uint32_t old, std::memory_order = std::memory_order_seq_cst) noexcept { sleep(old, nullptr); }
    /// As wait(), giving up at `until` (steady_clock is CLOCK_MONOTONIC); false on timeout.
    bool wait_until(std::uint32_t old, std::chrono::steady_clock::time_point until) noexcept {
        auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count();
        if (ns < 0) return false;
        timespec const ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        return sleep(old, &ts);
    }
    void notify_one() noexcept { wake(1); }
    void notify_all() noexcept { wake(INT_MAX); }

  private:
    std::uint32_t* address() noexcept { return reinterpret_cast<std::uint32_t*>(this); }
    bool sleep(std::uint32_t old, const timespec* until) noexcept {
        // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
        long const rc = ::syscall(SYS_futex, address(), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, old, until, nullptr,
                                  FUTEX_BITSET_MATCH_ANY);
        return !(rc == -1 && errno == ETIMEDOUT);
    }
    void wake(int count) noexcept { ::syscall(SYS_futex, address(), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count); }
};
static_assert(sizeof(private_wait_word) == sizeof(std::uint32_t) && std::atomic<std::uint32_t>::is_always_lock_free,
              "polychan: a futex word must be a plain, lock-free 32-bit atomic");

/// Process-private primitives: the memory is this process's own, so the std ones fit.
struct heap_primitives {
    /// Process-private memory: never shared with another process.
    static constexpr bool process_shared = false;
    /// The mutex a sync policy locks in this memory.
    using mutex_type = std::mutex;
    /// The condition variable a sync policy waits on with mutex_type.
    using condition_type = spinning_condition<std::condition_variable>;
    /// The counting semaphore a sync policy sleeps on in this memory.
    template <std::ptrdiff_t LeastMaxValue>
    using counting_semaphore = std::counting_semaphore<LeastMaxValue>;
    /// A 32-bit atomic that threads can sleep on (lock-free sync policies block on it).
    using wait_word = private_wait_word;
};

} // namespace polychan::storage::detail
