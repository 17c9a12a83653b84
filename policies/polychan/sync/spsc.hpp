// polychan — sync `spsc`: lock-free, exactly one reader thread and one writer thread, every
// ordering. Written against an atomics backend (std_atomics; verify/ swaps in Relacy) with
// every memory order named in `spsc_orders`.
//
// A ring of packed slots indexed by ever-growing 64-bit positions (slot = p % capacity). The
// writer's and the reader's state live on separate cache lines; the writer keeps a private
// copy of the reader's frontier and reads the reader's line only when its copy says full
// (rigtorp/SPSCQueue's cached index); the reader finds items by a word in each slot. A
// hand-off costs the writer no locked instruction and no fence.
//
//          frontier             head                 tail
//             v                   v                    v
//   ... free | held | gone | held | ready | ready | ready | free ...      positions ->
//             \____ taken by the reader ___/\__ published __/
//
//   published  per slot, in the item's cache line: position + 1 once the item is in
//              (publish/observe). The reader finds items by it, so a hand-off moves one
//              line, and the writer's own line (tail, its copies) is never pulled away.
//   tail       writer: items [0, tail) were published; read only for sizes
//   head       (position << 1) | drained. With an ordering that evicts (discard_old,
//              always_last) the writer CASes it when full, to evict the oldest item, so the
//              reader takes with a CAS too: whoever moves head owns the item. Without
//              evictions head is the reader's, and a take is a plain store: a locked
//              instruction per item was half of a hand-off's CPU time. A publish that
//              raced with close is either read or taken back, never lost: the writer
//              decides with a CAS on head (evictions) or on the slot (settle_after_close).
//   frontier   reader: the slots of positions < frontier are the writer's again. Read
//              transactions may be held and released in any order, so it moves when the
//              reader holds none, to just past its last take (positions skipped by head were
//              evicted by the writer, which reuses those slots at once).
//
// Blocking: spin briefly, then sleep on a futex word (Storage::wait_word). The StoreLoad
// pairs this needs (the publisher marks the slot then looks for a sleeper; the sleeper
// announces itself then re-checks the slot) use an asymmetric fence (detail/membarrier.hpp):
// a compiler barrier on the per-item side, membarrier() on the side about to sleep. The
// same pair orders a publish against close(): a publish that did not see `closed` is seen
// by the reader's drain check, one that did settles at `head` (settle_after_close).
//
// In shared memory the counters may be written by a broken or hostile peer. Slots are found
// by position % capacity, so no value can lead outside the ring; what a bad value can do is
// leave a side waiting for ever. So a side about to sleep, and every sleeper now and then,
// checks the bounds it can check without a race (ring_fault) and the segment's header, and
// a fault ends every operation of this process with `corrupt` (storage/detail/integrity.hpp).
#pragma once

#include <polychan/atomics.hpp>
#include <polychan/claim.hpp>
#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/cpu_pause.hpp>
#include <polychan/detail/hot_path.hpp>
#include <polychan/detail/membarrier.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/storage/detail/integrity.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

namespace polychan::sync {

/// The memory orders of the spsc ring and its wake-ups, each named by what it is for.
/// verify/ weakens each one in turn and shows that Relacy then finds a failure.
struct spsc_orders {
    // A reader that sees slot.published == p + 1 must also see item p, written before it.
    static constexpr std::memory_order publish = std::memory_order_release;
    static constexpr std::memory_order observe = std::memory_order_acquire;
    // The reader's last use of a slot must happen before the writer overwrites it.
    static constexpr std::memory_order finish = std::memory_order_release;
    static constexpr std::memory_order reuse = std::memory_order_acquire;
    // A CAS on head (or, after close, on a slot's `published`) only decides who owns position
    // p (published and frontier carry the data); a store of head is the reader's own record.
    static constexpr std::memory_order take = std::memory_order_relaxed;
    // StoreLoad pairs, each with a light side that runs per item and a heavy side that
    // runs rarely (detail/membarrier.hpp); at least one of the two always sees the other:
    //   publish_fence  writer: published stored  -> light -> a sleeping reader? closed?
    //   release_fence  reader: frontier stored   -> light -> a sleeping writer?
    //   take_fence     reader: head stored (take) -> light -> closed? (no evictions only)
    //   settle_fence   writer, publish saw closed -> heavy -> has the reader taken it?
    //   close_fence    close: closed stored      -> light -> sleepers?
    //   sleep_fence    a sleeper: announced      -> heavy -> re-check what it waits for
    //   drain_fence    reader, closed and empty  -> heavy -> look at the slot again before "drained"
    static constexpr std::memory_order publish_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order release_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order take_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order settle_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order close_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order sleep_fence = std::memory_order_seq_cst;
    static constexpr std::memory_order drain_fence = std::memory_order_seq_cst;
    // The drain check's heavy fence must happen after close's store: a store read before a
    // fence synchronizes with it only if it is a release (no model catches this one; see
    // docs/verification.md).
    static constexpr std::memory_order close = std::memory_order_release;
    // A tail read with `count` comes with the head the writer had seen before storing it, so
    // that ring_fault's bound tail - head <= capacity holds for any healthy ring.
    static constexpr std::memory_order count = std::memory_order_release;
    static constexpr std::memory_order counted = std::memory_order_acquire;
    // An eviction (discard_old: the writer moves head past the oldest item) comes with the
    // publishes before it, for ring_fault's reads of the slot at head and of tail. (Weakening
    // see_evictions is caught; evict is not: see docs/verification.md.)
    static constexpr std::memory_order evict = std::memory_order_release;
    static constexpr std::memory_order see_evictions = std::memory_order_acquire;
};

/// `spsc` with a chosen atomics backend, memory orders and spin count before sleeping.
template <class Atomics = std_atomics, class Orders = spsc_orders, unsigned SpinLimit = 1024>
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
    /// `WriterEvicts`: whether the ordering makes the writer evict (discard_old, always_last).
    /// Without evictions the reader takes an item with a plain store instead of a CAS.
    template <class T, storage_policy Storage, bool WriterEvicts = true>
    class core;
};

