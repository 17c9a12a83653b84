// polychan — sync `mutex`: one mutex and two condition variables guard the slots; any number
// of readers and writers.
//
// Slots are threaded on two intrusive FIFO lists through `slot::next`, so a slot is always in
// exactly one place and a transaction can hold it for as long as it likes:
//
//          free list                      ready list                held by transactions
//   free.head -> s -> s <- free.tail   ready.head -> s -> s <- ready.tail    (in no list)
//
//   claim write: pop free.head         publish: append at ready.tail
//   claim read : pop ready.head        release: append at free.tail
//   evict      : pop ready.head, destroy the item, append at free.tail
//
// A slot held by a reader is in neither list, so an evicting writer can never overwrite it.
// Items are delivered in publish order.
//
// The free list is FIFO too, so that a writer takes the slot freed longest ago. Taken from
// the top of a stack, it got the slot the reader had freed a moment before, whose line (and
// `next`, written by that release) was still in the reader's cache: every claim waited for a
// line from the other core while holding the lock. throughput_8B, heap.block: 1.8 -> 5.7 M
// items/s (std::mutex + std::deque: 4.3 in the same run).
//
// In memory shared between processes (Storage::process_shared) a process may die anywhere,
// also inside a critical section (the robust mutex then tells the next locker) or while it
// holds a slot. The lists cannot be trusted after that, so each slot also carries a crash
// record written in the same critical sections, from which `rebuild()` recomputes both lists:
//
//   record.state   free | writing | ready | reading      (the truth; the lists are an index)
//   record.holder  pid holding a writing/reading slot     (dead holder -> the slot is free)
//   record.seq     publish order of a ready slot          (ready list = ready slots by seq)
//
// So after a crash: nothing published is lost or duplicated, a half-written item is never
// delivered (its slot is `writing`), and the slots of dead processes come back.
//
// A crash is the only way the lists can go wrong while every process follows this protocol,
// and the robust mutex reports it. Lists found wrong without one were written by a broken or
// hostile peer: every critical section checks what it is about to follow (heads, counts, the
// links and records right behind the heads; O(1)), and a fault makes the channel `corrupt`
// for this process (storage/detail/integrity.hpp) instead of being followed.
#pragma once

#include <polychan/claim.hpp>
#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/cpu_pause.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/storage/detail/integrity.hpp>
#include <polychan/storage/detail/shared_state.hpp>
#include <polychan/storage/detail/spinning_condition.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace polychan::sync {

/// Sync: a mutex and two condition variables from the storage; any number of readers and writers.
struct mutex {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "mutex";
    /// Whether the core works with an unbounded storage (heap_unbounded).
    static constexpr bool supports_unbounded = true;
    /// Whether at most one thread (or process) may read at a time.
    static constexpr bool single_reader = false;
    /// Whether at most one thread (or process) may write at a time.
    static constexpr bool single_writer = false;

    /// The slot protocol (sync_core, concepts.hpp) for items T in Storage's memory.
    template <class T, storage_policy Storage>
    class core;
};

template <class T, storage_policy Storage>
class mutex::core {
    static constexpr bool crash_safe = Storage::process_shared;

  public:
    // The memory layout, public so that tools and tests can inspect a segment.
    static constexpr std::uint32_t nil = 0xFFFF'FFFFu;
    enum slot_state : std::uint32_t { slot_free, slot_writing, slot_ready, slot_reading };
    struct crash_record {
        std::uint32_t state = slot_free;
        std::uint32_t holder = 0;
        std::uint64_t seq = 0;
    };
    struct no_record {};
    /// A FIFO list of slots linked through slot::next (nil-terminated), with its length.
    struct slot_list {
        std::uint32_t head = nil;
        std::uint32_t tail = nil;
        std::size_t count = 0;
    };

