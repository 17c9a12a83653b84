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
#pragma once

#include <cstddef>
#include <cstdint>
#include <thread>

namespace polychan::sync::detail {

/// One step of a short wait for another thread's next store. The Relacy backend provides
/// `pause()` so the model checker knows the thread is spinning.
template <class Atomics>
void semaphore_pause(unsigned& spins) {
    if constexpr (requires { Atomics::pause(); }) {
        Atomics::pause();
    } else if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    } else {
        std::this_thread::yield(); // the pusher was preempted: give it the core
    }
}

template <class Atomics, class Orders>
struct semaphore_index_ring {
    using word = std::uint64_t;
    using cell = typename Atomics::template atomic<word>;
    static constexpr std::uint32_t none = 0xFFFF'FFFFu; ///< pop gave up: closed and drained

    /// The two ends, in the channel's control block (on their own cache lines: pushers and
    /// poppers are different threads).
    struct ends {
        alignas(64) typename Atomics::template atomic<std::uint64_t> head{0};
        alignas(64) typename Atomics::template atomic<std::uint64_t> tail{0};
    };

    /// Pushes slot index `i`. `cell_at(k)` is the ring's k-th cell, `n` the ring size.
    template <class CellAt>
    static void push(ends& e, std::size_t n, CellAt cell_at, std::uint32_t i) {
        std::uint64_t const t = e.tail.fetch_add(1, std::memory_order_relaxed);
        cell& c = cell_at(t % n);
        unsigned spins = 0;
        // Relaxed: the only thing to wait for is the previous lap's popper emptying this cell,
        // and it has read the cell (the same atomic) before, so it cannot see our store.
        while (turn(c.load(std::memory_order_relaxed)) != empty_turn(t, n)) semaphore_pause<Atomics>(spins);
        c.store(make(full_turn(t, n), i), Orders::fill);
    }

    /// Pops the oldest index, waiting for a pusher that is storing it. Returns `none` only
    /// when the ring is empty and `drained()` says no push can come any more.
    template <class CellAt, class Drained>
    static std::uint32_t pop(ends& e, std::size_t n, CellAt cell_at, Drained drained) {
        unsigned spins = 0;
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
        }
    }

    /// Indices in the ring, counting pushes under way (a statistic: the ends move meanwhile).
    static std::size_t size(const ends& e, std::size_t n) noexcept {
        std::uint64_t const head = e.head.load(std::memory_order_relaxed);
        std::uint64_t const tail = e.tail.load(std::memory_order_relaxed);
        if (tail <= head) return 0;
        return static_cast<std::size_t>(tail - head > n ? n : tail - head);
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
};

} // namespace polychan::sync::detail
