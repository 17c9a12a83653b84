// polychan — how a sync core in shared memory finds out that its segment is corrupt, and
// remembers it.
//
// Another process may write anything into a segment. The cores check what they read before
// they use it (indices, counts, positions), and a waiter re-checks the segment at least every
// `integrity_check_period`, so a peer that corrupts the segment and never wakes anybody
// cannot leave a waiter blocked. The first fault a process finds is kept: from then on every
// operation of that process on the channel ends with status::corrupt, and corruption() says
// what was wrong. (A segment is not repaired from bytes that were found wrong: only after a
// crash, which the robust mutex reports, does the mutex core rebuild its lists.)
#pragma once

#include <polychan/deadline.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

namespace polychan::storage::detail {

/// How often a waiter in shared memory wakes to re-check the segment.
inline constexpr std::chrono::milliseconds integrity_check_period{50};

/// The first fault this process found in a segment. Sticky: the bytes that were wrong may
/// look right again later, but nothing read from the segment meanwhile can be trusted.
class corruption_latch {
  public:
    /// Whether a fault was found.
    bool found() const noexcept { return found_.load(std::memory_order_acquire); }
    /// Records `what` unless a fault was already found (the first one is what went wrong).
    void record(std::string what) {
        std::lock_guard<std::mutex> lock{m_};
        if (found_.load(std::memory_order_relaxed)) return;
        what_ = std::move(what);
        found_.store(true, std::memory_order_release); // `what_` is never written again
    }
    /// As record(), when there is no memory left to say what.
    void record_without_text() noexcept {
        std::lock_guard<std::mutex> lock{m_};
        found_.store(true, std::memory_order_release);
    }
    /// The fault found, or "" if none.
    std::string what() const {
        if (!found()) return {};
        return what_.empty() ? std::string{"a fault (no memory was left to describe it)"} : what_;
    }

  private:
    std::atomic<bool> found_{false};
    std::mutex m_;
    std::string what_;
};

/// Waits through `wait_once(slice)` (true once woken) until `d`, in slices of at most
/// `integrity_check_period`, and between slices asks `intact()`: a wait in a segment found
/// corrupt ends at once, as woken, so that the caller's next attempt reports it.
template <class Intact, class WaitOnce>
bool wait_in_slices(deadline d, Intact intact, WaitOnce wait_once) {
    using clock = deadline::clock;
    for (;;) {
        if (!intact()) return true;
        if (d.is_poll()) return wait_once(d);
        clock::time_point const next = clock::now() + integrity_check_period;
        bool const last = !d.is_forever() && d.when() <= next;
        if (wait_once(last ? d : deadline::at(next))) return true;
        if (last) return false;
    }
}

} // namespace polychan::storage::detail