    struct slot {
        std::uint32_t next;
        [[no_unique_address]] std::conditional_t<crash_safe, crash_record, no_record> record;
        polychan::detail::payload_cell<T> item;
    };
    // Each condition on its own cache line, away from the lock and the lists: a waiter
    // watches its condition's change counter between yields, and on the lock's line every
    // look took that line from the holder in the middle of its critical section. Shared
    // memory, where the conditions followed the 44-byte robust mutex on its line: round trip
    // 0.40-0.43 against 0.35-0.39 M/s cross-process, 0.38-0.45 against 0.33-0.37 two threads
    // (far placement; the heap channel 0.43-0.52 in the same rounds).
    struct control {
        typename Storage::mutex_type lock;
        slot_list free;
        slot_list ready;
        std::size_t evict_waiters = 0; // writers waiting for an item they could evict
        std::uint64_t published = 0;   // items ever published: the publish sequence
        std::uint64_t repairs = 0;     // rebuilds after a process died (shared memory only)
        std::uint32_t closed = 0;      // not bool: a peer may leave any byte here; not 0 means closed
        std::atomic<std::uint64_t> discarded{0};
        alignas(64) typename Storage::condition_type readable; // an item was published, or closed
        alignas(64) typename Storage::condition_type writable; // a slot was freed, or closed
    };

  private:
    using region_type = typename Storage::template region<slot, control>;
    using lock_type = std::unique_lock<typename Storage::mutex_type>;

  public:
    /// The item type.
    using value_type = T;
    // A ticket keeps the slot's address: payload() reads it without the lock, while
    // heap_unbounded's chunk table may grow under another thread (docs/policies.md).
    /// A claimed write slot, from try_claim_write() until publish() or cancel().
    struct write_ticket {
        slot* s = nullptr;
        std::uint32_t index = nil;
        bool locked = false; // claimed with one_op: the lock is still held, publish or cancel unlocks
    };
    /// A claimed read slot, from try_claim_read() until release().
    struct read_ticket {
        slot* s = nullptr;
        std::uint32_t index = nil;
        bool locked = false; // claimed with one_op: the lock is still held, release unlocks
    };

    /// Builds the storage region from the channel's constructor arguments; a new region starts all free.
    template <class... Args>
    explicit core(Args&&... args) : mem_(std::forward<Args>(args)...) {
        // Shared memory that another process created is already initialised and in use.
        storage::initialise_shared_state(mem_, [&] {
            if constexpr (Storage::unbounded) {
                link_free(0, mem_.allocated());
            } else {
                link_free(0, mem_.capacity());
            }
        });
    }
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() {
        // Items still queued belong to the channel; held transactions must be gone by now.
        // (Items in shared memory are trivially destructible: nothing to do, and other
        // processes may still be using the queue.)
        if constexpr (!std::is_trivially_destructible_v<T>) {
            for (std::uint32_t i = ctl().ready.head; i != nil; i = mem_.slot(i).next) mem_.slot(i).item.destroy();
        }
    }

    /// Takes a free slot without waiting: ok, full, or closed.
    claim<write_ticket> try_claim_write() { return claim_write(false); }
    /// As try_claim_write(), for one write() that publishes at once: on ok the lock stays held
    /// until publish() or cancel(), so that the item costs one critical section, not two.
    claim<write_ticket> try_claim_write(one_op_t) { return claim_write(true); }

    /// Waits until a slot may be free (or, for evicting writers, an item ready), closed, or `d`;
    /// false on timeout. A transaction's claim (begin_write) waits promptly (waiter_pace).
    bool wait_writable(deadline d, wake_on why) { return wait_writable(d, why, waiter_pace::prompt); }
    /// As wait_writable(), for one write(): the waiter looks back in batches (waiter_pace).
    bool wait_writable(deadline d, wake_on why, one_op_t) { return wait_writable(d, why, waiter_pace::batched); }

