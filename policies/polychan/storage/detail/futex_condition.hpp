// polychan — a process-shared condition variable built on a futex sequence word.
//
// Why not a PTHREAD_PROCESS_SHARED pthread_cond_t: glibc's condition variable keeps an
// internal lock inside the object, so a process killed inside pthread_cond_signal or
// pthread_cond_wait can leave every later signaller and waiter of that condition blocked.
// This one holds no lock of its own: a notifier bumps a counter and wakes the futex, a
// waiter sleeps only while the counter still has the value it saw under the mutex. A process
// that dies anywhere in here leaves nothing half-done.
//
//   waiter (mutex held)                    notifier (after changing state under the mutex)
//   pred() false -> seen = seq             ++seq
//   unlock; futex_wait(seq, seen)          futex_wake(seq, 1 or all)   [skipped: no sleepers]
//   lock; loop until pred()
//
// No lost wake-up: the state change happens under the mutex, so either the waiter's pred()
// saw it, or the notifier's ++seq comes after the waiter read `seen` and the futex refuses
// to sleep (or the wake finds the sleeper).
#pragma once

#include <polychan/storage/detail/futex.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace polychan::storage::detail {

class futex_condition {
  public:
    futex_condition() = default;
    futex_condition(const futex_condition&) = delete;
    futex_condition& operator=(const futex_condition&) = delete;

    void notify_one() noexcept { notify(1); }
    void notify_all() noexcept { notify(INT_MAX); }

    template <class Lock, class Pred>
    void wait(Lock& lock, Pred pred) {
        while (!pred()) sleep(lock, nullptr);
    }

    /// False if `until` passed with `pred()` still false.
    template <class Lock, class Pred>
    bool wait_until(Lock& lock, std::chrono::steady_clock::time_point until, Pred pred) {
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= until) return pred();
            sleep(lock, &until);
        }
        return true;
    }

  private:
    template <class Lock>
    void sleep(Lock& lock, const std::chrono::steady_clock::time_point* until) {
        // Both orders are seq_cst: the sleeper count must be visible before the notifier
        // decides to skip its wake (a store-load pattern across two locations).
        std::uint32_t const seen = seq_.load(std::memory_order_seq_cst);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        lock.unlock();
        futex::wait_until(seq_, seen, until);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        lock.lock();
    }
    void notify(int count) noexcept {
        seq_.fetch_add(1, std::memory_order_seq_cst);
        // A sleeper killed while asleep leaves the count too high: that costs a needless
        // syscall per notify, never a missed wake-up.
        if (sleepers_.load(std::memory_order_seq_cst) != 0) futex::wake(seq_, count);
    }

    std::atomic<std::uint32_t> seq_{0};
    std::atomic<std::uint32_t> sleepers_{0};
};

} // namespace polychan::storage::detail
