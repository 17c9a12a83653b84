// polychan — a process-shared counting semaphore on a shared futex word, with the interface
// of std::counting_semaphore so a sync policy can use either.
//
// The count is the futex word itself: release adds and wakes, acquire takes one if there is
// one and otherwise sleeps while the word reads 0. It holds no lock, so a process killed
// inside release or acquire cannot block the others (one that dies between acquire and
// release does lose that unit, as with any semaphore).
//
// Not glibc's sem_t: it lives in shared memory too, and glibc aborts the process ("The futex
// facility returned an unexpected error code") when a peer has overwritten its bytes. Here
// every value of the word is a count: a bad one can only wake a sleeper for nothing, which
// the sync policy's own checks then report as corruption.
#pragma once

#include <polychan/detail/cpu_pause.hpp>
#include <polychan/storage/detail/futex.hpp>
#include <polychan/storage/detail/futex_word.hpp>

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace polychan::storage::detail {

template <std::ptrdiff_t LeastMaxValue>
class pshared_semaphore {
    static_assert(LeastMaxValue >= 0 && LeastMaxValue <= INT_MAX, "polychan: a futex semaphore counts at most INT_MAX");

  public:
    static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

    explicit pshared_semaphore(std::ptrdiff_t desired) noexcept : count_{static_cast<std::uint32_t>(desired)} {}
    // Never destroyed: another process may still wait on it.
    ~pshared_semaphore() = default;
    pshared_semaphore(const pshared_semaphore&) = delete;
    pshared_semaphore& operator=(const pshared_semaphore&) = delete;

    void release(std::ptrdiff_t update = 1) noexcept {
        // Release: what the releaser did before is visible to whoever takes the unit.
        count_.fetch_add(static_cast<std::uint32_t>(update), std::memory_order_release);
        futex::wake(count_, update < INT_MAX ? static_cast<int>(update) : INT_MAX);
    }
    void acquire() noexcept {
        if (spin_acquire()) return;
        while (!try_acquire()) count_.wait(0);
    }
    bool try_acquire() noexcept {
        // Relaxed: only a guess at the count; the CAS below is what takes a unit.
        std::uint32_t c = count_.load(std::memory_order_relaxed);
        while (c > 0)
            // Acquire: pairs with release(); relaxed on failure, when nothing is taken.
            if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_relaxed))
                return true;
        return false;
    }
    template <class Rep, class Period>
    bool try_acquire_for(std::chrono::duration<Rep, Period> d) noexcept {
        return try_acquire_until(std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::nanoseconds>(d));
    }
    template <class Clock, class Duration>
    bool try_acquire_until(std::chrono::time_point<Clock, Duration> t) noexcept {
        // CLOCK_MONOTONIC: a wall-clock jump neither shortens nor stretches the wait.
        auto const until =
            std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::steady_clock::duration>(t - Clock::now());
        if (spin_acquire()) return true;
        for (;;) {
            if (try_acquire()) return true;
            if (!count_.wait_until(0, until)) return try_acquire(); // timed out: a last look
        }
    }

  private:
    /// Before sleeping: a release that is on its way (its process between the add and the
    /// wake) is taken without a sleep, which costs two system calls and a wake-up through the
    /// scheduler, ~25 us a round trip here against ~2.5 us for std::counting_semaphore, which
    /// spins too. Pauses first, then a few yields in case the releaser shares this CPU.
    bool spin_acquire() noexcept {
        if (polychan::detail::spin_until(spin_pauses, [&] { return try_acquire(); })) return true;
        for (unsigned i = 0; i < spin_yields; ++i) {
            std::this_thread::yield();
            if (try_acquire()) return true;
        }
        return false;
    }
    static constexpr unsigned spin_pauses = 1024;
    static constexpr unsigned spin_yields = 16;

    futex_word count_;
};

} // namespace polychan::storage::detail