    /// Appends the slot to the ready FIFO: ok; closed (item destroyed, slot freed) after close().
    status publish(write_ticket w) {
        lock_type lock = relocked(w.locked);
        if (corrupt()) return status::corrupt; // the lists cannot take the slot back
        if (ctl().closed != 0) {
            // Go semantics: nothing is delivered after close; the writer is told so.
            w.s->item.destroy();
            if (!back_sound(ctl().free, slot_free)) [[unlikely]]
                return found_list_fault();
            push_free(w.index);
            lock.unlock();
            ctl().writable.notify_one();
            return status::closed;
        }
        if (!back_sound(ctl().ready, slot_ready)) [[unlikely]]
            return found_list_fault();
        w.s->next = nil;
        if constexpr (crash_safe) {
            w.s->record.seq = ctl().published;
            std::atomic_signal_fence(std::memory_order_seq_cst); // crash order: seq before state
            w.s->record.state = slot_ready;
            std::atomic_signal_fence(std::memory_order_seq_cst); // crash order: ready before counted
        }
        ++ctl().published;
        push_back(ctl().ready, w.index);
        bool const wake_evictors = ctl().evict_waiters > 0;
        lock.unlock();
        ctl().readable.notify_one();
        if (wake_evictors) ctl().writable.notify_all();
        return status::ok;
    }

    /// Returns an unpublished slot (its item already destroyed or never built) to the free pool.
    void cancel(write_ticket w) { give_back(w.index, w.locked); }

    /// Takes the oldest ready slot without waiting: ok, empty, or closed once closed and drained.
    claim<read_ticket> try_claim_read() { return claim_read(false); }
    /// As try_claim_read(), for one read() that releases at once: on ok the lock stays held
    /// until release().
    claim<read_ticket> try_claim_read(one_op_t) { return claim_read(true); }

    /// Waits until an item may be ready, closed, or `d`; false on timeout. A transaction's claim
    /// (begin_read) waits promptly (waiter_pace).
    bool wait_readable(deadline d) { return wait_readable(d, waiter_pace::prompt); }
    /// As wait_readable(), for one read(): the waiter looks back in batches (waiter_pace).
    bool wait_readable(deadline d, one_op_t) { return wait_readable(d, waiter_pace::batched); }

    /// Returns a read slot (its item already destroyed) to the free pool.
    void release(read_ticket r) { give_back(r.index, r.locked); }

    /// Destroys the oldest ready item and frees its slot; false if none is ready. Not counted here.
    bool try_evict_oldest(evictor) {
        lock_type lock = locked();
        if (corrupt() || ctl().ready.head == nil) return false;
        if (!front_sound(ctl().ready, slot_ready) || !back_sound(ctl().free, slot_free)) [[unlikely]] {
            found_list_fault();
            return false;
        }
        std::uint32_t const i = pop_front(ctl().ready);
        mem_.slot(i).item.destroy();
        push_free(i);
        lock.unlock();
        ctl().writable.notify_one();
        return true;
    }

    // A statistic only: nothing is ordered by it.
    /// Adds one to the discard counter (the ordering calls it for every item it drops).
    void count_discarded() { ctl().discarded.fetch_add(1, std::memory_order_relaxed); }
    /// Items dropped by the ordering so far.
    std::uint64_t discarded() const { return ctl().discarded.load(std::memory_order_relaxed); }

    /// Items ever published into the channel. With one writer, a writer restarted after a
    /// crash resumes its sequence here: an item counts once its publish has completed in
    /// shared state, even if the writer died before publish() returned.
    std::uint64_t published() const {
        lock_type lock = locked();
        return ctl().published;
    }

    /// How often the lists were rebuilt after a process died (shared memory only).
    std::uint64_t repairs() const {
        lock_type lock = locked();
        return ctl().repairs;
    }

    /// Shared memory: returns the slots held by processes that died (an item being written is
    /// dropped; one being read is lost with its reader) and repairs the lists. Attaching
    /// processes call it when they find dead owners.
    void recover_abandoned() requires crash_safe {
        {
            lock_type lock = locked();
            if (corrupt()) return;
            rebuild();
        }
        ctl().readable.notify_all();
        ctl().writable.notify_all();
    }

    /// What this process found wrong in the shared state ("" if nothing; always "" on the heap).
    std::string corruption() const {
        if constexpr (crash_safe) {
            return mem_.corruption();
        } else {
            return {};
        }
    }

