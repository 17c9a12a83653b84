// polychan — sync `spsc`: lock-free, exactly one reader thread and one writer thread, every
// ordering. Written against an atomics backend (std_atomics; verify/ swaps in Relacy) with
// every memory order named in `spsc_orders`.
//
// Items travel through a ring of slots indexed by an ever-growing 64-bit position p
// (slot = p % capacity). Each slot is one cache line, so a hand-off moves one line:
//
//   slot { seq      writer -> takers   ready(p) = 2p+2 | hole(p) = 2p+3 | 0 never written
//          freed    takers -> writer   p+1 of the last item taken out of it and finished with
//          occupant writer only        p+1 of the last item written into it
//          item }
//
//            head (taker side: CAS)                 cursor (writer side)
//              v                                      v
//   ... | gone | ready | ready | hole | ready | free | free | held | ...    positions ->
//
//   write p    slot(p) is free when freed == occupant; write the item, tail += 1, seq = ready(p)
//   take p     seq(p) == ready(p), then CAS head p -> p+1: the winner owns the item. The reader
//              takes to read; an evicting caller (discard_old's writer, always_last's reader)
//              takes to destroy. Neither needs to know who the other is.
//   finish p   freed = p+1 (the slot is the writer's again), freed_count += 1
//   holes      a slot still held by a read transaction is skipped: its position becomes a
//              hole (seq = hole(p)) that takers step over, so a held slot is never overwritten
//              and the writer uses the other slots meanwhile. FIFO holds among the items.
//
// Blocking: spin briefly, then sleep on a futex word (Storage::wait_word). The sleeper
// announces itself, then re-checks the counter the other side bumps (tail for the reader,
// freed_count for the writer); the waker bumps the counter, then looks for a sleeper. Both
// pairs are seq_cst, so one of the two always sees the other: no lost wake-up, and a waker
// pays for a system call only when the other side sleeps.
//
// Close: a bit in `tail`, set with an RMW; a publish resolves its position with a CAS on
// `tail`, so it either lands before the close (and is drained) or sees it (and returns
// closed): nothing is delivered after close and nothing accepted is lost.
#pragma once

#include <polychan/atomics.hpp>
#include <polychan/claim.hpp>
#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/payload_cell.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

namespace polychan::sync {

/// The memory orders of the spsc ring and its wake-ups, each named by what it is for.
/// verify/ weakens each one in turn and shows that Relacy then finds a failure.
struct spsc_orders {
    // A taker that sees seq == ready(p) must also see the item written before it.
    static constexpr std::memory_order publish = std::memory_order_release;
    static constexpr std::memory_order observe = std::memory_order_acquire;
    // The taker's last use of an item must happen before the writer overwrites the slot.
    static constexpr std::memory_order finish = std::memory_order_release;
    static constexpr std::memory_order reuse = std::memory_order_acquire;
    // A take only arbitrates who owns the item (seq carries the data): atomicity suffices.
    static constexpr std::memory_order take = std::memory_order_relaxed;
    // The writer only asks whether a slot's item was taken, to skip it; a stale answer
    // just says "full" one more time.
    static constexpr std::memory_order peek_head = std::memory_order_relaxed;
    // The writer's full -> wait decision snapshots freed_count; the frees it counts must
    // be visible to the writer's re-check of the slots.
    static constexpr std::memory_order snapshot_freed = std::memory_order_acquire;
    // Dekker pairs of the wake-up: bump the counter / announce the sleeper, then read the
    // other; seq_cst so that at least one side sees the other.
    static constexpr std::memory_order bump_tail = std::memory_order_seq_cst;
    static constexpr std::memory_order bump_freed = std::memory_order_seq_cst;
    static constexpr std::memory_order announce_sleep = std::memory_order_seq_cst;
    static constexpr std::memory_order recheck = std::memory_order_seq_cst;
    static constexpr std::memory_order find_sleeper = std::memory_order_seq_cst;
    // ready_size() must not count a hole as an item (always_last's reader evicts while it
    // says > 1): the holes_made a reader reads must include the holes in the tail it read.
    static constexpr std::memory_order count_tail = std::memory_order_acquire;
    // close is the same kind of bump as a publish, ordered against sleepers the same way.
    static constexpr std::memory_order close = std::memory_order_seq_cst;
};

/// `spsc` with a chosen atomics backend, memory orders and spin count before sleeping.
template <class Atomics = std_atomics, class Orders = spsc_orders, unsigned SpinLimit = 256>
struct basic_spsc {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "spsc";
    /// Whether the core works with an unbounded storage (heap_unbounded).
    static constexpr bool supports_unbounded = false;
    /// Whether at most one thread (or process) may read at a time.
    static constexpr bool single_reader = true;
    /// Whether at most one thread (or process) may write at a time.
    static constexpr bool single_writer = true;

