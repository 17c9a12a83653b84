// polychan — sync `semaphore`: two counting semaphores, free slots and ready items, guard the
// slots; any number of readers and writers. The storage policy hands out the semaphore type
// (std::counting_semaphore on the heap, a count on a shared futex word in shared memory), so
// this code is written once for both.
//
// A slot index is always in exactly one place, as in the mutex policy, but the two lists are
// lock-free rings of indices (detail/semaphore_index_ring.hpp), each counted by permits
// (detail/semaphore_permits.hpp: an atomic count that sleeps on the storage's semaphore):
//
//        free ring --(free permit)--> writer's transaction --publish--> ready ring
//            ^                                                              |
//            |                                                      (ready permit)
//            +---- release ---- reader's transaction <----------------------+
//            +---- evict: the item is destroyed, the slot freed <-----------+
//
//   claim write: take a free permit, pop the free ring       publish: push the ready ring, give a ready permit
//   claim read : take a ready permit, pop the ready ring     release: push the free ring, give a free permit
//   evict      : claim a read exactly as a reader does, destroy the item, release
//
// Writers may commit out of order: the ready ring is ordered by publish, and a reader that
// holds a permit for a slot whose push is still being stored waits for that store (a few
// instructions); it never sees a claimed-but-unpublished slot, because claimed slots are in
// no ring. For the same reason an evicting writer can never overwrite or destroy a slot a
// reader holds: it must pop it from the ready ring first, and a held slot is not there.
//
// close(): every permit word gets a closed flag in the same RMW that counts its sleepers, and
// close() posts once for each of them (a semaphore has no broadcast). Readers then drain the
// ready ring without permits until it is empty and the gate says no publish is under way.
//
// discard_old / always_last writers that find every slot held by a transaction wait for
// either a free slot or a ready item: they sleep on a third semaphore, the doorbell, which
// every give() rings while someone is enlisted on it.
//
// In shared memory another process may write anything into the control block or the slots
// (storage/detail/integrity.hpp). Every index popped from a ring is checked against this
// process's capacity before it is used; a wait re-checks the segment (intact(): the header,
// and the invariants below) on entry and every integrity_check_period, and wakes when the
// gate is closed even if nobody posts; the rings give up a spin on a state no healthy peer
// leaves, or leaves for stall_limit (semaphore_index_ring.hpp); and the first fault found is
// kept: from then on every claim of this process returns status::corrupt, and publish,
// release and cancel touch the segment no more. What a healthy channel keeps true:
//   free / ready permits   -max_sleepers <= count <= capacity   (each permit stands for a slot)
//   doorbell permits       -max_sleepers <= count <= max_sleepers
//   banked permits         0 <= banked <= capacity
//   gate                   publishers <= capacity (each holds a claimed slot)
//   a closed permit word   the gate is closed too (close() sets the gate first)
//   each index ring        semaphore_index_ring::fault()
//   permits and their ring count <= tail - head (ready ring: while not closed)
//   both rings together    (free tail - head) + (ready tail - head) <= capacity
// On the heap none of this exists: every check is `if constexpr (Storage::process_shared)`.
#pragma once

#include <polychan/atomics.hpp>
#include <polychan/claim.hpp>
#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/cpu_pause.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/ipc/error.hpp>
#include <polychan/storage/detail/integrity.hpp>
#include <polychan/storage/detail/shared_state.hpp>
#include <polychan/sync/detail/semaphore_index_ring.hpp>
#include <polychan/sync/detail/semaphore_permits.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace polychan::sync {