    /// The item cell of a claimed slot.
    polychan::detail::payload_cell<T>& payload(write_ticket w) noexcept { return w.s->item; }
    polychan::detail::payload_cell<T>& payload(read_ticket r) noexcept { return r.s->item; }

    /// Marks the channel closed and wakes every waiter.
    void close() {
        {
            lock_type lock = locked();
            ctl().closed = 1;
        }
        ctl().readable.notify_all();
        ctl().writable.notify_all();
    }
    /// Whether close() was called.
    bool is_closed() const {
        lock_type lock = locked();
        return ctl().closed != 0;
    }
    /// Items published and not yet claimed.
    std::size_t ready_size() const {
        lock_type lock = locked();
        return ctl().ready.count;
    }
    /// Whether an item newer than the claimed `r` is ready (always_last then discards `r`):
    /// under the lock the one_op claim still holds, or under a fresh one.
    bool newer_ready(const read_ticket& r) const { return (r.locked ? ctl().ready.count : ready_size()) > 0; }
    /// Slots neither holding an item nor claimed.
    std::size_t free_size() const {
        if constexpr (Storage::unbounded) {
            return unbounded_capacity;
        } else {
            lock_type lock = locked();
            return ctl().free.count;
        }
    }
    /// The number of slots.
    std::size_t capacity() const {
        if constexpr (Storage::unbounded) {
            return unbounded_capacity;
        } else {
            return mem_.capacity();
        }
    }

  private:
    using waiter_pace = storage::detail::waiter_pace;

    control& ctl() const noexcept { return const_cast<region_type&>(mem_).control(); }

    bool wait_writable(deadline d, wake_on why, waiter_pace pace) {
        lock_type lock = locked();
        auto const can_proceed = [&] {
            return corrupt() || ctl().closed != 0 || ctl().free.count > 0 ||
                   (why == wake_on::free_or_ready_slot && ctl().ready.count > 0);
        };
        if (why == wake_on::free_or_ready_slot) ++ctl().evict_waiters;
        bool const woken = wait(lock, ctl().writable, d, can_proceed, pace);
        if (why == wake_on::free_or_ready_slot) --ctl().evict_waiters;
        return woken;
    }
    bool wait_readable(deadline d, waiter_pace pace) {
        lock_type lock = locked();
        return wait(
            lock, ctl().readable, d, [&] { return corrupt() || ctl().closed != 0 || ctl().ready.count > 0; }, pace);
    }