    /// The slot protocol (sync_core, concepts.hpp) for items T in Storage's memory.
    template <class T, storage_policy Storage>
    class core;
};

/// The lock-free single-reader single-writer sync policy.
using spsc = basic_spsc<>;

namespace spsc_detail {
inline constexpr std::size_t cache_line = 64;

/// One step of a spin: the CPU's pause, or the backend's own (Relacy's yield, so that its
/// schedulers see a spin as waiting for another thread rather than as a livelock).
template <class Atomics>
inline void relax() noexcept {
    if constexpr (requires { Atomics::pause(); }) {
        Atomics::pause();
    } else {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

/// The futex word to sleep on: a backend that models waiting (Relacy) brings its own,
/// otherwise the storage's (process-private on the heap, process-shared in shared memory).
template <class Atomics, class Storage>
struct wait_word_of {
    using type = typename Storage::wait_word;
};
template <class Atomics, class Storage>
requires requires { typename Atomics::wait_word; }
struct wait_word_of<Atomics, Storage> {
    using type = typename Atomics::wait_word;
};
} // namespace spsc_detail

template <class Atomics, class Orders, unsigned SpinLimit>
template <class T, storage_policy Storage>
class basic_spsc<Atomics, Orders, SpinLimit>::core {
    static_assert(!Storage::unbounded, "polychan: spsc needs a bounded storage (heap or heap_fixed)");

    template <class X>
    using atomic = typename Atomics::template atomic<X>;
    using u64 = std::uint64_t;
    using wait_word = typename spsc_detail::wait_word_of<Atomics, Storage>::type;

    static constexpr u64 ready(u64 p) noexcept { return 2 * p + 2; }
    static constexpr u64 hole(u64 p) noexcept { return 2 * p + 3; }
    static constexpr u64 closed_bit = 1; // in `tail`, whose position is tail >> 1

    struct alignas(spsc_detail::cache_line) slot {
        atomic<u64> seq{0};
        atomic<u64> freed{0};
        u64 occupant = 0;
        polychan::detail::payload_cell<T> item;
    };
    struct control {
        // Taker side: the reader's line (an evicting writer visits it only when full).
        alignas(spsc_detail::cache_line) atomic<u64> head{0};
        atomic<u64> freed_count{0};  // items finished with: the writer waits for it to move
        atomic<u64> holes_passed{0}; // holes `head` stepped over (for ready_size)
        // Writer side.
        alignas(spsc_detail::cache_line) atomic<u64> tail{0}; // (positions resolved << 1) | closed
        atomic<u64> holes_made{0};                            // positions resolved without an item
        u64 cursor = 0;                                       // writer only: the next position to write
        u64 full_at_freed = 0; // writer only: freed_count when a write last found no room
        atomic<bool> claimed{false};
        // Sleepers: written only around a sleep, read by every publish and release.
        alignas(spsc_detail::cache_line) wait_word reader_sleeps{0};
        alignas(spsc_detail::cache_line) wait_word writer_sleeps{0};
        alignas(spsc_detail::cache_line) atomic<u64> discarded{0};
    };
    using region_type = typename Storage::template region<slot, control>;

  public:
    /// The item type.
    using value_type = T;
    /// A claimed write slot, from try_claim_write() until publish() or cancel().
    struct write_ticket {
        slot* s = nullptr;
        u64 position = 0;
    };
    /// A claimed read slot, from try_claim_read() until release().
    struct read_ticket {
        slot* s = nullptr;
        u64 position = 0;
    };

    /// Builds the storage region from the channel's constructor arguments; a new region starts all free.
    template <class... Args>
    explicit core(Args&&... args) : mem_(std::forward<Args>(args)...) {}
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() {
        // Items still queued belong to the channel; held transactions are gone by now. In
        // shared memory they belong to the segment: another process may still read them.
        if constexpr (!Storage::process_shared) {
            while (auto p = take_oldest()) slot_at(*p).item.destroy();
        }
    }

    // ---- writer ----------------------------------------------------------------------
    /// Takes a free slot without waiting: ok, full, or closed.
    claim<write_ticket> try_claim_write() {
        if (ctl().claimed.load(std::memory_order_relaxed))
            throw std::logic_error("polychan: spsc allows one write transaction at a time");
        if (ctl().tail.load(std::memory_order_relaxed) & closed_bit) return {status::closed};
        for (int attempt = 0; attempt < 2; ++attempt) {
            if (auto c = claim_free_slot()) return *c;
            // Full. Snapshot the frees before looking once more, so that a free landing in
            // between is either seen now or moves freed_count past the snapshot (and then
            // wait_writable returns at once).
            if (attempt == 0) ctl().full_at_freed = ctl().freed_count.load(Orders::snapshot_freed);
        }
        return {status::full};
    }

    /// Waits until the reader frees a slot, closed, or `d`; false on timeout.
    bool wait_writable(deadline d, wake_on) {
        // Only the reader frees slots, and only the writer makes items: whatever the writer
        // waits for (a free slot, or an item it could evict), a free is what ends the wait.
        u64 const seen = ctl().full_at_freed;
        return await(ctl().writer_sleeps, d, [&](std::memory_order mo) {
            return ctl().freed_count.load(mo) != seen || (ctl().tail.load(mo) & closed_bit);
        });
    }

    /// Appends the slot to the ready FIFO: ok; closed (item destroyed, slot freed) after close().
    status publish(write_ticket w) {
        ctl().claimed.store(false, std::memory_order_relaxed);
        // Resolve the position in `tail`, unless closed: then `tail` stays as the close left
        // it (counts must never include an item that will not be delivered) and the item is
        // dropped, not delivered after the close (Go semantics). The writer owns `tail`, so
        // the CAS fails only when a close lands in between.
        u64 t = ctl().tail.load(std::memory_order_relaxed);
        do {
            if (t & closed_bit) {
                w.s->item.destroy();
                return status::closed;
            }
        } while (!ctl().tail.compare_exchange_weak(t, t + 2, Orders::bump_tail, std::memory_order_relaxed));
        ctl().cursor = w.position + 1;
        w.s->occupant = w.position + 1;
        w.s->seq.store(ready(w.position), Orders::publish);
        wake(ctl().reader_sleeps);
        return status::ok;
    }

    // Nothing was made visible: the position is simply written next time.
    /// Gives up an unpublished write slot: nothing was made visible, so it is simply reused.
    void cancel(write_ticket) { ctl().claimed.store(false, std::memory_order_relaxed); }

    // ---- reader ----------------------------------------------------------------------
    /// Takes the oldest ready slot without waiting: ok, empty, or closed once closed and drained.
    claim<read_ticket> try_claim_read() {
        if (auto p = take_oldest()) return {status::ok, {&slot_at(*p), *p}};
        // Nothing resolved at head. Closed and drained only if the close came after every
        // publish that reached it (tail counts those) and head has passed them all.
        u64 const t = ctl().tail.load(std::memory_order_relaxed);
        bool const drained = (t >> 1) <= ctl().head.load(std::memory_order_relaxed);
        return {(t & closed_bit) && drained ? status::closed : status::empty};
    }

    /// Waits until an item may be ready, closed, or `d`; false on timeout.
    bool wait_readable(deadline d) {
        u64 const h = ctl().head.load(std::memory_order_relaxed);
        return await(ctl().reader_sleeps, d, [&](std::memory_order mo) {
            u64 const t = ctl().tail.load(mo);
            return (t >> 1) > h || (t & closed_bit);
        });
    }

    /// Returns a read slot (its item already destroyed) to the free pool.
    void release(read_ticket r) { finish(*r.s, r.position); }

    // ---- either side -----------------------------------------------------------------
    /// Destroys the oldest ready item and frees its slot; false if none is ready. Not counted here.
    bool try_evict_oldest() {
        auto const p = take_oldest();
        if (!p) return false;
        slot& s = slot_at(*p);
        s.item.destroy();
        finish(s, *p);
        return true;
    }

    // A statistic only: nothing is ordered by it.
    /// Adds one to the discard counter (the ordering calls it for every item it drops).
    void count_discarded() { ctl().discarded.fetch_add(1, std::memory_order_relaxed); }
    /// Items dropped by the ordering so far.
    std::uint64_t discarded() const { return ctl().discarded.load(std::memory_order_relaxed); }

    /// The item cell of a claimed slot.
    polychan::detail::payload_cell<T>& payload(write_ticket w) noexcept { return w.s->item; }
    polychan::detail::payload_cell<T>& payload(read_ticket r) noexcept { return r.s->item; }

    /// Marks the channel closed and wakes every waiter.
    void close() {
        ctl().tail.fetch_or(closed_bit, Orders::close);
        wake(ctl().reader_sleeps);
        wake(ctl().writer_sleeps);
    }
    /// Whether close() was called.
    bool is_closed() const { return ctl().tail.load(std::memory_order_relaxed) & closed_bit; }

    // Sizes are snapshots of counters the two sides move independently: exact when the
    // channel is quiescent, clamped to [0, capacity] while it is not.
    /// Items published and not yet claimed.
    std::size_t ready_size() const {
        u64 const resolved = ctl().tail.load(Orders::count_tail) >> 1;
        u64 const items = resolved - ctl().holes_made.load(std::memory_order_relaxed);
        u64 const taken =
            ctl().head.load(std::memory_order_relaxed) - ctl().holes_passed.load(std::memory_order_relaxed);
        return clamp(items, taken);
    }
    /// Slots neither holding an item nor claimed.
    std::size_t free_size() const {
        u64 const resolved = ctl().tail.load(std::memory_order_relaxed) >> 1;
        u64 const items = resolved - ctl().holes_made.load(std::memory_order_relaxed);
        u64 const finished = ctl().freed_count.load(std::memory_order_relaxed);
        std::size_t const in_use = clamp(items, finished) + (ctl().claimed.load(std::memory_order_relaxed) ? 1 : 0);
        return capacity() - std::min(in_use, capacity());
    }
    /// The number of slots.
    std::size_t capacity() const { return mem_.capacity(); }

  private:
    control& ctl() const noexcept { return const_cast<region_type&>(mem_).control(); }
    slot& slot_at(u64 p) const noexcept { return const_cast<region_type&>(mem_).slot(p % mem_.capacity()); }
    std::size_t clamp(u64 more, u64 less) const noexcept {
        return more > less ? static_cast<std::size_t>(std::min<u64>(more - less, capacity())) : 0;
    }

    /// The writer's slot search: the slot at the cursor if it is free; past slots held by
    /// read transactions (they become holes) to the first free one; none if a slot on the
    /// way still holds an item nobody took (full) or a whole lap is held.
    std::optional<claim<write_ticket>> claim_free_slot() {
        u64 const c = ctl().cursor;
        for (u64 k = 0; k < capacity(); ++k) {
            slot& s = slot_at(c + k);
            if (s.freed.load(Orders::reuse) == s.occupant) {
                if (k > 0) make_holes(c, k);
                ctl().claimed.store(true, std::memory_order_relaxed);
                return claim<write_ticket>{status::ok, {&s, c + k}};
            }
            // Not finished with: held by a taker (skip it), or a ready item (full).
            if (ctl().head.load(Orders::peek_head) < s.occupant) return std::nullopt;
        }
        return std::nullopt;
    }

    void make_holes(u64 first, u64 count) {
        for (u64 p = first; p < first + count; ++p) slot_at(p).seq.store(hole(p), Orders::publish);
        ctl().holes_made.store(ctl().holes_made.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
        ctl().cursor = first + count;
        ctl().tail.fetch_add(2 * count, Orders::bump_tail);
    }

    /// Takes the oldest item, stepping over holes: the position now owned by the caller,
    /// or none when nothing at head is resolved yet.
    std::optional<u64> take_oldest() {
        for (;;) {
            u64 h = ctl().head.load(std::memory_order_relaxed);
            u64 const v = slot_at(h).seq.load(Orders::observe);
            if (v < ready(h)) return std::nullopt; // not written yet
            // ready(h): the item is ours if we move head past it first. Anything later than
            // ready(h): position h was a hole (items are never overwritten before taken).
            if (!ctl().head.compare_exchange_strong(h, h + 1, Orders::take, std::memory_order_relaxed)) continue;
            if (v == ready(h)) return h;
            ctl().holes_passed.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void finish(slot& s, u64 p) {
        s.freed.store(p + 1, Orders::finish);
        ctl().freed_count.fetch_add(1, Orders::bump_freed);
        wake(ctl().writer_sleeps);
    }

    /// Wakes the other side if it announced a sleep. The common case is one load.
    void wake(wait_word& w) {
        if (w.load(Orders::find_sleeper) != 0 && w.exchange(0, std::memory_order_relaxed) != 0) w.notify_one();
    }

    /// Spins, then sleeps on `w` until `ready(order)` holds or the deadline passes.
    template <class Ready>
    bool await(wait_word& w, deadline d, Ready ready_now) {
        // Called after a failed attempt: pause once first, as the other side may be in the
        // middle of the step this side is about to re-check.
        spsc_detail::relax<Atomics>();
        if (ready_now(std::memory_order_relaxed)) return true;
        if (d.is_poll()) return false;
        for (unsigned i = 0; i < SpinLimit; ++i) {
            spsc_detail::relax<Atomics>();
            if (ready_now(std::memory_order_relaxed)) return true;
        }
        for (;;) {
            w.store(1, Orders::announce_sleep);
            if (ready_now(Orders::recheck)) break;
            if (d.is_forever()) {
                w.wait(1);
            } else if (!w.wait_until(1, d.when())) {
                w.store(0, std::memory_order_relaxed);
                return ready_now(Orders::recheck);
            }
        }
        w.store(0, std::memory_order_relaxed);
        return true;
    }

    mutable region_type mem_;
};

} // namespace polychan::sync
