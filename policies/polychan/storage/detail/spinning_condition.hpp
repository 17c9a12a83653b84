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
// One spinner at a time: with more waiters than CPUs (mpmc_4x4), every spinner sees every
// change and they all run for the lock, on CPUs that the threads with work need.
#pragma once

#include <polychan/detail/cpu_pause.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace polychan::storage::detail {

class spinning_condition {
  public:
    void notify_one() noexcept {
        changes_.fetch_add(1, std::memory_order_relaxed); // a hint for the spinner; the mutex orders the state
        cv_.notify_one();
    }
    void notify_all() noexcept {
        changes_.fetch_add(1, std::memory_order_relaxed);
        cv_.notify_all();
    }

    template <class Pred>
    void wait(std::unique_lock<std::mutex>& lock, Pred pred) {
        while (!pred()) {
            spin(lock);
            if (pred()) return;
            cv_.wait(lock);
        }
    }

    /// False if `until` passed with `pred()` still false.
    template <class Pred>
    bool wait_until(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point until, Pred pred) {
        while (!pred()) {
            spin(lock);
            if (pred()) return true;
            if (cv_.wait_until(lock, until) == std::cv_status::timeout) return pred();
        }
        return true;
    }

  private:
    /// Unlocks and watches `changes_` for a while, unless another waiter is spinning; returns
    /// with the lock held.
    void spin(std::unique_lock<std::mutex>& lock) {
        if (spinning_.exchange(true, std::memory_order_relaxed)) return;
        std::uint32_t const seen = changes_.load(std::memory_order_relaxed);
        lock.unlock();
        polychan::detail::spin_until(spin_limit, [&] { return changes_.load(std::memory_order_relaxed) != seen; });
        spinning_.store(false, std::memory_order_relaxed);
        // Back under the lock without sleeping in the mutex: its holder is usually the
        // notifier, about to unlock, and a locker that sleeps makes each of its unlocks a
        // futex wake (8-byte throughput fell below std::mutex + std::deque with lock() here).
        if (!polychan::detail::spin_until(spin_limit, [&] { return lock.try_lock(); })) lock.lock();
    }
    static constexpr unsigned spin_limit = 256;

    std::condition_variable cv_;
    std::atomic<std::uint32_t> changes_{0};
    std::atomic<bool> spinning_{false};
};

} // namespace polychan::storage::detail
