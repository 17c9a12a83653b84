// polychan — std::condition_variable with a short spin before the sleep, for the heap storages.
//
// A channel's reader usually waits for one item, and its writer for one slot, that the other
// side delivers within a microsecond or two. A sleep then costs a futex wake in the notifier
// and a context switch in the waiter: the mutex channel's round trip measured 26 us, as
// std::mutex + std::deque does. So a waiter first unlocks and watches a change counter that
// every notify bumps, and sleeps only if nothing changed:
//
//   waiter (mutex held)                         notifier (after a change under the mutex)
//   pred() false -> seen = changes              ++changes
//   [one spinner] unlock; spin while            cv.notify_one() / notify_all()
//     changes == seen; lock; re-check pred()
//   cv.wait(lock)   (atomically unlocks)
//
// No lost wake-up: the waiter sleeps only after a pred() check under the mutex, and
// cv.wait() releases it atomically, so a change made after that check is notified to it.
// (The notifier skips the condition variable when no sleeper is counted: see `sleeping`.)
// One spinner at a time: with more waiters than CPUs (mpmc_4x4), every spinner sees every
// change and they all run for the lock, on CPUs that the threads with work need. For the same
// reason the spinner yields its CPU instead of pausing while another waiter sleeps (see spin()).
#pragma once

#include <polychan/detail/cpu_pause.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace polychan::storage::detail {

class spinning_condition {
  public:
    void notify_one() noexcept {
        hint_spinner();
        if (sleepers_.load(std::memory_order_relaxed) != 0) cv_.notify_one();
    }
    void notify_all() noexcept {
        hint_spinner();
        if (sleepers_.load(std::memory_order_relaxed) != 0) cv_.notify_all();
    }

    template <class Pred>
    void wait(std::unique_lock<std::mutex>& lock, Pred pred) {
        while (!pred()) {
            spin(lock);
            if (pred()) return;
            sleeping sleeps{sleepers_};
            cv_.wait(lock);
        }
    }

    /// False if `until` passed with `pred()` still false.
    template <class Pred>
    bool wait_until(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point until, Pred pred) {
        while (!pred()) {
            spin(lock);
            if (pred()) return true;
            sleeping sleeps{sleepers_};
            if (cv_.wait_until(lock, until) == std::cv_status::timeout) return pred();
        }
        return true;
    }

  private:
    /// Counts a waiter in `sleepers_` from before cv.wait() until it is back under the mutex.
    /// Only changed under the mutex, so a load and a store, not a locked instruction. A notifier
    /// looks at the count after its own critical section, which follows the sleeper's (cv.wait
    /// unlocks): a sleeper that needs its change is counted. None counted: no call into the
    /// condition variable, which cost an item ~2 ns a side (bench_throughput cost_8B).
    struct sleeping {
        explicit sleeping(std::atomic<std::uint32_t>& n) : n_{n} {
            n_.store(n_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        }
        ~sleeping() { n_.store(n_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }
        sleeping(const sleeping&) = delete;
        sleeping& operator=(const sleeping&) = delete;
        std::atomic<std::uint32_t>& n_;
    };

    /// Changes `changes_` if a waiter spins. The change a spinner waits for is made under the
    /// mutex after the spinner set `spinning_` and unlocked, so the notifier, which locked
    /// since, sees the flag. Not a fetch_add: a locked instruction per notify was a quarter of
    /// an item's CPU time (bench_throughput cost_8B), and notifiers that race may both store
    /// the same value, which still differs from what the spinner saw. A hint only: a spinner
    /// that misses one re-checks its predicate under the mutex before it sleeps.
    void hint_spinner() noexcept {
        if (spinning_.load(std::memory_order_relaxed))
            changes_.store(changes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    /// Unlocks and watches `changes_` for a while, unless another waiter is spinning; returns
    /// with the lock held.
    void spin(std::unique_lock<std::mutex>& lock) {
        if (spinning_.exchange(true, std::memory_order_relaxed)) return;
        std::uint32_t const seen = changes_.load(std::memory_order_relaxed);
        lock.unlock();
        // A sleeping waiter means more threads wait than spin: the CPUs are likely shared (mpmc
        // runs 4 and 8 threads on 2), and a paused CPU is one that a thread with work cannot
        // use, so the spinner yields instead. With pauses only, mpmc_2x2 measured half of
        // std::mutex + std::deque on the near placement (2.5-3.2 against 5.1-5.6 M items/s) and
        // 0.8x on the far one; with yields only, the round trip (two threads, nobody sleeping)
        // lost a third (0.44-0.49 against 0.68-0.72 M/s, far).
        unsigned yields = 0;
        for (unsigned i = 0; i < spin_limit && changes_.load(std::memory_order_relaxed) == seen; ++i) {
            // A hint, as `sleepers_` is for notifiers: a wrong guess costs time, not a wake-up.
            if (sleepers_.load(std::memory_order_relaxed) == 0) {
                polychan::detail::cpu_pause();
            } else {
                if (++yields > yield_limit) break;
                std::this_thread::yield();
            }
        }
        spinning_.store(false, std::memory_order_relaxed);
        // Back under the lock without sleeping in the mutex: its holder is usually the
        // notifier, about to unlock, and a locker that sleeps makes each of its unlocks a
        // futex wake (8-byte throughput fell below std::mutex + std::deque with lock() here).
        if (!polychan::detail::spin_until(spin_limit, [&] { return lock.try_lock(); })) lock.lock();
    }
    static constexpr unsigned spin_limit = 256;
    static constexpr unsigned yield_limit = 32;

    std::condition_variable cv_;
    std::atomic<std::uint32_t> changes_{0};
    std::atomic<bool> spinning_{false};
    std::atomic<std::uint32_t> sleepers_{0};
};

} // namespace polychan::storage::detail
