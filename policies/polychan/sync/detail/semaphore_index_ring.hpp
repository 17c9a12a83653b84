// polychan — a ring of slot indices for any number of pushers and poppers, as the semaphore
// sync policy keeps its free slots and its ready items.
//
// The ring has one cell per slot and there are only that many indices, so it never
// overflows: a pusher always has room. Whoever pops holds a permit (or the channel is
// closed), so it normally finds an index; it only waits for a pusher that has taken its
// position but not yet stored into it (a few instructions, no user code in between).
//
//        head (next pop)                      tail (next push)
//          |                                    |
//   cells: [ full p ][ full p+1 ][ being pushed ][ empty ] ...        position p -> cell p % n
//
//   a cell is one word: turn << 32 | slot index
//     turn 2*lap     : empty, waiting for the push of lap `lap`      (lap = position / n)
//     turn 2*lap + 1 : full, holds the index pushed at lap `lap`
//
//   push(i): t = tail++ ; wait until cell(t) is empty for lap(t) ; store full(lap(t), i)
//   pop    : h = head ; if cell(h) is full for lap(h), CAS head h -> h+1 and empty the cell
//            for lap(h) + 1. Pops claim a position only once it is full, so a popper
//            that gives up (channel closed and drained) has claimed nothing.
//
// Turns are 32 bits: a thread would have to stall for 2^31 laps of the ring to be fooled.
//
// In shared memory the ends and cells may have been overwritten by another process, and a
// wait for a store that will never come must end. There push and pop are handed a `Watch`
// (the heap passes `unwatched`, and all of this compiles away): every `watch_period` spins of
// a wait they ask `watch.intact()` (the whole segment, including fault() below), and they
// look for states that no interleaving of healthy pushers and poppers produces, confirmed
// after a pause (see `stuck_push` and `stuck_pop`). Pop then returns `corrupt`, push false.
// What a healthy ring guarantees at every moment, and the checks rely on:
//   head <= tail                  a pop takes position p only once the push that moved
//                                 tail past p has stored its cell
//   tail - head <= n              the positions in between hold distinct slot indices
//   cell(head) is for lap(head)   full or empty, or still full from the lap before (its
//                                 popper has moved head and is about to empty it)
//   cell(tail) is 1-3 steps back  nobody has pushed at tail yet; the cell is still busy
//                                 with position tail - n, or tail - 2n not yet emptied
// Two states are legal and yet, if they last, are corruption or a dead peer: a cell that
// still holds the item of the lap before (its popper has moved head and not yet emptied it),
// and an empty cell at head (its pusher has moved tail and not yet stored). Each is two
// stores of one thread apart, no user code in between; a wait that sees the same such cell
// for `stall_limit` reports it.
#pragma once

#include <polychan/detail/cpu_pause.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

namespace polychan::sync::detail {

/// One step of a short wait for another thread's next store. The Relacy backend provides
/// `pause()` so the model checker knows the thread is spinning.
template <class Atomics>
void semaphore_pause(unsigned& spins) {
    if constexpr (requires { Atomics::pause(); }) {
        Atomics::pause();
    } else if (++spins < 64) {
        polychan::detail::cpu_pause();
    } else {
        std::this_thread::yield(); // the pusher was preempted: give it the core
    }
}

/// The watch of a ring in memory no other process writes: nothing is checked.
struct unwatched {
    static constexpr bool enabled = false;
};

template <class Atomics, class Orders>
struct semaphore_index_ring {
    using word = std::uint64_t;
    using cell = typename Atomics::template atomic<word>;
    static constexpr std::uint32_t none = 0xFFFF'FFFFu; ///< pop gave up: closed and drained
    /// pop gave up: the ring is corrupt (the watch has recorded why). At least the capacity,
    /// which is below `none`.
    static constexpr std::uint32_t corrupt = 0xFFFF'FFFEu;
    /// Spins of a wait between two questions to the watch: once the pauses are over (64), then
    /// every 64 yields. (On a loaded machine a yield can cost a time slice: counting yields
    /// keeps the time between two questions short too.)
    static constexpr unsigned watch_period = 64;
    /// How long a watched wait lets one cell hold the item of the lap before, or stay empty at
    /// head (see the top of this file). No running thread takes this long between its two
    /// stores: it is stopped (a debugger, SIGSTOP) or dead, or the ring was forged to look
    /// like that, and in each case the wait would never end.
    static constexpr std::chrono::seconds stall_limit{2};