/// Every memory order of the semaphore policy, named by intent. verify/semaphore_* weakens
/// each in turn and shows that Relacy then reports a failure.
struct semaphore_orders {
    /// A pushed index, and the item a writer built in that slot before publishing, are
    /// visible to whoever pops it.
    static constexpr std::memory_order fill = std::memory_order_release;
    /// Pairs with `fill`: the popper sees the index and the item of the cell it pops.
    static constexpr std::memory_order observe = std::memory_order_acquire;
    /// A publisher leaves the gate after its push: a reader that finds the gate closed and
    /// empty of publishers sees every push (so "closed" never hides an item).
    static constexpr std::memory_order leave = std::memory_order_release;
    /// Pairs with `leave`.
    static constexpr std::memory_order drained = std::memory_order_acquire;
    /// seq_cst: a give() is ordered before its look at the doorbell's sleepers, against an
    /// evicting writer that enlists on the doorbell and then re-reads the permits (Dekker).
    static constexpr std::memory_order give = std::memory_order_seq_cst;
    /// seq_cst: the other half of that Dekker pair: enlisting before re-reading the permits.
    static constexpr std::memory_order enlist = std::memory_order_seq_cst;
    /// seq_cst: the doorbell waiter's re-read of the permits, and the giver's read of the
    /// doorbell's sleepers (both loads of the Dekker pair).
    static constexpr std::memory_order recheck = std::memory_order_seq_cst;
};

/// The semaphore policy for any atomics backend and any orders (verify/ swaps both).
template <class Atomics = std_atomics, class Orders = semaphore_orders>
struct basic_semaphore {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "semaphore";
    /// Whether the core works with an unbounded storage (heap_unbounded).
    static constexpr bool supports_unbounded = false;
    /// Whether at most one thread (or process) may read at a time.
    static constexpr bool single_reader = false;
    /// Whether at most one thread (or process) may write at a time.
    static constexpr bool single_writer = false;

    /// The slot protocol (sync_core, concepts.hpp) for items T in Storage's memory.
    template <class T, storage_policy Storage>
    class core;
};

/// The semaphore sync policy: std atomics, production memory orders.
using semaphore = basic_semaphore<>;

template <class Atomics, class Orders>
template <class T, storage_policy Storage>
class basic_semaphore<Atomics, Orders>::core {
    static_assert(!Storage::unbounded, "polychan: the semaphore sync policy needs a bounded storage");

    using ring = detail::semaphore_index_ring<Atomics, Orders>;
    // The semaphores only count sleepers (the permits are in atomic words), so INT_MAX,
    // which POSIX semaphores also allow, is plenty.
    using sleep_semaphore = typename Storage::template counting_semaphore<std::numeric_limits<std::int32_t>::max()>;
    // In shared memory the permit words are untrusted (bounded waits, bounded posts).
    using permits = detail::semaphore_permits<Atomics, Orders, sleep_semaphore, Storage::process_shared>;
    template <class X>
    using atomic = typename Atomics::template atomic<X>;

    // The gate: bit 0 is the closed flag; the rest counts publishes under way. One word, so
    // that a publisher's entry and close() are ordered by the word itself.
    static constexpr std::uint64_t closed_bit = 1;
    static constexpr std::uint64_t one_publisher = 2;

  public:
    // The layout of the channel's memory: public so that tools and tests can inspect a segment.
    /// One slot.
    struct slot {
        typename ring::cell free_cell;  // the free ring's cell at this position (not this slot's state)
        typename ring::cell ready_cell; // the ready ring's cell at this position
        polychan::detail::payload_cell<T> item;
    };

    /// The control block. (A permit word is the first member of its `permits`: count * 2 + closed.)
    struct control {
        permits free;                        // free slots (their indices are in the free ring)
        permits ready;                       // ready items (their indices are in the ready ring)
        permits doorbell;                    // wake-ups for evicting writers that found every slot in a transaction
        atomic<std::int64_t> banked_free{0}; // permits taken by a woken waiter for its next claim
        atomic<std::int64_t> banked_ready{0};
        typename ring::ends free_ends;
        typename ring::ends ready_ends;
        atomic<std::uint64_t> gate{0};
        atomic<std::uint64_t> discarded{0};
        // Changed by every give() and by close(), each with a plain store: what a waiter watches
        // while it spins (spin_for_permit), each on its own line. Watching the permit word and
        // the gate took their lines away from the givers' next read-modify-write at every
        // pause. Same-hour A/B, far placement (cache line ~430 ns) / near (~65 ns): 1-to-1
        // 8-byte throughput 0.9-1.0 -> 1.8-2.0 / 3.7-4.0 -> 4.2-4.7 M items/s, round trip
        // 1.9 -> 1.5 / 0.57 -> 0.45 us, mpmc_4x4 1.1 -> 1.8 M items/s, tx_64KiB 40 -> 51 GB/s.
        alignas(64) atomic<std::uint32_t> free_given{0};
        alignas(64) atomic<std::uint32_t> ready_given{0};
    };

