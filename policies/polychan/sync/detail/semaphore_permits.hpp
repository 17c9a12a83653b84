// polychan — permits counted in one atomic word, with a counting semaphore to sleep on (the
// classic "benaphore"), plus the close() broadcast a semaphore does not have.
//
//   word = count * 2 + closed          (count is signed; one RMW changes both halves together)
//
//        count > 0 : permits that nobody has taken yet
//        count = 0 : none, and nobody asleep
//        count < 0 : -count threads enlisted to sleep on `sleep_`; each gets exactly one post
//
//   try_take   : count > 0 ? count - 1 (CAS)                      never sleeps
//   take_until : count - 1; if it was <= 0, sleep on the semaphore until a give() or close()
//                posts for us; on timeout withdraw the enlistment (or, if a post is already
//                on its way to us, take it)
//   give(n)    : count + n; post once for each enlisted sleeper that this serves
//   close()    : closed = 1 and count = max(count, 0) in one CAS, then post once for every
//                enlisted sleeper: all of them wake. Nobody enlists after it.
//
// The uncontended paths touch only the word: the semaphore (std::counting_semaphore, or a
// count on a shared futex word: whatever the storage hands out) is used only to sleep and to wake.
// A wake-up from close() carries no real permit: the caller finds out from its own closed flag.
//
// In shared memory (`Untrusted`) the word may have been overwritten by another process, so
// nothing here may wait on it for ever: take_until is handed an `intact()` check, and a
// waiter that the word says is served but whose post does not come asks it every
// integrity_check_period and gives up (outcome::corrupt) once the segment is found corrupt.
// close() posts for at most max_sleepers sleepers. On the heap the check is `trusting`, and
// every line runs as it did before.
#pragma once

#include <polychan/deadline.hpp>
#include <polychan/storage/detail/integrity.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace polychan::sync::detail {

/// The integrity check of a word nobody else can write (the heap): always intact.
struct trusting {
    constexpr bool operator()() const noexcept { return true; }
};

template <class Atomics, class Orders, class Semaphore, bool Untrusted = false>
class semaphore_permits {
  public:
    /// How take_until ended: with a permit (or, after close, a wake-up), closed, timed out, or
    /// (shared memory only) given up on a word found corrupt.
    enum class outcome { woken, closed, timeout, corrupt };

    /// More sleepers than there can be threads: every sleeper is a thread, and Linux hands out
    /// thread ids up to PID_MAX_LIMIT = 2^22. (A process that crashes asleep leaves its
    /// enlistment behind; it would take millions of such crashes to get here.)
    static constexpr std::int64_t max_sleepers = std::int64_t{1} << 22;

    /// One reading of the word.
    struct reading {
        std::int64_t count; ///< permits if positive, minus the enlisted sleepers if negative
        bool closed;        ///< close() was called
    };

    semaphore_permits() = default;
    semaphore_permits(const semaphore_permits&) = delete;
    semaphore_permits& operator=(const semaphore_permits&) = delete;

    /// Takes a permit if one is free; never sleeps.
    bool try_take() noexcept {
        std::int64_t w = word_.load(std::memory_order_relaxed);
        while (count(w) > 0)
            if (word_.compare_exchange_weak(w, w - 2, std::memory_order_relaxed, std::memory_order_relaxed))
                return true;
        return false;
    }

    /// Adds `n` permits and wakes as many enlisted sleepers as they serve.
    void give(std::int64_t n = 1) {
        std::int64_t const w = word_.fetch_add(2 * n, Orders::give);
        if (count(w) < 0) sleep_.release(static_cast<std::ptrdiff_t>(std::min(n, -count(w))));
    }