/// The lock-free single-reader single-writer sync policy.
using spsc = basic_spsc<>;

namespace spsc_detail {
inline constexpr std::size_t cache_line = 64;

// The per-item paths are always inlined (POLYCHAN_HOT_PATH) and the waiting path (await)
// never is: the same heap spsc round trip measured 164 ns in one benchmark binary and 235 ns
// in another when GCC's heuristics chose (bench_latency, with and without the attributes).

/// One step of a spin: the CPU's pause, or the backend's own (Relacy's yield, so that its
/// schedulers see a spin as waiting for another thread rather than as a livelock).
template <class Atomics>
inline void relax() noexcept {
    if constexpr (requires { Atomics::pause(); }) {
        Atomics::pause();
    } else {
        polychan::detail::cpu_pause();
    }
}

/// Whether the backend models waiting itself (Relacy): it brings its own wait word.
template <class Atomics>
inline constexpr bool models_waiting = requires {
    typename Atomics::wait_word;
};
/// Yields before a waiter sleeps in the kernel, after its spin.
inline constexpr unsigned yield_limit = 64;

/// The futex word to sleep on: a backend that models waiting (Relacy) brings its own,
/// otherwise the storage's (process-private on the heap, process-shared in shared memory).
template <class Atomics, class Storage>
struct wait_word_of {
    using type = typename Storage::wait_word;
};
template <class Atomics, class Storage>
requires models_waiting<Atomics>
struct wait_word_of<Atomics, Storage> {
    using type = typename Atomics::wait_word;
};
} // namespace spsc_detail

template <class Atomics, class Orders, unsigned SpinLimit>
template <class T, storage_policy Storage, bool WriterEvicts>
class basic_spsc<Atomics, Orders, SpinLimit>::core {
    static_assert(!Storage::unbounded, "polychan: spsc needs a bounded storage (heap or heap_fixed)");

    template <class X>
    using atomic = typename Atomics::template atomic<X>;
    using u64 = std::uint64_t;
    using wait_word = typename spsc_detail::wait_word_of<Atomics, Storage>::type;
    static constexpr auto scope =
        Storage::process_shared ? polychan::detail::fence_scope::system : polychan::detail::fence_scope::process;

    static constexpr u64 no_position = ~u64{0};
    // Not bool: in shared memory a peer may leave any byte there, and loading a bool that is
    // neither 0 nor 1 is undefined behaviour. Any value other than 0 means set.
    using flag = std::uint32_t;

  public:
    // The memory layout, public so that tools and tests can inspect a segment.
    static constexpr u64 drained_bit = 1; // in `head`, whose position is head >> 1
    // In a slot's `published` after close, without evictions (settle_after_close): which side
    // the item of that position went to. Positions never come near these bits.
    static constexpr u64 retracted_mark = u64{1} << 63; // the writer took it back
    static constexpr u64 taken_mark = u64{1} << 62;     // the reader keeps it
    struct slot {
        // position + 1 once the item of `position` is in: a reader that waits at the head
        // watches this word, in the item's own cache line, rather than `tail`, so a
        // hand-off moves one line, not two.
        atomic<u64> published{0};
        polychan::detail::payload_cell<T> item;
    };
    struct control {
        // The writer's line. The reader reads `tail` only for sizes: it finds items by their
        // slot's `published`, so the writer's stores here never wait for this line.
        alignas(spsc_detail::cache_line) atomic<u64> tail{0};
        atomic<u64> evicted{0};        // items the writer evicted (discard_old), for free_size
        atomic<flag> claimed{0};       // a write transaction is open (one at a time)
        u64 cached_frontier = 0;       // writer's copy of `frontier`
        u64 evicted_for = no_position; // the position whose slot the writer just emptied itself
        // The reader's line: the writer touches `head` only to evict (discard_old) or after close.
        alignas(spsc_detail::cache_line) atomic<u64> head{0};
        atomic<u64> released{0}; // items the reader finished with, for free_size
        u64 took_until = 0;      // just past the reader's last take
        u64 held = 0;            // read transactions open
        // What a writer that found the ring full polls: its own line, so that polling does
        // not take the reader's line away from the reader's next take.
        alignas(spsc_detail::cache_line) atomic<u64> frontier{0};
        // Written once (close) or around a sleep, read by every operation.
        alignas(spsc_detail::cache_line) atomic<flag> closed{0};
        alignas(spsc_detail::cache_line) wait_word reader_sleeps{0};
        alignas(spsc_detail::cache_line) wait_word writer_sleeps{0};
        alignas(spsc_detail::cache_line) atomic<u64> discarded{0};
    };

  private:
    using region_type = typename Storage::template region<slot, control>;