  private:
    using region_type = typename Storage::template region<slot, control>;

  public:
    /// The item type.
    using value_type = T;
    // The slot's index alone: a claim then fits in two registers (see spsc.hpp's tickets).
    /// A claimed write slot, from try_claim_write() until publish() or cancel().
    struct write_ticket {
        std::uint32_t index = ring::none;
    };
    /// A claimed read slot, from try_claim_read() until release().
    struct read_ticket {
        std::uint32_t index = ring::none;
    };

    /// Builds the storage region from the channel's constructor arguments; a new region starts all free.
    template <class... Args>
    explicit core(Args&&... args) : mem_(std::forward<Args>(args)...) {
        if (capacity() >= ring::none)
            throw std::invalid_argument("polychan: semaphore capacity exceeds 2^32 - 2 slots");
        // Shared memory that another process created is already initialised and in use.
        storage::initialise_shared_state(mem_, [&] {
            // (The header says "initialising" until this is done: the rings check cells only.)
            for (std::uint32_t i = 0; i < capacity(); ++i)
                ring::push(ctl().free_ends, capacity(), free_cell(), i, watch(free_ring, true, false));
            ctl().free.give(static_cast<std::int64_t>(capacity()));
        });
    }
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() {
        // Items still queued belong to the channel (held transactions are gone by now). In
        // shared memory they belong to the segment, which outlives this process's view.
        if constexpr (!Storage::process_shared) {
            for (std::uint32_t i; (i = pop_ready([] { return true; })) != ring::none;) mem_.slot(i).item.destroy();
        }
    }

    /// Takes a free slot without waiting: ok, full, closed, or corrupt (a bad index in shared memory).
    claim<write_ticket> try_claim_write() {
        if constexpr (Storage::process_shared) {
            if (known_corrupt()) return {status::corrupt};
        }
        if (is_closed()) return {status::closed};
        if (!take(ctl().free, ctl().banked_free)) return {status::full};
        // A permit taken here is real: the wake-ups close() hands out go to sleepers, who
        // never bank them. So a free index is in the ring or about to be.
        std::uint32_t const i = ring::pop(
            ctl().free_ends, capacity(), free_cell(), [] { return false; }, watch(free_ring, true));
        if (i >= capacity()) return {bad_index(ctl().free, true, i)};
        return {status::ok, {i}};
    }

    /// Waits until a slot may be free (or, for evicting writers, an item ready), closed, or `d`;
    /// false on timeout.
    bool wait_writable(deadline d, wake_on why) {
        if (why == wake_on::free_slot) return wait_for_permit(ctl().free, ctl().banked_free, ctl().free_given, d);
        // Wait for a free slot or an evictable item, whichever comes first.
        auto const arrived = [&] {
            return ctl().free.available(Orders::recheck) > 0 || ctl().ready.available(Orders::recheck) > 0;
        };
        return in_slices(d, [&](deadline slice) {
            return ctl().doorbell.take_until(slice, arrived, integrity()) != permits::outcome::timeout;
        });
    }

    /// Appends the slot to the ready FIFO: ok; closed (item destroyed, slot freed) after close().
    status publish(write_ticket w) {
        if constexpr (Storage::process_shared) {
            if (known_corrupt()) {
                mem_.slot(w.index).item.destroy(); // nothing more goes into a corrupt segment
                return status::corrupt;
            }
        }
        std::uint64_t const g = ctl().gate.fetch_add(one_publisher, std::memory_order_relaxed);
        if (g & closed_bit) {
            // Go semantics: nothing is delivered after close; the writer is told so.
            ctl().gate.fetch_sub(one_publisher, std::memory_order_relaxed);
            mem_.slot(w.index).item.destroy();
            recycle(w.index);
            return status::closed;
        }
        if constexpr (Storage::process_shared) {
            if (!ring::push(ctl().ready_ends, capacity(), ready_cell(), w.index, watch(ready_ring, false))) {
                // The ring is corrupt (recorded); the slot is lost with it. Relaxed: nothing
                // was pushed, so there is nothing for a drained reader to see.
                ctl().gate.fetch_sub(one_publisher, std::memory_order_relaxed);
                return status::corrupt;
            }
        } else {
            ring::push(ctl().ready_ends, capacity(), ready_cell(), w.index);
        }
        give(ctl().ready, ctl().ready_given);
        ctl().gate.fetch_sub(one_publisher, Orders::leave);
        return status::ok;
    }