    /// Takes a permit, sleeping until `d` if there is none. `already()` is asked once after
    /// enlisting and before sleeping: true means what the caller waits for has happened
    /// elsewhere (a doorbell's waiter re-reads the counts it waits on), so do not sleep.
    /// `intact()` (shared memory) is asked while a post the word promises is overdue.
    template <class Already, class Intact = trusting>
    outcome take_until(deadline d, Already already, Intact intact = {}) {
        std::int64_t const w = word_.fetch_sub(2, Orders::enlist);
        if (count(w) > 0) return outcome::woken;
        if (closed(w)) return withdraw(intact, outcome::closed);
        if (already()) return withdraw(intact, outcome::woken); // enlisted or served, there is news either way
        if (d.is_poll()) return withdraw(intact, outcome::timeout);
        if (d.is_forever()) {
            if constexpr (std::is_same_v<Intact, trusting>) {
                sleep_.acquire();
                return outcome::woken;
            } else {
                return sleep_checked(intact) ? outcome::woken : outcome::corrupt;
            }
        }
        if (sleep_.try_acquire_until(d.when())) return outcome::woken;
        return withdraw(intact, outcome::timeout);
    }

    /// Wakes every enlisted sleeper and refuses new ones.
    void close() {
        std::int64_t w = word_.load(std::memory_order_relaxed);
        while (!word_.compare_exchange_weak(w, std::max<std::int64_t>(count(w), 0) * 2 + 1, Orders::give,
                                            std::memory_order_relaxed)) {
        }
        std::int64_t sleepers = -count(w);
        // A word from shared memory may claim any number of sleepers: post for no more than can exist.
        if constexpr (Untrusted) sleepers = std::min(sleepers, max_sleepers);
        if (sleepers > 0) sleep_.release(static_cast<std::ptrdiff_t>(sleepers));
    }

    /// Permits nobody has taken, read with `order` (the doorbell's re-check needs seq_cst).
    std::int64_t available(std::memory_order order) const noexcept {
        return std::max<std::int64_t>(count(word_.load(order)), 0);
    }
    /// Threads enlisted to sleep, read with `order`.
    std::int64_t sleepers(std::memory_order order) const noexcept {
        return std::max<std::int64_t>(-count(word_.load(order)), 0);
    }
    /// The word as it is, read with `order` (integrity checks).
    reading read(std::memory_order order) const noexcept {
        std::int64_t const w = word_.load(order);
        return {count(w), closed(w)};
    }

  private:
    static constexpr std::int64_t count(std::int64_t w) noexcept { return w >> 1; } // arithmetic shift (C++20)
    static constexpr bool closed(std::int64_t w) noexcept { return (w & 1) != 0; }

    /// Undoes this thread's enlistment: `if_withdrawn`. Woken when a give() or close() already
    /// counted us as served: its post is then ours, and taken here so that it cannot wake
    /// anyone else. Corrupt (shared memory) if that post never comes and intact() says why.
    template <class Intact>
    outcome withdraw(Intact& intact, outcome if_withdrawn) {
        std::int64_t w = word_.load(std::memory_order_relaxed);
        while (count(w) < 0)
            if (word_.compare_exchange_weak(w, w + 2, std::memory_order_relaxed, std::memory_order_relaxed))
                return if_withdrawn;
        if constexpr (std::is_same_v<Intact, trusting>) {
            sleep_.acquire();
            return outcome::woken;
        } else {
            // A word overwritten with a count >= 0 promises a post that never comes.
            return sleep_checked(intact) ? outcome::woken : outcome::corrupt;
        }
    }

    /// Sleeps for a post in slices of integrity_check_period; false once `intact()` says the
    /// segment is corrupt (this thread's enlistment is then left as it is: nobody trusts the
    /// word any more).
    template <class Intact>
    bool sleep_checked(Intact& intact) {
        for (;;) {
            if (sleep_.try_acquire_until(deadline::clock::now() + storage::detail::integrity_check_period)) return true;
            if (!intact()) return false;
        }
    }

    typename Atomics::template atomic<std::int64_t> word_{0};
    Semaphore sleep_{0};
};

} // namespace polychan::sync::detail