  public:
    /// The item type.
    using value_type = T;
    // A ticket is the slot's address alone, so that a claim (status and ticket) is 16 bytes
    // and comes back in two registers. A 24-byte one (address and position) came back through
    // memory, and GCC's SLP vectorizer copied it with a 16-byte load over a byte store and a
    // word store: a store-forwarding failure, which made each claim wait until every older
    // store (the slot lines, each missing in the other core) was written. Measured with
    // bench_ipc, in-process 41 -> 76 M items/s (the same as building with
    // -fno-tree-slp-vectorize). A read ticket is the slot's address: the claim has found the
    // slot already, payload() would find it again (a load of the mask and the slot array, a
    // compare and an AND), and a read slot is released without its position (callgrind,
    // write+read: 91 -> 83 instructions on the heap, 122 -> 112 in shared memory, with the
    // write ticket an address too). A write ticket is an address only in shared memory, whose
    // lookups reload the region's pointers. On the heap it stays the position: publish() then
    // takes it from the claim, not from memory after the item's stores, which cost
    // throughput_256B 10% on the far placement (10.1-10.2 against 11.2-11.6 M items/s, both
    // from `tail` and from a member of this core; same-hour A/B).
    struct position_ticket {
        u64 position = 0;
    };
    struct address_ticket {
        slot* s = nullptr;
    };
    /// A claimed write slot, from try_claim_write() until publish() or cancel().
    using write_ticket = std::conditional_t<Storage::process_shared, address_ticket, position_ticket>;
    /// A claimed read slot, from try_claim_read() until release().
    struct read_ticket {
        slot* s = nullptr;
    };
    static_assert(sizeof(claim<write_ticket>) <= 16 && sizeof(claim<read_ticket>) <= 16,
                  "polychan: a spsc claim must fit in two registers (see the tickets)");

    /// Builds the storage region from the channel's constructor arguments; a new region starts all free.
    template <class... Args>
    explicit core(Args&&... args)
        : mem_(std::forward<Args>(args)...), index_mask_{std::has_single_bit(mem_.capacity()) ? mem_.capacity() - 1
                                                                                              : no_mask} {}
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() {
        // Items still queued belong to the channel; held transactions are gone by now. In
        // shared memory they belong to the segment: another process may still read them.
        if constexpr (!Storage::process_shared) {
            u64 const end = ctl().tail.load(std::memory_order_acquire);
            for (u64 p = ctl().head.load(std::memory_order_acquire) >> 1; p < end; ++p) slot_at(p).item.destroy();
        }
    }

    // ---- writer ----------------------------------------------------------------------
    /// Takes a free slot without waiting: ok, full, or closed. The claim is marked (`claimed`)
    /// until publish() or cancel(), so that a second write transaction is refused.
    POLYCHAN_HOT_PATH claim<write_ticket> try_claim_write() { return claim_write(true); }
    /// As try_claim_write(), for one write() (claim.hpp), which publishes or cancels in the same
    /// call: nothing can look at the claim in between (the writer role is exclusive, and a
    /// writer that dies in between has nothing to undo), so it is not marked. The marks were
    /// four stores an item in shared memory (two on the heap), and the writer's stores wait in
    /// order behind its slot stores, which miss in the reader's cache: without them
    /// shared-memory throughput went 101 -> 148 M items/s with two threads, 88 -> 118 across
    /// processes, heap 119 -> 134 (bench_ipc, far placement, same-hour A/B).
    POLYCHAN_HOT_PATH claim<write_ticket> try_claim_write(one_op_t) { return claim_write(false); }
    /// As try_claim_read(), for one read() (claim.hpp), which releases in the same call. In
    /// shared memory, while no read transaction is held, the claim is not counted in `held`:
    /// release(r, one_op) then finds held == 0 and hands the slot back at once (see
    /// uncounted_one_op_reads).
    POLYCHAN_HOT_PATH claim<read_ticket> try_claim_read(one_op_t) {
        if constexpr (uncounted_one_op_reads) {
            // Two calls with constant arguments, not claim_read(held != 0): each inlines with
            // its own branch folded away (callgrind, shared memory: 103 against 105).
            if (ctl().held == 0) return claim_read(false);
        }
        return claim_read(true);
    }

    /// Waits until the reader frees a slot, closed, or `d`; false on timeout.
    bool wait_writable(deadline d, wake_on) {
        // Whatever the writer waits for (a free slot, or for discard_old an item it can
        // evict: the oldest slot is in the reader's hands), the reader moving the frontier
        // is what ends the wait.
        u64 const seen = ctl().cached_frontier;
        // Each look pulls the frontier's line away from the reader, whose next store (and the
        // locked take after it) then waits to get it back: a waiting writer looks once per
        // capacity/8 pauses (at most 128, ~2.4 us here), less often than the reader can
        // drain what the ring holds, so the reader never runs dry because of it.
        std::size_t const pauses_per_check = std::clamp<std::size_t>(capacity() / 8, 1, 128);
        return await(
            ctl().writer_sleeps, d,
            [&](std::memory_order mo)
                POLYCHAN_HOT_LAMBDA { return ctl().frontier.load(mo) != seen || ctl().closed.load(mo) != 0; },
            true, pauses_per_check);
    }