    /// Returns an unpublished slot (its item already destroyed or never built) to the free pool.
    void cancel(write_ticket w) { recycle(w.index); }

    /// Takes the oldest ready slot without waiting: ok, empty, closed once closed and drained, or corrupt.
    claim<read_ticket> try_claim_read() {
        if constexpr (Storage::process_shared) {
            if (known_corrupt()) return {status::corrupt};
        }
        // After close, readers drain without permits: close() woke its sleepers with
        // wake-ups that stand for no item, and the gate tells when the ring is final.
        bool const permit = take(ctl().ready, ctl().banked_ready);
        if (!permit && !is_closed()) return {status::empty};
        std::uint32_t const i = pop_ready([&] { return drained(); }, watch(ready_ring, permit));
        if (i == ring::none) return {status::closed};
        if (i >= capacity()) return {bad_index(ctl().ready, permit, i)};
        return {status::ok, {i}};
    }

    /// Waits until an item may be ready, closed, or `d`; false on timeout.
    bool wait_readable(deadline d) { return wait_for_permit(ctl().ready, ctl().banked_ready, ctl().ready_given, d); }

    /// Returns a read slot (its item already destroyed) to the free pool.
    void release(read_ticket r) { recycle(r.index); }

    /// Destroys the oldest ready item and frees its slot; false if none is ready. Not counted here.
    bool try_evict_oldest(evictor) {
        auto const c = try_claim_read(); // exactly as a reader: a held slot is not in the ring
        if (!c.ok()) return false;
        mem_.slot(c.ticket.index).item.destroy();
        recycle(c.ticket.index);
        return true;
    }

    // A statistic only: nothing is ordered by it.
    /// Adds one to the discard counter (the ordering calls it for every item it drops).
    void count_discarded() { ctl().discarded.fetch_add(1, std::memory_order_relaxed); }
    /// Items dropped by the ordering so far.
    std::uint64_t discarded() const { return ctl().discarded.load(std::memory_order_relaxed); }

    /// The item cell of a claimed slot.
    polychan::detail::payload_cell<T>& payload(write_ticket w) noexcept { return mem_.slot(w.index).item; }
    polychan::detail::payload_cell<T>& payload(read_ticket r) noexcept { return mem_.slot(r.index).item; }

    /// Marks the channel closed and wakes every waiter.
    void close() {
        // The flag first: whoever a wake-up below reaches finds it set.
        ctl().gate.fetch_or(closed_bit, std::memory_order_relaxed);
        tell_spinners(ctl().ready_given);
        tell_spinners(ctl().free_given);
        if constexpr (Storage::process_shared) {
            // Checked first: close() rewrites the words, and would erase a bad count (and post
            // for as many sleepers as it claims). In a corrupt segment the words are left as
            // they are: every waiter, here or in another process, finds the fault or the closed
            // gate within integrity_check_period (in_slices). Posts are bounded all the same
            // (semaphore_permits::close), should the words go bad in between.
            if (!intact()) return;
            guarded("close", [&] {
                ctl().ready.close();
                ctl().free.close();
                ctl().doorbell.close();
            });
        } else {
            ctl().ready.close();
            ctl().free.close();
            ctl().doorbell.close();
        }
    }
    /// Whether close() was called.
    bool is_closed() const { return (ctl().gate.load(std::memory_order_relaxed) & closed_bit) != 0; }
    /// Items published and not yet claimed.
    std::size_t ready_size() const { return ring::size(ctl().ready_ends, capacity()); }
    /// Slots neither holding an item nor claimed.
    std::size_t free_size() const { return ring::size(ctl().free_ends, capacity()); }
    /// The number of slots.
    std::size_t capacity() const { return mem_.capacity(); }

