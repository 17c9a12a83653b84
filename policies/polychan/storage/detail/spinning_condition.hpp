// polychan — a condition variable with a short spin before the sleep: std::condition_variable
// on the heap storages, futex_condition in shared memory (the `Sleeper`).
//
// A channel's reader usually waits for one item, and its writer for one slot, that the other
// side delivers within a microsecond or two. A sleep then costs a futex wake in the notifier
// and a context switch in the waiter: the mutex channel's round trip measured 26 us, as
// std::mutex + std::deque does. So a waiter first unlocks and watches a change counter that
// every notify bumps, yielding between looks, and sleeps only if nothing changed:
//
//   waiter (mutex held)                         notifier (after a change under the mutex)
//   pred() false -> seen = changes              ++changes
//   [one spinner] unlock; yield while           cv.notify_one() / notify_all()
//     changes == seen; lock; re-check pred()
//   cv.wait(lock)   (atomically unlocks)
//
// No lost wake-up: the waiter sleeps only after a pred() check under the mutex, and
// cv.wait() releases it atomically, so a change made after that check is notified to it.
// (The notifier skips the condition variable when no sleeper is counted: see `sleeping`.)
// One spinner at a time: with more waiters than CPUs (mpmc_4x4), every spinner sees every
// change and they all run for the lock, on CPUs that the threads with work need; and the
// spinner yields its CPU between looks rather than pausing (see spin()).
//
// In shared memory (Sleeper = futex_condition) the counters live in the segment, and a
// process may die anywhere in here. Killed while spinning, it leaves `spinning_` set: nobody
// spins on this condition again, which is slower, not wrong. Killed while asleep, it leaves
// `sleepers_` too high: every notify then makes the futex call, also only slower.
// The shared-memory mutex channel used to pause inside its own condition (256 pauses), as the
// heap one did before it yielded. Far placement, alternating rounds, M items/s or M round
// trips/s, cross-process (bench_ipc): throughput_8B 1.9-2.1 before, 3.0-4.5 with this
// condition and the other changes of the same commit (robust_mutex::lock, sync/mutex.hpp's
// checks and layout), 1.4-2.5 with those changes but the pausing condition (2.3-2.8 with
// this one in those rounds); the round trip pays as on the heap: 0.34-0.44 against 0.53-0.63
// (the heap channel, which yields too, 0.43-0.56).
#pragma once

#include <polychan/detail/cpu_pause.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace polychan::storage::detail {

/// How a waiter watches for the change before it sleeps (spinning_condition::spin).
enum class waiter_pace {
    /// Yields between looks, and so finds the other side's work in batches: for write() and
    /// read() of small items, where a waiter that catches every item as it comes keeps the
    /// lock's line moving between the CPUs for each.
    batched,
    /// Pauses between looks first, then yields: for transactions, whose items are large and
    /// whose other side is usually one item away. A yield costs ~1.2 us on this VM, longer
    /// than a 64 KiB message takes to fill: a waiter that yields comes back to a ring that
    /// ran full or dry meanwhile, and both sides wait for each other's yields.
    prompt,
};

template <class Sleeper>
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

    template <class Lock, class Pred>
    void wait(Lock& lock, Pred pred, waiter_pace pace = waiter_pace::batched) {
        while (!pred()) {
            spin(lock, pace);
            if (pred()) return;
            sleeping sleeps{sleepers_};
            cv_.wait(lock);
        }
    }

    /// False if `until` passed with `pred()` still false.
    template <class Lock, class Pred>
    bool wait_until(Lock& lock, std::chrono::steady_clock::time_point until, Pred pred,
                    waiter_pace pace = waiter_pace::batched) {
        while (!pred()) {
            spin(lock, pace);
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
        if (spinning_.load(std::memory_order_relaxed) != 0)
            changes_.store(changes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    /// Unlocks and watches `changes_` for a while, unless another waiter is spinning; returns
    /// with the lock held.
    template <class Lock>
    void spin(Lock& lock, waiter_pace pace) {
        if (spinning_.exchange(1, std::memory_order_relaxed) != 0) return;
        std::uint32_t const seen = changes_.load(std::memory_order_relaxed);
        lock.unlock();
        // The spinner yields its CPU between looks rather than pausing. A paused CPU is one no other
        // thread can use: with more threads than CPUs (mpmc runs 4 and 8 on 2) those are the threads
        // with work, and even with two, a consumer that catches every item as it comes keeps the
        // lock's line moving between the CPUs, while one that looks back after a yield finds a batch.
        // Same-window A/B against pauses (M items/s, std::mutex + std::deque in brackets): near
        // placement, throughput_8B 9.4-12.3 against 5.7-6.0 (6.0-8.1), mpmc_2x2 6.5-7.1 against
        // 2.6-3.9 (5.3-6.0), mpmc_4x4 4.1-4.5 against 0.4-0.8 (2.3-2.9); far, mpmc_2x2 4.3-4.8 against
        // 2.5-3.3, tx_1MiB 76-95 against 38-48 k messages/s (tx_64KiB: 0.60-0.67 against 0.69-0.80
        // M/s). The cost is the round trip, each side now seeing the reply up to a yield late:
        // 0.54-0.56 against 1.02-1.10 M/s near, 0.43-0.49 against 0.61-0.91 far (std 0.05). Pausing
        // while no other waiter slept kept the round trip but not throughput_8B (5.6-7.4 near).
        // A transaction's waiter (waiter_pace::prompt) pauses first. Far placement, same-window
        // A/B, tx_64KiB on the heap: 78-84 GB/s against 51-53 yielding at once (memcpy 48-62).
        auto const changed = [&] { return changes_.load(std::memory_order_relaxed) != seen; };
        if (pace == waiter_pace::batched || !polychan::detail::spin_until(prompt_pauses, changed))
            polychan::detail::yield_until(yield_limit, changed);
        spinning_.store(0, std::memory_order_relaxed);
        // Back under the lock without sleeping in the mutex: its holder is usually the
        // notifier, about to unlock, and a locker that sleeps makes each of its unlocks a
        // futex wake (8-byte throughput fell below std::mutex + std::deque with lock() here).
        if (!polychan::detail::spin_until(spin_limit, [&] { return lock.try_lock(); })) lock.lock();
    }
    static constexpr unsigned spin_limit = 256;
    static constexpr unsigned yield_limit = 64;
    static constexpr unsigned prompt_pauses = 1024; // ~20 us: a 64 KiB message's fill, many times over

    Sleeper cv_;
    std::atomic<std::uint32_t> changes_{0};
    std::atomic<std::uint32_t> spinning_{0}; // not bool: in shared memory a peer may leave any byte here
    std::atomic<std::uint32_t> sleepers_{0};
};

} // namespace polychan::storage::detail