    /// Appends the slot's item for the reader: ok; closed (item destroyed) if close() won.
    POLYCHAN_HOT_PATH status publish(write_ticket w) {
        unmark_claim();
        return publish(w, one_op);
    }
    /// As publish(), for a claim made with one_op (not marked).
    POLYCHAN_HOT_PATH status publish(write_ticket w, one_op_t) {
        control& c = ctl();
        if constexpr (WriterEvicts) c.evicted_for = no_position;
        u64 const p = position_of(w);
        slot_of(w).published.store(p + 1, Orders::publish);
        c.tail.store(p + 1, Orders::count); // sizes and ring_fault: `published` carries the item
        Atomics::light_fence(Orders::publish_fence, scope);
        if (c.closed.load(std::memory_order_relaxed) != 0) [[unlikely]]
            return settle_after_close(w, p);
        wake(c.reader_sleeps);
        return status::ok;
    }

    /// Gives up an unpublished write slot: nothing was made visible, so it is simply reused.
    void cancel(write_ticket) { unmark_claim(); }
    /// As cancel(), for a claim made with one_op: there is no mark to take back.
    void cancel(write_ticket, one_op_t) {}

    // ---- reader ----------------------------------------------------------------------
    /// Takes the oldest ready slot without waiting: ok, empty, or closed once closed and drained.
    POLYCHAN_HOT_PATH claim<read_ticket> try_claim_read() { return claim_read(true); }

    /// Waits until an item may be ready, closed, or `d`; false on timeout.
    bool wait_readable(deadline d) {
        // The item of `first` may never come: in a full ring (discard_old) the writer evicts
        // it, moves head past it and writes a later position into its slot. So head is
        // re-read too: a moved head ends the wait, and the next take starts from there.
        u64 const first = ctl().head.load(std::memory_order_relaxed) >> 1;
        // The reader's poll is a call of its own, on purpose. Inlined into the spin, it made
        // the round trip on the slow placement (cache line ~430 ns) 10-20% slower: heap
        // in-process 2.2-2.6 M round trips/s against 2.6-2.8 as a call, cross-process 1.8
        // against 2.4 (bench_latency, bench_ipc; same-hour A/B). Measured, not explained: how
        // often the reader looks, against when the writer's line arrives, is what changed.
        return await(
            ctl().reader_sleeps, d,
            [&](std::memory_order mo) POLYCHAN_POLL_LAMBDA {
                u64 const p = ctl().head.load(std::memory_order_relaxed) >> 1;
                return p != first || polled_slot_at(p).published.load(mo) == p + 1 || ctl().closed.load(mo) != 0;
            },
            false);
    }

    /// Returns a read slot (its item already destroyed) to the writer once none is held.
    POLYCHAN_HOT_PATH void release(read_ticket) {
        control& c = ctl();
        count_released(c, 1);
        if (--c.held > 0) return; // an older slot may still be held: the frontier waits for it
        if constexpr (Storage::process_shared) {
            if (!frontier_may_move_to(c.took_until)) return;
        }
        hand_back(c, c.took_until);
    }
    /// As release(), for a claim made with one_op. Uncounted (held == 0, try_claim_read(one_op)),
    /// it was the only slot held, and the frontier moves just past it without release()'s
    /// shared-memory check: took_until was set from head by this very claim.
    POLYCHAN_HOT_PATH void release(read_ticket r, one_op_t) {
        if constexpr (uncounted_one_op_reads) {
            control& c = ctl();
            if (c.held == 0) {
                count_released(c, 1);
                hand_back(c, c.took_until);
                return;
            }
        }
        release(r);
    }

    /// (shared memory) This process takes over the writer's (`writer`) or the reader's side
    /// from a process that died: its open write claim is dropped, or the slots its read
    /// transactions held go back to the writer (their items count as read).
    void take_over_side(bool writer) {
        control& c = ctl();
        if (writer) {
            unmark_claim();
            c.evicted_for = no_position;
            return;
        }
        // What the dead reader held: its counted claims, or (uncounted_one_op_reads) the one
        // read() it was in, which took past the frontier without counting itself.
        u64 const held = c.held != 0 ? c.held : c.took_until > c.frontier.load(std::memory_order_relaxed) ? 1 : 0;
        if (held == 0) return;
        count_released(c, held);
        c.held = 0;
        if (!frontier_may_move_to(c.took_until)) return;
        hand_back(c, c.took_until);
    }