    /// The first fault this process found in the channel's shared memory, or "" (always "" on
    /// the heap). Once there is one, every claim returns status::corrupt.
    std::string corruption() const {
        if constexpr (Storage::process_shared) {
            return mem_.corruption();
        } else {
            return {};
        }
    }

    /// Shared memory: whether the segment checks out, its header and the invariants of this
    /// core (see the top of this file); the first fault found is recorded and kept, so once
    /// false, always false. Always true on the heap.
    bool intact() {
        if constexpr (Storage::process_shared) {
            if (!mem_.header_intact()) return false; // also false once a fault was recorded
            std::string fault = find_fault();
            if (fault.empty()) return true;
            // The ring checks compare values read one after another while healthy peers move
            // them; a store may show up a moment late on weakly ordered hardware. A fault that
            // is still there a millisecond later is in the bytes.
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
            fault = find_fault();
            if (fault.empty()) return true;
            mem_.found_corrupt(std::move(fault));
            return false;
        } else {
            return true;
        }
    }

  private:
    control& ctl() const noexcept { return const_cast<region_type&>(mem_).control(); }
    auto free_cell() noexcept {
        return [this](std::size_t k) -> typename ring::cell& { return mem_.slot(k).free_cell; };
    }
    auto ready_cell() noexcept {
        return [this](std::size_t k) -> typename ring::cell& { return mem_.slot(k).ready_cell; };
    }

    /// Closed, and no publish under way: the ready ring can only shrink from now on.
    bool drained() const { return ctl().gate.load(Orders::drained) == closed_bit; }

    template <class Drained, class Watch = detail::unwatched>
    std::uint32_t pop_ready(Drained d, Watch w = {}) {
        return ring::pop(ctl().ready_ends, capacity(), ready_cell(), d, w);
    }

    void push_free(std::uint32_t i) { ring::push(ctl().free_ends, capacity(), free_cell(), i); }

    /// A slot goes back to the free ring, and its permit with it.
    void recycle(std::uint32_t i) {
        if constexpr (Storage::process_shared) {
            if (known_corrupt()) return; // nothing more goes into a corrupt segment
            if (!ring::push(ctl().free_ends, capacity(), free_cell(), i, watch(free_ring, false))) return;
        } else {
            push_free(i);
        }
        give(ctl().free, ctl().free_given);
    }

