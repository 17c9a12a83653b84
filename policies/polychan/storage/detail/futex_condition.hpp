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
//   unlock; futex_wait(seq, seen)          futex_wake(seq, 1 or all)
//   lock; re-check pred()
//
// No lost wake-up: the state change happens under the mutex, so either the waiter's pred()
// saw it, or the notifier's ++seq comes after the waiter read `seen`: then the futex refuses
// to sleep, or the sleeper is queued when the wake comes. The interface is the subset of
// std::condition_variable that spinning_condition uses in front of it: it keeps the notify
// calls for when a sleeper is counted, and spins before a wait.
#pragma once

#include <polychan/storage/detail/futex.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>

namespace polychan::storage::detail {

class futex_condition {
  public:
    futex_condition() = default;
    futex_condition(const futex_condition&) = delete;
    futex_condition& operator=(const futex_condition&) = delete;

    void notify_one() noexcept { notify(1); }
    void notify_all() noexcept { notify(INT_MAX); }

    /// Unlocks, sleeps until notified (or spuriously), locks again.
    template <class Lock>
    void wait(Lock& lock) {
        sleep(lock, nullptr);
    }
    template <class Lock>
    std::cv_status wait_until(Lock& lock, std::chrono::steady_clock::time_point until) {
        return sleep(lock, &until) ? std::cv_status::no_timeout : std::cv_status::timeout;
    }

  private:
    template <class Lock>
    bool sleep(Lock& lock, const std::chrono::steady_clock::time_point* until) {
        std::uint32_t const seen = seq_.load(std::memory_order_relaxed); // under the mutex: before any later notify
        lock.unlock();
        bool const woken = futex::wait_until(seq_, seen, until);
        lock.lock();
        return woken;
    }
    void notify(int count) noexcept {
        // A locked instruction, a full barrier before the wake's look at the futex queue.
        seq_.fetch_add(1, std::memory_order_seq_cst);
        futex::wake(seq_, count);
    }

    std::atomic<std::uint32_t> seq_{0};
};

} // namespace polychan::storage::detail