    /// The two ends, in the channel's control block (on their own cache lines: pushers and
    /// poppers are different threads).
    struct ends {
        alignas(64) typename Atomics::template atomic<std::uint64_t> head{0};
        alignas(64) typename Atomics::template atomic<std::uint64_t> tail{0};
    };

    /// Pushes slot index `i`. `cell_at(k)` is the ring's k-th cell, `n` the ring size.
    /// False only when `watch` found the ring corrupt (never for `unwatched`).
    template <class CellAt, class Watch = unwatched>
    static bool push(ends& e, std::size_t n, CellAt cell_at, std::uint32_t i, [[maybe_unused]] Watch watch = {}) {
        std::uint64_t const t = e.tail.fetch_add(1, std::memory_order_relaxed);
        cell& c = cell_at(t % n);
        unsigned spins = 0;
        [[maybe_unused]] unsigned waited = 0;
        [[maybe_unused]] stall seen;
        // Relaxed: the only thing to wait for is the previous lap's popper emptying this cell,
        // and it has read the cell (the same atomic) before, so it cannot see our store.
        while (turn(c.load(std::memory_order_relaxed)) != empty_turn(t, n)) {
            if constexpr (Watch::enabled) {
                if (++waited % watch_period == 0 && stuck_push(c, t, n, watch, seen)) return false;
            }
            semaphore_pause<Atomics>(spins);
        }
        c.store(make(full_turn(t, n), i), Orders::fill);
        return true;
    }

    /// Pops the oldest index, waiting for a pusher that is storing it. Returns `none` only
    /// when the ring is empty and `drained()` says no push can come any more, `corrupt` only
    /// when `watch` found the ring corrupt.
    template <class CellAt, class Drained, class Watch = unwatched>
    static std::uint32_t pop(ends& e, std::size_t n, CellAt cell_at, Drained drained,
                             [[maybe_unused]] Watch watch = {}) {
        unsigned spins = 0;
        [[maybe_unused]] unsigned waited = 0;
        [[maybe_unused]] stall seen;
        for (;;) {
            // Asked before reading the cell: once nobody can push, an empty cell stays empty.
            bool const final = drained();
            std::uint64_t h = e.head.load(std::memory_order_relaxed);
            cell& c = cell_at(h % n);
            word const w = c.load(Orders::observe);
            if (turn(w) == full_turn(h, n)) {
                // Relaxed: the CAS only decides who owns position h; the index came with `w`.
                if (e.head.compare_exchange_weak(h, h + 1, std::memory_order_relaxed, std::memory_order_relaxed)) {
                    c.store(make(empty_turn(h + n, n), 0), std::memory_order_relaxed);
                    return index(w);
                }
            } else if (turn(w) == empty_turn(h, n)) {
                if (final) return none;
                semaphore_pause<Atomics>(spins); // a pusher has position h and is about to store
            }
            // Otherwise `h` was stale: another popper took it; look again.
            if constexpr (Watch::enabled) {
                // Or the popper of the lap before has yet to empty the cell: in shared memory
                // that popper may be a stopped process, so wait for it without burning a core.
                if (lag(w, h, n) == -1) semaphore_pause<Atomics>(spins);
                if (++waited % watch_period == 0 && stuck_pop(e, n, cell_at, h, w, watch, seen)) return corrupt;
            }
        }
    }

    /// Indices in the ring, counting pushes under way (a statistic: the ends move meanwhile).
    static std::size_t size(const ends& e, std::size_t n) noexcept {
        std::uint64_t const head = e.head.load(std::memory_order_relaxed);
        std::uint64_t const tail = e.tail.load(std::memory_order_relaxed);
        if (tail <= head) return 0;
        return static_cast<std::size_t>(tail - head > n ? n : tail - head);
    }