    /// One permit more, the doorbell rung if an evicting writer waits for one, and `given`
    /// changed for the spinners.
    void give(permits& p, atomic<std::uint32_t>& given) {
        if constexpr (Storage::process_shared) {
            // A process-shared semaphore whose bytes were overwritten can refuse a post.
            guarded(&p == &ctl().free ? "free permits" : "ready permits", [&] {
                p.give();
                if (ctl().doorbell.sleepers(Orders::recheck) > 0) ctl().doorbell.give();
            });
        } else {
            p.give();
            if (ctl().doorbell.sleepers(Orders::recheck) > 0) ctl().doorbell.give();
        }
        tell_spinners(given);
    }
    /// Changes `given` (spin_for_permit). Relaxed, and a load and a store, not an increment:
    /// a hint only. A spinner that misses it sleeps through the permit protocol (which the
    /// Relacy models check without the spin), and two givers that store the same value still
    /// change what a spinner saw.
    static void tell_spinners(atomic<std::uint32_t>& given) {
        given.store(given.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }

    /// A permit banked by a woken waiter first (so that its wake-up is not wasted), else a fresh one.
    static bool take(permits& p, atomic<std::int64_t>& bank) {
        // Relaxed: a banked permit is a real one (see wait_for_permit), and whoever uses it
        // waits on the ring cell itself for the item or slot it stands for.
        std::int64_t b = bank.load(std::memory_order_relaxed);
        while (b > 0)
            if (bank.compare_exchange_weak(b, b - 1, std::memory_order_relaxed, std::memory_order_relaxed)) return true;
        return p.try_take();
    }

    /// Watches `given` for a while before enlisting to sleep: true if a permit may be free now
    /// (the claim that follows takes it, or finds it gone and waits again) or the channel was
    /// closed. The other side is often one item away, and a sleep costs a post and a wake-up:
    /// 8-byte throughput on the heap went from 0.70 to 0.95 M items/s with a spin on the permit
    /// word, and to 1.8-2.0 with this one on `given` (see control). Relaxed loads that decide
    /// nothing; a backend that models waiting (Relacy) goes straight to the enlisting it checks.
    /// It yields between looks, as the mutex policy's waiter does (storage/detail/
    /// spinning_condition.hpp): a waiter that catches every permit as it comes keeps the
    /// permit and ring lines moving between the CPUs for each item, one that looks back after
    /// a yield finds a batch. Same-window A/B against 1024 pauses, far placement, M items/s:
    /// throughput_8B 4.8-5.0 against 1.6-1.9, 256B 5.0 against 1.7, mpmc_2x2 3.4-3.8 against
    /// 1.6-1.8, mpmc_4x4 2.2-2.3 against 1.7-2.1; cross-process (bench_ipc) 3.3-3.4 against
    /// 1.3-1.5; tx_64KiB 0.92-0.93 against 0.90-1.00 M messages/s. The round trip pays, each side
    /// seeing the other up to a yield late: 0.34-0.37 against 0.60-0.78 M/s.
    bool spin_for_permit(permits& p, atomic<std::uint32_t>& given, deadline d) {
        if constexpr (requires { Atomics::pause(); }) {
            return false;
        } else {
            if (d.is_poll()) return false;
            std::uint32_t const seen = given.load(std::memory_order_relaxed);
            if (p.available(std::memory_order_relaxed) > 0 || is_closed()) return true; // came before `seen` was read
            return polychan::detail::yield_until(permit_yield_limit,
                                                 [&] { return given.load(std::memory_order_relaxed) != seen; });
        }
    }
    static constexpr unsigned permit_yield_limit = 64;

    /// Sleeps for a permit and banks it for the claim that follows. A wake-up after close
    /// may stand for nothing, so it is dropped: after close nobody needs permits any more.
    bool wait_for_permit(permits& p, atomic<std::int64_t>& bank, atomic<std::uint32_t>& given, deadline d) {
        if (spin_for_permit(p, given, d)) return true;
        return in_slices(d, [&](deadline slice) {
            switch (p.take_until(
                slice, [] { return false; }, integrity())) {
            case permits::outcome::woken:
                if (!is_closed()) bank.fetch_add(1, std::memory_order_relaxed);
                return true;
            case permits::outcome::closed:
            case permits::outcome::corrupt: // recorded: the caller's next claim reports it
                return true;
            case permits::outcome::timeout:
                break;
            }
            return false;
        });
    }

    // ---- integrity (shared memory; on the heap all of this is empty or unused) ----------------

    /// Whether this process has found the segment corrupt (never on the heap).
    bool known_corrupt() const noexcept {
        if constexpr (Storage::process_shared) {
            return mem_.corrupt();
        } else {
            return false;
        }
    }

    enum which_ring : bool { free_ring, ready_ring };

    /// What the rings ask during a long wait in shared memory (semaphore_index_ring.hpp).
    struct ring_watch {
        static constexpr bool enabled = true;
        core* self;
        which_ring which;
        bool holds_permit;  // a real permit was taken for this pop: an index is in the ring or on its way
        bool check_segment; // false while the creator initialises (the header is not final yet)
        bool intact() const { return check_segment ? self->intact() : !self->mem_.corrupt(); }
        /// Items the ring must hold stored (a lower bound): one for each permit not yet taken,
        /// and this pop's own. 0 for the ready ring after close: readers pop it without permits
        /// then, and may have taken the items permits stood for (free slots are only ever
        /// popped with a permit).
        std::int64_t owed() const {
            // Acquire: read after the ring's head (semaphore_index_ring::missing_items).
            auto const r = (which == ready_ring ? self->ctl().ready : self->ctl().free).read(std::memory_order_acquire);
            // Acquire: read after the count, so that "open" covers every pop before it.
            if (which == ready_ring && (self->ctl().gate.load(std::memory_order_acquire) & closed_bit) != 0) return 0;
            return (holds_permit ? 1 : 0) + (r.count > 0 ? r.count : 0);
        }
        void corrupt(const std::string& what) const {
            self->mem_.found_corrupt((which == ready_ring ? "ready ring: " : "free ring: ") + what);
        }
    };
    /// The watch for a ring operation: ring_watch in shared memory, nothing on the heap.
    auto watch([[maybe_unused]] which_ring which, [[maybe_unused]] bool holds_permit,
               [[maybe_unused]] bool check_segment = true) {
        if constexpr (Storage::process_shared) {
            return ring_watch{this, which, holds_permit, check_segment};
        } else {
            return detail::unwatched{};
        }
    }
    /// The check a permit wait asks while a post is overdue: intact() in shared memory.
    auto integrity() {
        if constexpr (Storage::process_shared) {
            return [this] { return intact(); };
        } else {
            return detail::trusting{};
        }
    }

    /// Runs `wait_once(d)` (true once woken); in shared memory in slices of
    /// integrity_check_period with intact() asked before each, so that a waiter in a segment
    /// that became corrupt wakes (as woken: its next claim reports it) even if nobody posts;
    /// so does a waiter in a closed channel (close() in a corrupt segment does not post).
    template <class WaitOnce>
    bool in_slices(deadline d, WaitOnce wait_once) {
        if constexpr (Storage::process_shared) {
            return storage::detail::wait_in_slices(
                d, [this] { return intact() && !is_closed(); },
                [&](deadline slice) {
                    bool woken = true;
                    guarded("wait", [&] { woken = wait_once(slice); });
                    return woken;
                });
        } else {
            return wait_once(d);
        }
    }

    /// Runs `f` on the segment's semaphores: a storage semaphore that reports a failure with
    /// ipc::error (its bytes overwritten) has it recorded as corruption instead of escaping,
    /// into a destructor perhaps. (The shared storages' futex semaphore cannot fail.)
    template <class F>
    void guarded(const char* what, F f) {
        try {
            f();
        } catch (const ipc::error& e) {
            mem_.found_corrupt(std::string{what} + ": " + e.what());
        }
    }

    /// A pop of the ring counted by `p` that gave no slot: status::corrupt, with the fault
    /// recorded in shared memory. A pop that gave up (ring::corrupt; the ring has recorded why)
    /// has popped nothing: the permit it took (`permit`) is given back, so that the segment
    /// is left as it was found and another process finds the same fault as quickly.
    status bad_index([[maybe_unused]] permits& p, [[maybe_unused]] bool permit, [[maybe_unused]] std::uint32_t i) {
        if constexpr (Storage::process_shared) {
            char const* const name = &p == &ctl().free ? "free ring" : "ready ring";
            if (i != ring::corrupt) {
                mem_.found_corrupt(std::string{name} + ": popped slot index " + std::to_string(i) +
                                   ", beyond the capacity " + std::to_string(capacity()));
            } else if (permit) {
                guarded(name, [&] { p.give(); });
            }
        }
        return status::corrupt;
    }

    /// The first invariant of the control block that does not hold (see the top of this
    /// file), or "". Single words are judged on their own; the rings by ring::fault.
    std::string find_fault() {
        auto const n = static_cast<std::int64_t>(capacity());
        std::int64_t const many = permits::max_sleepers;
        std::string f;
        if (!(f = permits_fault("free permits", ctl().free, n)).empty()) return f;
        if (!(f = permits_fault("ready permits", ctl().ready, n)).empty()) return f;
        if (!(f = permits_fault("doorbell permits", ctl().doorbell, many)).empty()) return f;
        if (!(f = bank_fault("banked free permits", ctl().banked_free, n)).empty()) return f;
        if (!(f = bank_fault("banked ready permits", ctl().banked_ready, n)).empty()) return f;
        // Relaxed: one word, judged on its own.
        std::uint64_t const publishers = ctl().gate.load(std::memory_order_relaxed) / one_publisher;
        if (publishers > capacity())
            return "gate: " + std::to_string(publishers) + " publishes under way, more than the " +
                   std::to_string(capacity()) + " slots (each holds one)";
        if (!(f = ring::fault(ctl().free_ends, capacity(), free_cell())).empty()) return "free ring: " + f;
        if (!(f = ring::fault(ctl().ready_ends, capacity(), ready_cell())).empty()) return "ready ring: " + f;
        if (!(f = occupancy_fault("free", ctl().free, ctl().free_ends, false)).empty()) return f;
        if (!(f = occupancy_fault("ready", ctl().ready, ctl().ready_ends, true)).empty()) return f;
        return slots_fault();
    }
    /// Every slot index is in one place: at a position of the free ring or of the ready ring
    /// (pushed or being pushed, not yet popped), or claimed. Both tails are read before both
    /// heads (acquire, each no older than the one before): a slot counted in both rings would
    /// have been popped from one before it was pushed into the other, whose tail was read
    /// before the first's head. So the two counts share no slot, and add up to the capacity
    /// at most.
    std::string slots_fault() const {
        std::uint64_t const ft = ctl().free_ends.tail.load(std::memory_order_acquire);
        std::uint64_t const rt = ctl().ready_ends.tail.load(std::memory_order_acquire);
        std::uint64_t const fh = ctl().free_ends.head.load(std::memory_order_acquire);
        std::uint64_t const rh = ctl().ready_ends.head.load(std::memory_order_acquire);
        std::uint64_t const n = capacity();
        std::uint64_t const in_free = ft > fh ? ft - fh : 0;
        std::uint64_t const in_ready = rt > rh ? rt - rh : 0;
        if (in_free <= n && in_ready <= n - in_free) return {}; // (beyond n each: ring::fault)
        return "free ring (head " + std::to_string(fh) + ", tail " + std::to_string(ft) + ") and ready ring (head " +
               std::to_string(rh) + ", tail " + std::to_string(rt) + ") hold more slot indices than the " +
               std::to_string(n) + " slots";
    }
    /// Permits against their ring: a permit is given after its index is pushed and taken
    /// before an index is popped, so count <= tail - head at every moment. Read head, count,
    /// tail in that order (acquire, each no older than the one before): count <= tail(then) -
    /// head(then) <= t - h. After close, readers pop the ready ring without permits, so there
    /// the check holds only while the gate, read last, is open.
    std::string occupancy_fault(const char* name, const permits& p, const typename ring::ends& e,
                                bool unpermitted_after_close) const {
        std::uint64_t const h = e.head.load(std::memory_order_acquire);
        auto const r = p.read(std::memory_order_acquire);
        std::uint64_t const t = e.tail.load(std::memory_order_acquire);
        if (r.count <= 0 || t < h || static_cast<std::uint64_t>(r.count) <= t - h) return {};
        // Acquire: read after the ends (see above).
        if (unpermitted_after_close && (ctl().gate.load(std::memory_order_acquire) & closed_bit) != 0) return {};
        return std::string{name} + " permits: count " + std::to_string(r.count) + ", but the " + name +
               " ring holds only " + std::to_string(t - h) + " (head " + std::to_string(h) + ", tail " +
               std::to_string(t) + ")";
    }
    /// A permit word: count within [-max_sleepers, most], and closed only if the gate is.
    std::string permits_fault(const char* name, const permits& p, std::int64_t most) const {
        // Acquire: a word close() has closed makes the gate's closed flag, set before, visible.
        auto const r = p.read(std::memory_order_acquire);
        if (r.count > most)
            return std::string{name} + ": count " + std::to_string(r.count) + " is above its bound " +
                   std::to_string(most);
        if (r.count < -permits::max_sleepers)
            return std::string{name} + ": count " + std::to_string(r.count) + " stands for more sleepers than " +
                   std::to_string(permits::max_sleepers) + " threads";
        // Relaxed: ordered after the acquire load above, which is what makes it current enough.
        if (r.closed && (ctl().gate.load(std::memory_order_relaxed) & closed_bit) == 0)
            return std::string{name} + ": closed, but the gate is open";
        return {};
    }
    /// Permits a woken waiter banked: real ones, so between 0 and the capacity.
    static std::string bank_fault(const char* name, const atomic<std::int64_t>& bank, std::int64_t most) {
        std::int64_t const b = bank.load(std::memory_order_relaxed); // relaxed: one word, judged on its own
        if (b >= 0 && b <= most) return {};
        return std::string{name} + ": " + std::to_string(b) + " is outside 0.." + std::to_string(most);
    }

    mutable region_type mem_;
};

} // namespace polychan::sync