    /// Every critical section starts here: if the previous holder died inside one, the lists
    /// are rebuilt from the slots' crash records; otherwise what the section may follow is
    /// checked, and a fault makes the channel corrupt (shared memory only).
    lock_type locked() const {
        lock_type lock{ctl().lock};
        if constexpr (crash_safe) check_after_lock();
        return lock;
    }
    /// locked() for the steps of a transaction (claim, commit or release on their own): tries
    /// for a while before sleeping on the lock. The other side's critical sections are short,
    /// and a transaction's item is large: sleeping cost a futex wait and wake per 64 KiB message,
    /// 41% of the time in the kernel and 0.42x memcpy's bandwidth (bench_transactions). write()
    /// and read() sleep at once: when both sides loop on small items, the side that sleeps lets
    /// the other run a batch with the lock's line to itself, and a spin here made
    /// throughput_8B fall from 1.4x to 0.8x std::mutex+deque. (The same holds in shared memory,
    /// where robust_mutex::lock() used to try first: see there.)
    lock_type locked_for_transaction() const {
        lock_type lock{ctl().lock, std::defer_lock};
        if (!polychan::detail::spin_until(transaction_lock_tries, [&] { return lock.try_lock(); })) lock.lock();
        if constexpr (crash_safe) check_after_lock();
        return lock;
    }
    static constexpr unsigned transaction_lock_tries = 128;
    /// A write claim; with `keep_lock` (one_op) an ok claim leaves the lock held for publish or cancel.
    claim<write_ticket> claim_write(bool keep_lock) {
        lock_type lock = keep_lock ? locked() : locked_for_transaction();
        if (corrupt()) return {status::corrupt};
        if (ctl().closed != 0) return {status::closed};
        if (ctl().free.head == nil) {
            if constexpr (Storage::unbounded) {
                auto const [first, last] = mem_.grow();
                link_free(first, last);
            } else {
                return {status::full};
            }
        }
        if (!front_sound(ctl().free, slot_free)) [[unlikely]]
            return {found_list_fault()};
        std::uint32_t const i = pop_front(ctl().free);
        slot& s = mem_.slot(i);
        if constexpr (crash_safe) hold(s, slot_writing);
        if (keep_lock) (void)lock.release();
        return {status::ok, {&s, i, keep_lock}};
    }
    /// A read claim; with `keep_lock` (one_op) an ok claim leaves the lock held for release.
    claim<read_ticket> claim_read(bool keep_lock) {
        lock_type lock = keep_lock ? locked() : locked_for_transaction();
        if (corrupt()) return {status::corrupt};
        if (ctl().ready.head == nil) return {ctl().closed != 0 ? status::closed : status::empty};
        if (!front_sound(ctl().ready, slot_ready)) [[unlikely]]
            return {found_list_fault()};
        std::uint32_t const i = pop_front(ctl().ready);
        if constexpr (crash_safe) hold(mem_.slot(i), slot_reading);
        if (keep_lock) (void)lock.release();
        return {status::ok, {&mem_.slot(i), i, keep_lock}};
    }
    /// The lock for finishing a claim: the one the claim kept (one_op), or taken now.
    lock_type relocked(bool kept) const {
        if (kept) return lock_type{ctl().lock, std::adopt_lock};
        return locked_for_transaction(); // only a transaction's claim did not keep it
    }
    void check_after_lock() const {
        if constexpr (crash_safe) {
            if (mem_.corrupt()) return;
            if (ctl().lock.previous_owner_died()) {
                const_cast<core*>(this)->rebuild();
                ctl().lock.state_repaired();
                return;
            }
            if (!ends_sound(ctl().free) || !ends_sound(ctl().ready)) [[unlikely]]
                found_list_fault();
        }
    }
    /// Whether this process found the shared state corrupt (never on the heap).
    bool corrupt() const noexcept {
        if constexpr (crash_safe) {
            return mem_.corrupt();
        } else {
            return false;
        }
    }