    /// What is wrong with the ends and with the cells of the next pop and the next push, or
    /// "" (the ring table above). Every load is acquire, so that none is older than the one
    /// before it: each inequality compares values read in an order that keeps it true while
    /// healthy pushers and poppers move the ends. (The fault is confirmed by the caller after
    /// a pause: on weakly ordered hardware another thread's two stores may show up a moment
    /// apart.)
    template <class CellAt>
    static std::string fault(const ends& e, std::size_t n, CellAt cell_at) {
        std::uint64_t const t1 = e.tail.load(std::memory_order_acquire);
        std::uint64_t const h = e.head.load(std::memory_order_acquire);
        std::uint64_t const t2 = e.tail.load(std::memory_order_acquire);
        // head <= tail always, and both only grow: h <= head(when t2 is read) <= t2.
        if (h > t2) return "head " + std::to_string(h) + " is past tail " + std::to_string(t2);
        // tail - head <= n always, and head only grows: t1 - h <= tail - head (when t1 is read) <= n.
        if (t1 > h && t1 - h > n) {
            return "tail " + std::to_string(t1) + " is " + std::to_string(t1 - h) + " positions past head " +
                   std::to_string(h) + " (ring of " + std::to_string(n) + ")";
        }
        // Position h - n was popped (h - n < head) and h was not while head still reads h: the
        // cell is at most one step behind or ahead of lap(h)'s empty turn.
        word const wh = cell_at(h % n).load(std::memory_order_acquire);
        if (e.head.load(std::memory_order_acquire) == h) {
            std::int32_t const d = lag(wh, h, n);
            if (d < -1 || d > 1) return cell_fault(wh, h, n, "head", "2L-1 to 2L+1");
            if (bad_item(wh, n)) return index_fault(wh, h, n);
        }
        // Nobody has pushed at t2 while tail still reads t2, and tail - 2n was popped (tail - n
        // <= head): the cell is between lap(t2) - 2 full and lap(t2) empty.
        word const wt = cell_at(t2 % n).load(std::memory_order_acquire);
        if (e.tail.load(std::memory_order_acquire) == t2) {
            std::int32_t const d = lag(wt, t2, n);
            if (d < -3 || d > 0) return cell_fault(wt, t2, n, "tail", "2L-3 to 2L");
            if (bad_item(wt, n)) return index_fault(wt, t2, n);
        }
        return {};
    }

  private:
    static constexpr word make(std::uint32_t turn, std::uint32_t i) noexcept { return word{turn} << 32 | i; }
    static constexpr std::uint32_t turn(word w) noexcept { return static_cast<std::uint32_t>(w >> 32); }
    static constexpr std::uint32_t index(word w) noexcept { return static_cast<std::uint32_t>(w); }
    static constexpr std::uint32_t empty_turn(std::uint64_t pos, std::size_t n) noexcept {
        return static_cast<std::uint32_t>(2 * (pos / n));
    }
    static constexpr std::uint32_t full_turn(std::uint64_t pos, std::size_t n) noexcept {
        return empty_turn(pos, n) + 1;
    }
    /// How many steps the cell's turn is past position `pos`'s empty turn (negative: behind).
    static constexpr std::int32_t lag(word w, std::uint64_t pos, std::size_t n) noexcept {
        return static_cast<std::int32_t>(turn(w) - empty_turn(pos, n)); // modulo 2^32, as turns are
    }

    /// A full cell (odd turn) whose slot index is no slot.
    static constexpr bool bad_item(word w, std::size_t n) noexcept { return (turn(w) & 1) != 0 && index(w) >= n; }
    static std::string index_fault(word w, std::uint64_t pos, std::size_t n) {
        return "cell " + std::to_string(pos % n) + " holds slot index " + std::to_string(index(w)) +
               ", beyond the capacity " + std::to_string(n);
    }
    static std::string cell_fault(word w, std::uint64_t pos, std::size_t n, const char* end, const char* expected) {
        return "cell " + std::to_string(pos % n) + " holds turn " + std::to_string(turn(w)) + " at " + end +
               " position " + std::to_string(pos) + " (lap L = " + std::to_string(pos / n) + ", expected turn " +
               expected + ")";
    }

    /// What a watched wait has seen of one cell, and since when (see stall_limit).
    struct stall {
        std::uint64_t pos = 0;
        word seen = 0;
        std::chrono::steady_clock::time_point since{};
        /// Whether the cell at `p` has held `w` since stall_limit ago (as far as this wait saw).
        bool too_long(std::uint64_t p, word w) {
            auto const now = std::chrono::steady_clock::now();
            if (since == std::chrono::steady_clock::time_point{} || p != pos || w != seen) {
                pos = p;
                seen = w;
                since = now;
                return false;
            }
            return now - since >= stall_limit;
        }
    };
    static std::string stall_fault(word w, std::uint64_t pos, std::size_t n, const char* who) {
        return "cell " + std::to_string(pos % n) + " has held the item of the lap before (slot index " +
               std::to_string(index(w)) + ") for " + std::to_string(stall_limit.count()) + " s while the " + who +
               " at position " + std::to_string(pos) + " waits for it to be emptied: its popper is stopped or " +
               "dead, or the cell was forged";
    }
    static std::string empty_fault(std::uint64_t pos, std::uint64_t tail, std::size_t n) {
        return "cell " + std::to_string(pos % n) + " has stayed empty for " + std::to_string(stall_limit.count()) +
               " s at head position " + std::to_string(pos) + " (tail " + std::to_string(tail) +
               ") while a pop waits for its push: the pusher is stopped or dead, or an end was forged";
    }

