// polychan — sync `semaphore`: two counting semaphores, free slots and ready items, guard the
// slots; any number of readers and writers. The storage policy hands out the semaphore type
// (std::counting_semaphore on the heap, a process-shared POSIX semaphore in shared memory), so
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
#pragma once

#include <polychan/atomics.hpp>
#include <polychan/claim.hpp>
#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/storage/detail/shared_state.hpp>
#include <polychan/sync/detail/semaphore_index_ring.hpp>
#include <polychan/sync/detail/semaphore_permits.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string_view>
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
    using permits = detail::semaphore_permits<Atomics, Orders, sleep_semaphore>;
    template <class X>
    using atomic = typename Atomics::template atomic<X>;

    struct slot {
        typename ring::cell free_cell;  // the free ring's cell at this position (not this slot's state)
        typename ring::cell ready_cell; // the ready ring's cell at this position
        polychan::detail::payload_cell<T> item;
    };

    // The gate: bit 0 is the closed flag; the rest counts publishes under way. One word, so
    // that a publisher's entry and close() are ordered by the word itself.
    static constexpr std::uint64_t closed_bit = 1;
    static constexpr std::uint64_t one_publisher = 2;

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
    };
    using region_type = typename Storage::template region<slot, control>;

  public:
    /// The item type.
    using value_type = T;
    /// A claimed write slot, from try_claim_write() until publish() or cancel().
    struct write_ticket {
        slot* s = nullptr;
        std::uint32_t index = ring::none;
    };
    /// A claimed read slot, from try_claim_read() until release().
    struct read_ticket {
        slot* s = nullptr;
        std::uint32_t index = ring::none;
    };

    /// Builds the storage region from the channel's constructor arguments; a new region starts all free.
    template <class... Args>
    explicit core(Args&&... args) : mem_(std::forward<Args>(args)...) {
        if (capacity() >= ring::none)
            throw std::invalid_argument("polychan: semaphore capacity exceeds 2^32 - 2 slots");
        // Shared memory that another process created is already initialised and in use.
        storage::initialise_shared_state(mem_, [&] {
            for (std::uint32_t i = 0; i < capacity(); ++i) push_free(i);
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
        if (is_closed()) return {status::closed};
        if (!take(ctl().free, ctl().banked_free)) return {status::full};
        // A permit taken here is real: the wake-ups close() hands out go to sleepers, who
        // never bank them. So a free index is in the ring or about to be.
        std::uint32_t const i = ring::pop(ctl().free_ends, capacity(), free_cell(), [] { return false; });
        if (i >= capacity()) return {status::corrupt};
        return {status::ok, {&mem_.slot(i), i}};
    }

    /// Waits until a slot may be free (or, for evicting writers, an item ready), closed, or `d`;
    /// false on timeout.
    bool wait_writable(deadline d, wake_on why) {
        if (why == wake_on::free_slot) return wait_for_permit(ctl().free, ctl().banked_free, d);
        // Wait for a free slot or an evictable item, whichever comes first.
        auto const arrived = [&] {
            return ctl().free.available(Orders::recheck) > 0 || ctl().ready.available(Orders::recheck) > 0;
        };
        return ctl().doorbell.take_until(d, arrived) != permits::outcome::timeout;
    }

    /// Appends the slot to the ready FIFO: ok; closed (item destroyed, slot freed) after close().
    status publish(write_ticket w) {
        std::uint64_t const g = ctl().gate.fetch_add(one_publisher, std::memory_order_relaxed);
        if (g & closed_bit) {
            // Go semantics: nothing is delivered after close; the writer is told so.
            ctl().gate.fetch_sub(one_publisher, std::memory_order_relaxed);
            w.s->item.destroy();
            recycle(w.index);
            return status::closed;
        }
        ring::push(ctl().ready_ends, capacity(), ready_cell(), w.index);
        give(ctl().ready);
        ctl().gate.fetch_sub(one_publisher, Orders::leave);
        return status::ok;
    }

    /// Returns an unpublished slot (its item already destroyed or never built) to the free pool.
    void cancel(write_ticket w) { recycle(w.index); }

    /// Takes the oldest ready slot without waiting: ok, empty, closed once closed and drained, or corrupt.
    claim<read_ticket> try_claim_read() {
        // After close, readers drain without permits: close() woke its sleepers with
        // wake-ups that stand for no item, and the gate tells when the ring is final.
        if (!take(ctl().ready, ctl().banked_ready) && !is_closed()) return {status::empty};
        std::uint32_t const i = pop_ready([&] { return drained(); });
        if (i == ring::none) return {status::closed};
        if (i >= capacity()) return {status::corrupt};
        return {status::ok, {&mem_.slot(i), i}};
    }

    /// Waits until an item may be ready, closed, or `d`; false on timeout.
    bool wait_readable(deadline d) { return wait_for_permit(ctl().ready, ctl().banked_ready, d); }

    /// Returns a read slot (its item already destroyed) to the free pool.
    void release(read_ticket r) { recycle(r.index); }

    /// Destroys the oldest ready item and frees its slot; false if none is ready. Not counted here.
    bool try_evict_oldest(evictor) {
        auto const c = try_claim_read(); // exactly as a reader: a held slot is not in the ring
        if (!c.ok()) return false;
        c.ticket.s->item.destroy();
        recycle(c.ticket.index);
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
        // The flag first: whoever a wake-up below reaches finds it set.
        ctl().gate.fetch_or(closed_bit, std::memory_order_relaxed);
        ctl().ready.close();
        ctl().free.close();
        ctl().doorbell.close();
    }
    /// Whether close() was called.
    bool is_closed() const { return (ctl().gate.load(std::memory_order_relaxed) & closed_bit) != 0; }
    /// Items published and not yet claimed.
    std::size_t ready_size() const { return ring::size(ctl().ready_ends, capacity()); }
    /// Slots neither holding an item nor claimed.
    std::size_t free_size() const { return ring::size(ctl().free_ends, capacity()); }
    /// The number of slots.
    std::size_t capacity() const { return mem_.capacity(); }

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

    template <class Drained>
    std::uint32_t pop_ready(Drained d) {
        return ring::pop(ctl().ready_ends, capacity(), ready_cell(), d);
    }
    void push_free(std::uint32_t i) { ring::push(ctl().free_ends, capacity(), free_cell(), i); }

    /// A slot goes back to the free ring, and its permit with it.
    void recycle(std::uint32_t i) {
        push_free(i);
        give(ctl().free);
    }

    /// One permit more, and the doorbell rung if an evicting writer waits for one.
    void give(permits& p) {
        p.give();
        if (ctl().doorbell.sleepers(Orders::recheck) > 0) ctl().doorbell.give();
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

    /// Sleeps for a permit and banks it for the claim that follows. A wake-up after close
    /// may stand for nothing, so it is dropped: after close nobody needs permits any more.
    bool wait_for_permit(permits& p, atomic<std::int64_t>& bank, deadline d) {
        switch (p.take_until(d, [] { return false; })) {
        case permits::outcome::woken:
            if (!is_closed()) bank.fetch_add(1, std::memory_order_relaxed);
            return true;
        case permits::outcome::closed:
            return true;
        case permits::outcome::timeout:
            break;
        }
        return false;
    }

    mutable region_type mem_;
};

} // namespace polychan::sync