    /// Shared memory is untrusted. Every critical section checks the list ends and counts in
    /// the control block (check_after_lock); the slot behind an end is checked by the step
    /// that follows it, just before: a pop checks the head's record and link, an append the
    /// tail's. A list that loops or crosses the other one fails there too, one pop later: the
    /// popped slot's record no longer says free (or ready). O(1) per critical section, and
    /// only lines the section touches anyway: looking at all four ends in every section read
    /// two slots the other process had just written, a cache miss each while holding the lock.
    /// Cross-process throughput_8B, far placement, M items/s: all four ends 1.3-2.2, these
    /// checks 2.8-3.4 and 3.5-6.1 in two windows, no slot checked at all (an experiment, not a
    /// choice) 3.5-4.0 beside the first. A waiter, which may follow nothing for a long time,
    /// checks all four when it starts to wait and at every integrity_check_period (wait()).
    /// No strings: the same check returning a message (fault_in_list) was a third of the
    /// instructions of a cross-process item (callgrind: 834 per write and read, 316 of them there).
    bool ends_sound(slot_list const& list) const noexcept {
        std::size_t const n = mem_.capacity();
        if (list.count > n) return false;
        if (list.head == nil || list.tail == nil) return list.head == nil && list.tail == nil && list.count == 0;
        return list.head < n && list.tail < n && list.count != 0;
    }
    /// The head of a list that ends_sound() passed and that is not empty: its link and record.
    bool front_sound(slot_list const& list, slot_state state) const noexcept {
        if constexpr (crash_safe) {
            slot const& h = slot_at(list.head);
            return (h.next == nil || h.next < mem_.capacity()) && h.record.state == state;
        } else {
            return true;
        }
    }
    /// The tail of a list that ends_sound() passed, if it has one: it ends the list.
    bool back_sound(slot_list const& list, slot_state state) const noexcept {
        if constexpr (crash_safe) {
            if (list.tail == nil) return true;
            slot const& t = slot_at(list.tail);
            return t.next == nil && t.record.state == state;
        } else {
            return true;
        }
    }
    /// All four ends: what a waiter checks.
    bool lists_sound() const noexcept {
        auto const sound = [&](slot_list const& list, slot_state state) {
            return ends_sound(list) && (list.head == nil || (front_sound(list, state) && back_sound(list, state)));
        };
        return sound(ctl().free, slot_free) && sound(ctl().ready, slot_ready);
    }
    /// A list is not sound: records what is wrong with it (the channel is corrupt from now on).
    [[gnu::cold, gnu::noinline]] status found_list_fault() const {
        if constexpr (crash_safe) {
            std::string fault = fault_in_lists();
            // Only a peer writing while this process holds the lock can make the second look differ.
            mem_.found_corrupt(fault.empty() ? "the lists changed while this process held the lock" : std::move(fault));
        }
        return status::corrupt;
    }
    /// What lists_sound() found wrong, as a message; "" if all is well.
    std::string fault_in_lists() const {
        if (std::string fault = fault_in_list(ctl().free, "free", slot_free); !fault.empty()) return fault;
        return fault_in_list(ctl().ready, "ready", slot_ready);
    }
    /// fault_in_lists() for one list, whose slots must all be in `state`.
    std::string fault_in_list(slot_list const& list, char const* name, slot_state state) const {
        std::size_t const n = mem_.capacity();
        auto const in_bounds = [n](std::uint32_t i) { return i == nil || i < n; };
        // Strings only on a fault: this runs in every critical section in shared memory.
        auto const fault = [name](char const* before, char const* after, auto value) {
            return std::string{before} + name + after + std::to_string(value);
        };
        auto const wrong_state = [name](char const* end, std::uint32_t found) {
            return std::string{"the "} + name + " list's " + end + " slot is not " + name + ": state " +
                   std::to_string(found);
        };
        if (!in_bounds(list.head)) return fault("", " list head out of bounds: ", list.head);
        if (!in_bounds(list.tail)) return fault("", " list tail out of bounds: ", list.tail);
        if (list.count > n) return fault("", " count beyond the capacity: ", list.count);
        if ((list.head == nil) != (list.count == 0) || (list.head == nil) != (list.tail == nil))
            return fault("", " list ends and count disagree: count ", list.count) + ", head " +
                   std::to_string(list.head) + ", tail " + std::to_string(list.tail);
        if (list.head == nil) return {};
        slot const& h = slot_at(list.head);
        if (!in_bounds(h.next)) return fault("a ", " slot links out of bounds: ", h.next);
        if (h.record.state != state) return wrong_state("head", h.record.state);
        slot const& t = slot_at(list.tail);
        if (t.next != nil) return fault("the ", " list's tail links on to ", t.next);
        if (t.record.state != state) return wrong_state("tail", t.record.state);
        return {};
    }
    slot const& slot_at(std::uint32_t i) const noexcept { return const_cast<region_type&>(mem_).slot(i); }

    void hold(slot& s, slot_state st) {
        if constexpr (crash_safe) {
            s.record.holder = Storage::process_id();
            std::atomic_signal_fence(std::memory_order_seq_cst); // crash order: holder before state
            s.record.state = st;
        }
    }