    /// A push has waited `watch_period` spins for its cell: true (recorded) if the segment is
    /// corrupt or the cell holds what no popper leaves. The pushes at positions up to t have
    /// moved tail past t, so head > t - n: position t - n was popped, and the cell shows its
    /// item (2L-1, the popper has yet to empty it: see stall_limit) or is empty for lap L;
    /// only this push fills it.
    template <class Watch>
    static bool stuck_push(cell& c, std::uint64_t t, std::size_t n, Watch& watch, stall& seen) {
        if (!watch.intact()) return true;
        // Relaxed: the value is judged on its own, nothing else is read through it.
        word w = c.load(std::memory_order_relaxed);
        if (lag(w, t, n) == 0) return false;
        if (lag(w, t, n) == -1 && !bad_item(w, n)) {
            if (!seen.too_long(t, w)) return false;
            watch.corrupt(stall_fault(w, t, n, "push"));
            return true;
        }
        settle(); // a read of the cell can be late for a moment, never for a millisecond
        w = c.load(std::memory_order_relaxed);
        std::int32_t const d = lag(w, t, n);
        if (d == 0 || (d == -1 && !bad_item(w, n))) return false;
        watch.corrupt(d == -1 ? index_fault(w, t, n) : cell_fault(w, t, n, "push", "2L-1 or 2L"));
        return true;
    }

    /// A pop has waited `watch_period` spins, last seeing `w` in the cell at head `h`: true
    /// (recorded) if the segment is corrupt; if that cell has held the item of the lap before,
    /// or stayed empty, for stall_limit (a pop only ever waits for another thread's next store:
    /// a pusher that has taken position h, a popper that has left it, or, after close, a
    /// publisher that the gate counts); or if the ring holds fewer items than permits stand for.
    template <class CellAt, class Watch>
    static bool stuck_pop(ends& e, std::size_t n, CellAt& cell_at, std::uint64_t h, word w, Watch& watch, stall& seen) {
        if (!watch.intact()) return true; // fault(): the ends and the cell at head
        std::int32_t const d = lag(w, h, n);
        // Acquire: read after the cell, so that an unchanged head means the same wait.
        if ((d == -1 || d == 0) && seen.too_long(h, w) && e.head.load(std::memory_order_acquire) == h) {
            // Acquire: for the message only.
            watch.corrupt(d == -1 ? stall_fault(w, h, n, "pop")
                                  : empty_fault(h, e.tail.load(std::memory_order_acquire), n));
            return true;
        }
        std::string what;
        if (!missing_items(e, n, cell_at, watch, what)) return false;
        settle(); // a read can be late for a moment, never for a millisecond
        if (!missing_items(e, n, cell_at, watch, what)) return false;
        watch.corrupt(what);
        return true;
    }

    /// Whether the ring holds fewer stored items than permits stand for (`what` says so). A
    /// permit is given after its push stores and taken before its pop, so the items stored
    /// and not popped are at least the permits not yet taken plus those taken and not yet used:
    /// `watch.owed()` is a lower bound of the two (the count, and this pop's own permit), or 0
    /// when it cannot be known. Read head, then owed(), then the cells from head to tail, then
    /// head again: if head has not moved, nobody popped meanwhile, and the stored items only
    /// grew after owed() was read.
    template <class CellAt, class Watch>
    static bool missing_items(ends& e, std::size_t n, CellAt& cell_at, Watch& watch, std::string& what) {
        std::uint64_t const h = e.head.load(std::memory_order_acquire);
        std::int64_t const owed = watch.owed(); // (acquire loads, after head)
        if (owed <= 0) return false;
        std::uint64_t const t = e.tail.load(std::memory_order_acquire);
        std::int64_t stored = 0;
        for (std::uint64_t p = h; p < t && p - h < n && stored < owed; ++p)
            if (turn(cell_at(p % n).load(std::memory_order_acquire)) == full_turn(p, n)) ++stored;
        if (stored >= owed || e.head.load(std::memory_order_acquire) != h) return false;
        what = std::to_string(owed) + " permits (this pop's included) stand for items, but only " +
               std::to_string(stored) + " are stored in the ring (head " + std::to_string(h) + ", tail " +
               std::to_string(t) + ", ring of " + std::to_string(n) + "): the permit count does not match the ring";
        return true;
    }

    static void settle() { std::this_thread::sleep_for(std::chrono::milliseconds{1}); }
};

} // namespace polychan::sync::detail