    // ---- either side -----------------------------------------------------------------
    /// Destroys the oldest ready item and frees its slot; false if none can be. Not counted here.
    bool try_evict_oldest(evictor by) {
        if (by == evictor::reader) {
            auto const c = try_claim_read();
            if (!c.ok()) return false;
            c.ticket.s->item.destroy();
            release(c.ticket);
            return true;
        }
        if constexpr (!WriterEvicts) {
            // The reader takes items with plain stores here: an eviction would race them.
            throw std::logic_error("polychan: spsc core built for an ordering that never evicts (evicts_for_writer "
                                   "= false) was asked to evict for the writer");
        }
        // The writer found the ring full: it needs the slot of position p - capacity, which
        // is the oldest item's only if the reader has not taken it (then it is held or being
        // read, and the writer waits for the frontier instead).
        control& c = ctl();
        u64 const p = c.tail.load(std::memory_order_relaxed);
        if (p < capacity()) return false;
        u64 h = (p - capacity()) << 1;
        if (!c.head.compare_exchange_strong(h, h + 2, Orders::evict, std::memory_order_relaxed)) return false;
        slot_at(p - capacity()).item.destroy();
        c.evicted.store(c.evicted.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        c.evicted_for = p;
        return true;
    }

    /// Items ever published (the writer's `tail`). A writer restarted after a crash resumes
    /// its sequence here. One that died between making item p visible and counting it
    /// resumes at p and writes p again into the same slot, with the same position: a reader
    /// that took p already waits at another position and never sees it twice.
    std::uint64_t published() const { return ctl().tail.load(Orders::counted); }

    // A statistic only: nothing is ordered by it.
    /// Adds one to the discard counter (the ordering calls it for every item it drops).
    void count_discarded() { ctl().discarded.fetch_add(1, std::memory_order_relaxed); }
    /// Items dropped by the ordering so far.
    std::uint64_t discarded() const { return ctl().discarded.load(std::memory_order_relaxed); }

    /// The item cell of a claimed slot.
    polychan::detail::payload_cell<T>& payload(write_ticket w) noexcept { return slot_of(w).item; }
    polychan::detail::payload_cell<T>& payload(read_ticket r) noexcept { return r.s->item; }

    /// Marks the channel closed and wakes every waiter.
    void close() {
        ctl().closed.store(1, Orders::close);
        Atomics::light_fence(Orders::close_fence, scope);
        wake(ctl().reader_sleeps);
        wake(ctl().writer_sleeps);
    }
    /// Whether close() was called.
    bool is_closed() const { return ctl().closed.load(std::memory_order_relaxed) != 0; }

    /// What this process found wrong in the shared state ("" if nothing; always "" on the heap).
    std::string corruption() const {
        if constexpr (Storage::process_shared) {
            return mem_.corruption();
        } else {
            return {};
        }
    }

    /// The bounds the writer (`as_writer`) or the reader can check on the counters without a
    /// race making a healthy ring look wrong: nullptr if they hold, else which one failed.
    /// Each holds for values read in this order, whatever the other side does meanwhile (the
    /// Relacy models assert it after every operation):
    ///   frontier <= head        frontier is stored (finish) after the take that passed it
    ///   tail - head <= capacity tail is stored (count) after the writer saw a head that far
    ///   head <= tail            writer: its own tail, and head never passes a publish;
    ///                           reader: head <= tail + 1, a tail read after head (the
    ///                           reader's own take saw publish p - 1, an eviction (evict)
    ///                           came after the publishes before it)
    ///   held, took_until        reader only: its own records, within capacity / frontier..head
    ///   slot(head).published    reader only: its own head's slot holds that position, the
    ///                           one a lap before, or (evicted since, head moved) a later one
    /// Public so that verify/ can assert it at any point of a model.
    const char* ring_fault(bool as_writer) const {
        control const& c = ctl();
        u64 const f = c.frontier.load(Orders::reuse);
        u64 const t = c.tail.load(Orders::counted);
        u64 const h = c.head.load(Orders::see_evictions);
        if (h & drained_bit) return nullptr; // finished: the counters are never used again
        u64 const p = h >> 1;
        if (f > p) return "frontier past head";
        if (t > p && t - p > capacity()) return "tail more than the capacity ahead of head";
        if (as_writer) return p > t ? "head past tail" : nullptr;
        if (p > c.tail.load(Orders::counted) + 1) return "head past tail";
        if (c.held > capacity()) return "reader holds more slots than there are";
        if (c.took_until < f || c.took_until > p) return "reader's last take outside frontier .. head";
        // (After close, a slot may carry which side its item went to: settle_after_close.)
        u64 const v = slot_at(p).published.load(Orders::observe) & ~(retracted_mark | taken_mark);
        bool const expected = v == p + 1 || (p >= capacity() ? v == p + 1 - capacity() : v == 0);
        if (!expected && c.head.load(std::memory_order_relaxed) == h) return "the head's slot holds another position";
        return nullptr;
    }

    // Sizes are snapshots of counters the two sides move independently: exact when the
    // channel is quiescent, clamped to [0, capacity] while it is not.
    /// Items published and not yet claimed.
    std::size_t ready_size() const {
        return clamp(ctl().tail.load(std::memory_order_relaxed), ctl().head.load(std::memory_order_relaxed) >> 1);
    }
    /// Slots neither holding an item nor claimed.
    std::size_t free_size() const {
        u64 const gone = ctl().released.load(std::memory_order_relaxed) + ctl().evicted.load(std::memory_order_relaxed);
        std::size_t const in_use = clamp(ctl().tail.load(std::memory_order_relaxed), gone) +
                                   (ctl().claimed.load(std::memory_order_relaxed) != 0 ? 1 : 0);
        return capacity() - std::min(in_use, capacity());
    }
    /// The number of slots.
    std::size_t capacity() const { return mem_.capacity(); }

  private:
    control& ctl() const noexcept { return const_cast<region_type&>(mem_).control(); }
    /// The slot of position p, for the per-item paths. Forced inline, as is the ipc ends'
    /// write() and read() above it: in shared memory (whose region checks the index) it had
    /// stayed a call, twice per item on each side, and shared-memory throughput was 45-46 M
    /// items/s against 60-63 with neither call (bench_ipc, far placement, same-hour A/B; the
    /// ipc ends alone or slot_at alone changed nothing). Likely: each call stores a return
    /// address, queued behind the slot stores that wait for the reader's line.
    POLYCHAN_HOT_PATH slot& slot_at(u64 p) const noexcept { return polled_slot_at(p); }
    /// slot_at, for the reader's poll (wait_readable). When slot_at was a call, the poll's
    /// call made the cross-process round trip 1.5x the in-process one on the slow placement
    /// (525 against 340 ns; 355-395 with this) and 1.14x on the fast one (1.07x).
    POLYCHAN_HOT_PATH slot& polled_slot_at(u64 p) const noexcept {
        // A 64-bit division takes ~15 cycles, and a hand-off needs three: a capacity that is a
        // power of two takes a mask instead.
        std::size_t const i = index_mask_ != no_mask ? p & index_mask_ : p % mem_.capacity();
        // True by construction (the mask is capacity - 1): lets the compiler drop the segment
        // region's bounds check, its backstop for indices read from shared memory, from the
        // four slot lookups of an item (callgrind, write+read in shared memory: 187 -> 177
        // instructions). Not on the heap, whose region has no check (and GCC then inlined less).
        if constexpr (Storage::process_shared) {
            if (i >= mem_.capacity()) __builtin_unreachable();
        }
        return const_cast<region_type&>(mem_).slot(i);
    }
    std::size_t clamp(u64 more, u64 less) const noexcept {
        return more > less ? static_cast<std::size_t>(std::min<u64>(more - less, capacity())) : 0;
    }

    // The paths that report a fault build strings: cold and out of line, so that the per-item
    // paths they hang off stay small.

    /// A write claim is open already: a second transaction of this writer (a logic error), or
    /// in shared memory one this process did not make (corrupt).
    [[gnu::cold, gnu::noinline]] claim<write_ticket> claim_while_claimed() {
        if constexpr (Storage::process_shared) {
            if (!own_claim_.open) { // set in the segment, not by this process
                mem_.found_corrupt("writer: a write claim is open that this process did not make");
                return {status::corrupt};
            }
        }
        throw std::logic_error("polychan: spsc allows one write transaction at a time");
    }

    /// A read claim, counted in `held` (a read transaction, or one read() beside them) or not.
    POLYCHAN_HOT_PATH claim<read_ticket> claim_read(bool counted) {
        control& c = ctl();
        if (corrupt()) return {status::corrupt};
        for (;;) {
            u64 h = c.head.load(std::memory_order_relaxed);
            if (h & drained_bit) return {status::closed};
            u64 const p = h >> 1;
            slot& s = slot_at(p);
            if (!holds(s, p)) {
                if (c.closed.load(std::memory_order_relaxed) == 0) return {status::empty};
                if (drained_at(h)) return {status::closed};
                continue;
            }
            if constexpr (WriterEvicts) {
                // The writer may move head to evict p, or to settle a publish after close.
                if (!c.head.compare_exchange_strong(h, h + 2, Orders::take, std::memory_order_relaxed)) continue;
            } else {
                // Without evictions head is the reader's alone, and a take is a store. Only a
                // publish that saw close may still take its item back (settle_after_close):
                // after close, the slot's word decides.
                c.head.store(h + 2, Orders::take);
                Atomics::light_fence(Orders::take_fence, scope);
                if (c.closed.load(std::memory_order_relaxed) != 0 && !kept_after_close(p)) [[unlikely]] {
                    c.head.store(h | drained_bit, Orders::take);
                    return {status::closed};
                }
            }
            if (counted) ++c.held;
            c.took_until = p + 1;
            return {status::ok, {&s}};
        }
    }

    /// The write claim of try_claim_write(), marked open (`claimed`, own_claim_) only if asked.
    POLYCHAN_HOT_PATH claim<write_ticket> claim_write(bool mark_claimed) {
        control& c = ctl();
        if (c.claimed.load(std::memory_order_relaxed) != 0) return claim_while_claimed();
        if (corrupt()) return {status::corrupt};
        if (c.closed.load(std::memory_order_relaxed) != 0) return {status::closed};
        u64 const p = c.tail.load(std::memory_order_relaxed); // the writer's own index
        if (p - c.cached_frontier >= capacity() && (!WriterEvicts || c.evicted_for != p)) {
            c.cached_frontier = c.frontier.load(Orders::reuse);
            if (p - c.cached_frontier >= capacity()) return {status::full};
        }
        if (mark_claimed) {
            c.claimed.store(1, std::memory_order_relaxed);
            set_own_claim(true);
        }
        if constexpr (Storage::process_shared) {
            return {status::ok, {&slot_at(p)}};
        } else {
            return {status::ok, {p}};
        }
    }
    /// The slot and the position of a write claim (see the tickets). An address ticket's
    /// position is the writer's own `tail`: tail moves only in publish (and back in take_back),
    /// and the writer has one claim open at a time.
    POLYCHAN_HOT_PATH slot& slot_of(write_ticket w) const noexcept {
        if constexpr (Storage::process_shared) {
            return *w.s;
        } else {
            return slot_at(w.position);
        }
    }
    POLYCHAN_HOT_PATH u64 position_of(write_ticket w) const noexcept {
        if constexpr (Storage::process_shared) {
            return ctl().tail.load(std::memory_order_relaxed);
        } else {
            return w.position;
        }
    }
    void set_own_claim(bool open) noexcept {
        if constexpr (Storage::process_shared) own_claim_.open = open;
    }
    void unmark_claim() noexcept {
        ctl().claimed.store(0, std::memory_order_relaxed);
        set_own_claim(false);
    }

    /// Whether this process found the shared state corrupt (never on the heap).
    bool corrupt() const noexcept {
        if constexpr (Storage::process_shared) {
            return mem_.corrupt();
        } else {
            return false;
        }
    }
    /// Shared memory: whether the header and the ring (as seen by this side) are sound;
    /// the first fault found is recorded.
    bool intact(bool as_writer) const {
        if (!mem_.header_intact()) return false;
        char const* const fault = ring_fault(as_writer);
        if (fault == nullptr) return true;
        ring_unsound(as_writer, fault);
        return false;
    }
    [[gnu::cold, gnu::noinline]] void ring_unsound(bool as_writer, char const* fault) const {
        control const& c = ctl();
        auto const at = [](const auto& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
        u64 const head = c.head.load(std::memory_order_relaxed) >> 1;
        mem_.found_corrupt(std::string{as_writer ? "writer" : "reader"} + ": " + fault + " (frontier " +
                           at(c.frontier) + ", head " + std::to_string(head) + ", tail " + at(c.tail) + ", held " +
                           std::to_string(c.held) + ", took until " + std::to_string(c.took_until) +
                           ", published at head " + at(slot_at(head).published) + ", capacity " +
                           std::to_string(capacity()) + ")");
    }
    /// Shared memory: the reader's own record of its takes must lie between the frontier and
    /// head before it hands slots back, or a peer made it tell the writer to overwrite items.
    bool frontier_may_move_to(u64 until) const {
        if constexpr (Storage::process_shared) {
            u64 const f = ctl().frontier.load(std::memory_order_relaxed); // the reader's own store
            u64 const p = ctl().head.load(std::memory_order_relaxed) >> 1;
            if (until < f || until > p) [[unlikely]] {
                take_outside_frontier(until, f, p);
                return false;
            }
        }
        return true;
    }
    [[gnu::cold, gnu::noinline]] void take_outside_frontier(u64 until, u64 f, u64 p) const {
        mem_.found_corrupt("reader: took until " + std::to_string(until) + ", outside frontier " + std::to_string(f) +
                           " .. head " + std::to_string(p));
    }

    /// The reader found the channel closed and nothing at head `h`: whether it is drained
    /// (head then says so for good); false if an item has come after all. A publish that did
    /// not see `closed` is visible after drain_fence; one that did settles with the reader
    /// (settle_after_close). Out of line, as settle_after_close is: inlined, its fence's
    /// system call made every read claim save six registers (cost_8B: 141 -> 159 M items/s).
    [[gnu::cold, gnu::noinline]] bool drained_at(u64 h) {
        Atomics::heavy_fence(Orders::drain_fence, scope);
        if (in_slot(h >> 1)) return false;
        if constexpr (WriterEvicts) {
            return ctl().head.compare_exchange_strong(h, h | drained_bit, Orders::take, std::memory_order_relaxed);
        } else {
            ctl().head.store(h | drained_bit, Orders::take);
            return true;
        }
    }

    /// Whether the item of position p is in its slot (the reader's look before `tail`).
    POLYCHAN_HOT_PATH bool in_slot(u64 p) const { return holds(slot_at(p), p); }
    /// Whether slot `s` holds the item of position p.
    POLYCHAN_HOT_PATH static bool holds(slot const& s, u64 p) { return s.published.load(Orders::observe) == p + 1; }

    /// A publish that saw `closed` after making item p visible: delivered if the reader has
    /// taken p or has yet to reach it, else taken back, so that a write that returns ok is
    /// read. How writer and reader agree, by who else moves head:
    ///
    ///   WriterEvicts: both sides CAS head        no evictions: head is the reader's; the slot's
    ///                                            `published` word decides, after close only
    ///   writer                reader             writer                  reader
    ///   head at p: CAS        closed, nothing    settle_fence            head = p + 1 (take)
    ///   head p -> p|drained   at p: drain_fence; head at p: CAS slot p   take_fence
    ///   -> take p back        look again; CAS    p+1 -> p+1|retracted    closed? CAS slot p
    ///                         head p -> p|drained -> take p back         p+1 -> p+1|taken;
    ///   the first CAS wins; the loser re-reads   head past p: delivered  lost: head = p|drained
    ///
    /// Without evictions, the fence pair makes a take that the writer's look at head missed
    /// see `closed`, and so come to the slot's CAS; a reader that has not reached p sees the
    /// item when it does (its drain check's fence pairs with settle_fence too).
    /// (`p` is w's position.)
    [[gnu::cold, gnu::noinline]] status settle_after_close(write_ticket w, u64 p) {
        control& c = ctl();
        if constexpr (WriterEvicts) {
            for (;;) {
                u64 h = c.head.load(std::memory_order_relaxed);
                if ((h >> 1) != p) break;
                if ((h & drained_bit) ||
                    c.head.compare_exchange_strong(h, h | drained_bit, Orders::take, std::memory_order_relaxed))
                    return take_back(w, p);
            }
        } else {
            Atomics::heavy_fence(Orders::settle_fence, scope);
            u64 published = p + 1;
            if ((c.head.load(std::memory_order_relaxed) >> 1) == p &&
                slot_of(w).published.compare_exchange_strong(published, published | retracted_mark, Orders::take,
                                                             std::memory_order_relaxed))
                return take_back(w, p);
        }
        wake(c.reader_sleeps);
        return status::ok;
    }
    /// (no evictions) The reader took p and then saw `closed`: whether p is still its to read,
    /// rather than taken back by a publish that saw close (settle_after_close).
    [[gnu::cold, gnu::noinline]] bool kept_after_close(u64 p) {
        u64 published = p + 1;
        return slot_at(p).published.compare_exchange_strong(published, published | taken_mark, Orders::take,
                                                            std::memory_order_relaxed);
    }
    /// The item of w is never read: the reader is drained at w, or (without evictions) drains
    /// there once it finds the slot taken back.
    status take_back(write_ticket w, u64 p) {
        control& c = ctl();
        // Uncounts w, so that sizes say empty; the reader's head stays at most one past it.
        c.tail.store(p, std::memory_order_relaxed);
        slot_of(w).item.destroy();
        return status::closed;
    }

    /// Counts `n` read slots as finished with, for free_size (the reader's own counter, a statistic).
    POLYCHAN_HOT_PATH static void count_released(control& c, u64 n) {
        c.released.store(c.released.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    /// Gives the writer the slots of positions before `until` (the reader holds none of them).
    POLYCHAN_HOT_PATH void hand_back(control& c, u64 until) {
        c.frontier.store(until, Orders::finish);
        Atomics::light_fence(Orders::release_fence, scope);
        wake(c.writer_sleeps);
    }

    /// Wakes the other side if it announced a sleep (called after a light fence). The common case is one load.
    POLYCHAN_HOT_PATH void wake(wait_word& w) {
        if (w.load(std::memory_order_relaxed) != 0 && w.exchange(0, std::memory_order_relaxed) != 0) w.notify_one();
    }

    /// Spins, then sleeps on `w` until `ready(order)` holds or the deadline passes.
    template <class Ready>
    [[gnu::noinline]] bool await(wait_word& w, deadline d, Ready ready_now, bool as_writer,
                                 std::size_t pauses_per_check = 1) {
        // Called after a failed attempt, and looks again at once: a pause first (~20 ns on
        // this EPYC) came on top of every hand-off a waiting side sees, twice per round trip,
        // where the cache line itself takes ~30 ns on the near placement.
        if (ready_now(std::memory_order_relaxed)) return true;
        if (d.is_poll()) return false;
        // A countdown, not i % pauses_per_check: a 64-bit division per pause delayed a
        // spinning reader's look at its slot by tens of cycles after each pause.
        std::size_t until_check = 1;
        for (unsigned i = 0; i < SpinLimit; ++i) {
            spsc_detail::relax<Atomics>();
            if (--until_check != 0) continue;
            until_check = pauses_per_check;
            if (ready_now(std::memory_order_relaxed)) return true;
        }
        // Then give the CPU away a few times before sleeping: if the other side shares this
        // CPU, a spin only delays it. (A backend that models waiting, Relacy, has no CPU to
        // give: the phase only re-checks, as the spin does.)
        if constexpr (!spsc_detail::models_waiting<Atomics>) {
            for (unsigned i = 0; i < spsc_detail::yield_limit; ++i) {
                std::this_thread::yield();
                if (ready_now(std::memory_order_relaxed)) return true;
            }
        }
        for (;;) {
            // In shared memory, a sleeper wakes now and then to check the segment: a peer that
            // corrupts it need not wake anybody.
            if constexpr (Storage::process_shared) {
                if (!intact(as_writer)) break; // woken: the next attempt reports `corrupt`
            }
            // A sleeper woken again and again (its condition still false) must not overrun its
            // deadline. (Relacy's waits time out when the model decides, not by the clock.)
            if constexpr (!spsc_detail::models_waiting<Atomics>) {
                if (d.expired()) {
                    w.store(0, std::memory_order_relaxed);
                    return ready_now(std::memory_order_relaxed);
                }
            }
            w.store(1, std::memory_order_relaxed);
            Atomics::heavy_fence(Orders::sleep_fence, scope);
            if (ready_now(std::memory_order_relaxed)) break;
            if constexpr (Storage::process_shared) {
                auto const check = deadline::clock::now() + storage::detail::integrity_check_period;
                bool const last = !d.is_forever() && d.when() <= check;
                if (!w.wait_until(1, last ? d.when() : check) && last) {
                    w.store(0, std::memory_order_relaxed);
                    return ready_now(std::memory_order_relaxed);
                }
            } else if (d.is_forever()) {
                w.wait(1);
            } else if (!w.wait_until(1, d.when())) {
                w.store(0, std::memory_order_relaxed);
                return ready_now(std::memory_order_relaxed);
            }
        }
        w.store(0, std::memory_order_relaxed);
        return true;
    }

    /// Whether one read() leaves its claim out of `held` while no read transaction is held.
    /// Only in shared memory, where it spares release()'s check of the reader's records against
    /// frontier and head (callgrind, write+read: 112 -> 103 instructions); on the heap the two
    /// looks at `held` cost what the count saved (83 -> 85). Only for trivially copyable items,
    /// whose move out of the slot runs no user code: a move constructor could begin a read
    /// transaction in between, and that transaction's release would hand this slot back too.
    static constexpr bool uncounted_one_op_reads = Storage::process_shared && std::is_trivially_copyable_v<T>;

    mutable region_type mem_;
    static constexpr std::size_t no_mask = ~std::size_t{0};
    std::size_t const index_mask_; // capacity - 1 if the capacity is a power of two, else no_mask
    // Shared memory: whether this process holds the write claim. `claimed` lives in the
    // segment, where a peer may set it: only this tells a second transaction from corruption.
    // Its own line: the writer stores it twice per write transaction (once per item, before
    // write() stopped marking its claims), and the reader of the same process (both ends of
    // one channel in one process) reads the core's other members every item; sharing their
    // line made per-item marking 7x slower (4.5 against 32 M items/s).
    struct alignas(spsc_detail::cache_line) own_claim {
        bool open = false;
    };
    struct no_own_claim {};
    [[no_unique_address]] std::conditional_t<Storage::process_shared, own_claim, no_own_claim> own_claim_;
};

} // namespace polychan::sync