    /// Recomputes both lists and the counts from the crash records (under the lock).
    void rebuild() {
        if constexpr (crash_safe) {
            ++ctl().repairs;
            std::size_t const n = mem_.capacity();
            std::vector<std::uint32_t> queued;
            ctl().free = {};
            for (std::size_t k = 0; k < n; ++k) {
                auto const i = static_cast<std::uint32_t>(k);
                crash_record& r = mem_.slot(i).record;
                if (r.state > slot_reading) {
                    mem_.found_corrupt("slot " + std::to_string(i) + "'s crash record has state " +
                                       std::to_string(r.state));
                    return;
                }
                bool const held = (r.state == slot_writing || r.state == slot_reading) && r.holder != 0 &&
                                  Storage::process_alive(r.holder);
                if (r.state == slot_ready) {
                    queued.push_back(i);
                    if (r.seq >= ctl().published) ctl().published = r.seq + 1; // died before counting it
                } else if (!held) {
                    push_free(i);
                }
            }
            std::sort(queued.begin(), queued.end(), [&](std::uint32_t a, std::uint32_t b) {
                return mem_.slot(a).record.seq < mem_.slot(b).record.seq;
            });
            ctl().ready = {};
            for (std::uint32_t i : queued) push_back(ctl().ready, i);
        }
    }

    void link_free(std::size_t first, std::size_t last) {
        for (std::size_t i = first; i < last; ++i) push_free(static_cast<std::uint32_t>(i));
    }
    void push_free(std::uint32_t i) {
        if constexpr (crash_safe) {
            // A freed slot that is still linked from nowhere is harmless: rebuild() reads state.
            mem_.slot(i).record.state = slot_free;
            mem_.slot(i).record.holder = 0;
        }
        push_back(ctl().free, i);
    }
    void push_back(slot_list& list, std::uint32_t i) {
        mem_.slot(i).next = nil;
        if (list.tail == nil) {
            list.head = i;
        } else {
            mem_.slot(list.tail).next = i;
        }
        list.tail = i;
        ++list.count;
    }
    /// Unlinks the head of a list that is not empty.
    std::uint32_t pop_front(slot_list& list) {
        std::uint32_t const i = list.head;
        list.head = mem_.slot(i).next;
        if (list.head == nil) list.tail = nil;
        --list.count;
        return i;
    }
    void give_back(std::uint32_t i, bool still_locked) {
        {
            lock_type lock = relocked(still_locked);
            if (corrupt()) return;
            if (!back_sound(ctl().free, slot_free)) [[unlikely]] {
                found_list_fault();
                return;
            }
            push_free(i);
        }
        ctl().writable.notify_one();
    }

    template <class Pred>
    bool wait(lock_type& lock, typename Storage::condition_type& cv, deadline d, Pred can_go, waiter_pace pace) const {
        // The condition re-locks by itself: check (or repair) there too before the predicate reads.
        auto ready = [&] {
            if constexpr (crash_safe) check_after_lock();
            return can_go();
        };
        if (ready()) return true;
        if (d.is_poll()) return false;
        if constexpr (crash_safe) {
            // A peer that corrupts the segment need not notify: wake now and then to look,
            // at the header and at all four list ends (a waiter may follow none for long).
            return storage::detail::wait_in_slices(
                d,
                [&] {
                    if (!corrupt() && !lists_sound()) [[unlikely]]
                        found_list_fault();
                    return const_cast<region_type&>(mem_).header_intact();
                },
                [&](deadline slice) { return wait_until(cv, lock, slice.when(), ready, pace); });
        }
        if (d.is_forever()) {
            if constexpr (requires { cv.wait(lock, ready, pace); }) {
                cv.wait(lock, ready, pace);
            } else {
                cv.wait(lock, ready);
            }
            return true;
        }
        return wait_until(cv, lock, d.when(), ready, pace);
    }
    /// The condition's wait_until, with the pace where the storage's condition takes one
    /// (spinning_condition does; a storage of the user's own may bring any condition variable).
    template <class Pred>
    static bool wait_until(typename Storage::condition_type& cv, lock_type& lock, deadline::clock::time_point until,
                           Pred ready, waiter_pace pace) {
        if constexpr (requires { cv.wait_until(lock, until, ready, pace); }) {
            return cv.wait_until(lock, until, ready, pace);
        } else {
            return cv.wait_until(lock, until, ready);
        }
    }

    mutable region_type mem_;
};

} // namespace polychan::sync
