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
// The uncontended paths touch only the word: the semaphore (a futex or a process-shared
// POSIX semaphore, whatever the storage hands out) is used only to sleep and to wake.
// A wake-up from close() carries no real permit: the caller finds out from its own closed flag.
#pragma once

#include <polychan/deadline.hpp>

#include <algorithm>
#include <cstdint>

namespace polychan::sync::detail {

template <class Atomics, class Orders, class Semaphore>
class semaphore_permits {
  public:
    /// How take_until ended: with a permit (or, after close, a wake-up), closed, or timed out.
    enum class outcome { woken, closed, timeout };

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
    template <class Already>
    outcome take_until(deadline d, Already already) {
        std::int64_t const w = word_.fetch_sub(2, Orders::enlist);
        if (count(w) > 0) return outcome::woken;
        if (closed(w)) return withdraw() ? outcome::closed : outcome::woken;
        if (already()) {
            withdraw(); // enlisted or served, there is news either way
            return outcome::woken;
        }
        if (d.is_poll()) return withdraw() ? outcome::timeout : outcome::woken;
        if (d.is_forever()) {
            sleep_.acquire();
            return outcome::woken;
        }
        if (sleep_.try_acquire_until(d.when())) return outcome::woken;
        return withdraw() ? outcome::timeout : outcome::woken;
    }

    /// Wakes every enlisted sleeper and refuses new ones.
    void close() {
        std::int64_t w = word_.load(std::memory_order_relaxed);
        while (!word_.compare_exchange_weak(w, std::max<std::int64_t>(count(w), 0) * 2 + 1, Orders::give,
                                            std::memory_order_relaxed)) {
        }
        if (count(w) < 0) sleep_.release(static_cast<std::ptrdiff_t>(-count(w)));
    }

    /// Permits nobody has taken, read with `order` (the doorbell's re-check needs seq_cst).
    std::int64_t available(std::memory_order order) const noexcept {
        return std::max<std::int64_t>(count(word_.load(order)), 0);
    }
    /// Threads enlisted to sleep, read with `order`.
    std::int64_t sleepers(std::memory_order order) const noexcept {
        return std::max<std::int64_t>(-count(word_.load(order)), 0);
    }

  private:
    static constexpr std::int64_t count(std::int64_t w) noexcept { return w >> 1; } // arithmetic shift (C++20)
    static constexpr bool closed(std::int64_t w) noexcept { return (w & 1) != 0; }

    /// Undoes this thread's enlistment. False when a give() or close() already counted us
    /// as served: its post is then ours, and taken here so that it cannot wake anyone else.
    bool withdraw() {
        std::int64_t w = word_.load(std::memory_order_relaxed);
        while (count(w) < 0)
            if (word_.compare_exchange_weak(w, w + 2, std::memory_order_relaxed, std::memory_order_relaxed))
                return true;
        sleep_.acquire();
        return false;
    }

    typename Atomics::template atomic<std::int64_t> word_{0};
    Semaphore sleep_{0};
};

} // namespace polychan::sync::detail
