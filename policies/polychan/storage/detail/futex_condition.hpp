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
//   unlock; spin while seq == seen         futex_wake(seq, 1 or all)   [skipped: no sleepers]
//   ++sleepers; futex_wait(seq, seen)
//   lock; loop until pred()
//
// No lost wake-up: the state change happens under the mutex, so either the waiter's pred()
// saw it, or the notifier's ++seq comes after the waiter read `seen`: then the spin sees
// it, or the futex refuses to sleep, or the notifier sees the sleeper and wakes it.
#pragma once

#include <polychan/detail/cpu_pause.hpp>
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
        std::uint32_t const seen = seq_.load(std::memory_order_relaxed); // under the mutex
        lock.unlock();
        // A notify often comes within microseconds (the other side is one item away): watch
        // for it before paying for a sleep, and before counting as a sleeper, which would
        // make that notify a system call too. Counting as a sleeper at once, still under the
        // mutex, made nearly every notify a futex wake and every other wait an EAGAIN: a
        // mutex channel in shared memory moved 8-byte items at ~1000 ns each, boost's
        // message_queue at ~320 (bench_ipc; ~650 with this spin and robust_mutex's).
        // One spinner at a time: with more waiters than CPUs (several readers or writers),
        // every spinner sees every notify and they all run for the lock, on CPUs the threads
        // with work to do need. A process killed while spinning leaves the flag set, and any
        // value a peer writes there counts as set: then nobody spins, which is slower, not wrong.
        if (spinning_.exchange(1, std::memory_order_relaxed) == 0) {
            bool const notified =
                polychan::detail::spin_until(spin_limit, [&] { return seq_.load(std::memory_order_relaxed) != seen; });
            spinning_.store(0, std::memory_order_relaxed);
            if (notified) {
                lock.lock();
                return;
            }
        }
        // Both seq_cst: a store-load pair with notify(). Either the notifier sees this sleeper
        // and wakes it, or the futex sees the notifier's new seq and does not sleep.
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        futex::wait_until(seq_, seen, until);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        lock.lock();
    }
    static constexpr unsigned spin_limit = 256;
    void notify(int count) noexcept {
        seq_.fetch_add(1, std::memory_order_seq_cst);
        // A sleeper killed while asleep leaves the count too high: that costs a needless
        // syscall per notify, never a missed wake-up.
        if (sleepers_.load(std::memory_order_seq_cst) != 0) futex::wake(seq_, count);
    }

    std::atomic<std::uint32_t> seq_{0};
    std::atomic<std::uint32_t> sleepers_{0};
    std::atomic<std::uint32_t> spinning_{0}; // not bool: in shared memory any byte may be there
};

} // namespace polychan::storage::detail
