// polychan — channel<T, Storage, Ordering, Sync>: the public API over three composed policies.
#pragma once

#include <polychan/concepts.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/hot_path.hpp>
#include <polychan/detail/one_op_core.hpp>
#include <polychan/status.hpp>
#include <polychan/transaction.hpp>

// The defaults of channel's policy parameters.
#include <polychan/ordering/block.hpp>
#include <polychan/storage/heap.hpp>
#include <polychan/sync/mutex.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

namespace polychan {

/// Items a channel can carry: destructible objects that can be moved out of a slot.
template <class T>
concept channel_item = std::is_object_v<T> && std::is_nothrow_destructible_v<T> && std::move_constructible<T>;

/// A channel composed of a storage, an ordering and a sync policy.
///
///     polychan::channel<int, storage::heap, ordering::discard_old, sync::mutex> ch{64};
///     ch.write(1);
///     int v; ch.read(v);
template <channel_item T, storage_policy Storage = storage::heap, ordering_policy Ordering = ordering::block,
          sync_policy Sync = sync::mutex>
class channel {
    static_assert(!Storage::unbounded || Sync::supports_unbounded,
                  "polychan: this sync policy does not support an unbounded storage policy "
                  "(heap_unbounded); pick a bounded storage or the mutex sync policy");
    static_assert(sync_supports_ordering<Sync, Ordering>(),
                  "polychan: this sync policy does not implement this ordering policy");

  public:
    /// The item type and the three policies this channel is composed of.
    using value_type = T;
    using storage_type = Storage;
    using ordering_type = Ordering;
    using sync_type = Sync;
    /// The sync policy's implementation of the slot protocol for this storage (and ordering,
    /// where the policy uses it: sync_core_for).
    using core_type = typename sync_core_for<Sync, T, Storage, Ordering>::type;
    static_assert(sync_core<core_type>, "polychan: Sync::core<T, Storage> does not implement the sync protocol");

    /// What begin_write() and its forms return: a claimed write slot (see transaction.hpp).
    using write_transaction = polychan::write_transaction<core_type>;
    /// What begin_read() and its forms return: a claimed read slot.
    using read_transaction = polychan::read_transaction<core_type>;

    /// Arguments go to the storage: a capacity for `heap`, nothing for `heap_fixed<N>`, an
    /// optional initial slot count for `heap_unbounded`.
    template <class... Args>
    requires std::constructible_from<core_type, Args...>
    explicit channel(Args&&... args) : core_(std::forward<Args>(args)...) {}
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    // ---- writing ---------------------------------------------------------------------
    // Every write form takes the item by forwarding reference and constructs it in its slot
    // only once a slot is claimed: a write that ends full, discarded, timeout, or closed
    // because the channel was already closed leaves the caller's item untouched (a move-only
    // item is not consumed). One race remains: close() between claim and publish returns
    // closed after the item was moved into its slot; the item is then destroyed, not delivered.

    /// Writes per the ordering: `block` waits while full. ok, closed or discarded.
    template <class U = T>
    requires std::constructible_from<T, U&&> POLYCHAN_HOT_PATH status write(U&& v) {
        return put(deadline::forever(), std::forward<U>(v));
    }
    /// Constructs the item in its slot from `args`.
    template <class... Args>
    requires std::constructible_from<T, Args&&...> POLYCHAN_HOT_PATH status emplace(Args&&... args) {
        return put(deadline::forever(), std::forward<Args>(args)...);
    }
    /// Never waits: full instead of waiting (block), discarded (discard_new).
    template <class U = T>
    requires std::constructible_from<T, U&&> POLYCHAN_HOT_PATH status try_write(U&& v) {
        return put(deadline::poll(), std::forward<U>(v));
    }
    /// Waits at most `d` for room: ok, closed, discarded or timeout.
    template <class U = T, class Rep, class Period>
    requires std::constructible_from<T, U&&> POLYCHAN_HOT_PATH status write_for(U&& v,
                                                                                std::chrono::duration<Rep, Period> d) {
        return put(deadline::after(d), std::forward<U>(v));
    }
    /// Waits until `t` (any clock) for room: ok, closed, discarded or timeout.
    template <class U = T, class Clock, class Duration>
    requires std::constructible_from<T, U&&>
        POLYCHAN_HOT_PATH status write_until(U&& v, std::chrono::time_point<Clock, Duration> t) {
        return put(deadline::at(t), std::forward<U>(v));
    }

    // ---- reading ---------------------------------------------------------------------
    /// Waits for an item; false once the channel is closed and drained.
    POLYCHAN_HOT_PATH bool read(T& out) { return get(deadline::forever(), out) == status::ok; }
    /// Waits for an item; nullopt once the channel is closed and drained.
    POLYCHAN_HOT_PATH std::optional<T> read() {
        std::optional<T> out;
        take(deadline::forever(), [&](T& item) POLYCHAN_HOT_LAMBDA { out.emplace(std::move(item)); });
        return out;
    }
    /// Never waits: ok, empty or closed.
    POLYCHAN_HOT_PATH status try_read(T& out) { return get(deadline::poll(), out); }
    /// Waits at most `d` for an item: ok, timeout, or closed once closed and drained.
    template <class Rep, class Period>
    POLYCHAN_HOT_PATH status read_for(T& out, std::chrono::duration<Rep, Period> d) {
        return get(deadline::after(d), out);
    }
    /// Waits until `t` (any clock) for an item: ok, timeout, or closed once closed and drained.
    template <class Clock, class Duration>
    POLYCHAN_HOT_PATH status read_until(T& out, std::chrono::time_point<Clock, Duration> t) {
        return get(deadline::at(t), out);
    }

    // ---- transactions ----------------------------------------------------------------
    /// Claims a slot per the ordering and constructs the item in it from `args` (default-
    /// initialised when there are none). Check the result before use: it holds no slot when
    /// the channel is closed or the item was discarded.
    template <class... Args>
    write_transaction begin_write(Args&&... args) {
        return begin_write_until(deadline::forever(), std::forward<Args>(args)...);
    }
    /// begin_write() that never waits: holds no slot if full (block), discarded (discard_new), closed.
    template <class... Args>
    write_transaction try_begin_write(Args&&... args) {
        return begin_write_until(deadline::poll(), std::forward<Args>(args)...);
    }
    /// begin_write() that waits at most `d` for a slot; status() says timeout if none came.
    template <class Rep, class Period, class... Args>
    write_transaction begin_write_for(std::chrono::duration<Rep, Period> d, Args&&... args) {
        return begin_write_until(deadline::after(d), std::forward<Args>(args)...);
    }
    /// Claims the next item (per the ordering) to use in place; released when the transaction ends.
    /// Holds no slot once the channel is closed and drained.
    read_transaction begin_read() { return begin_read_until(deadline::forever()); }
    /// begin_read() that never waits: holds no slot if empty or closed and drained.
    read_transaction try_begin_read() { return begin_read_until(deadline::poll()); }
    /// begin_read() that waits at most `d`; status() says timeout if nothing came.
    template <class Rep, class Period>
    read_transaction begin_read_for(std::chrono::duration<Rep, Period> d) {
        return begin_read_until(deadline::after(d));
    }

    // ---- state -----------------------------------------------------------------------
    /// Go semantics: later writes return closed, readers drain what is left and then get
    /// closed, and every blocked reader and writer wakes.
    void close() { core_.close(); }
    /// Whether close() was called (items may still be waiting to be read).
    bool is_closed() const { return core_.is_closed(); }
    /// Items published and not yet claimed by a reader.
    std::size_t ready_size() const { return core_.ready_size(); }
    /// Slots neither holding an item nor held by a transaction (unbounded_capacity if unbounded).
    std::size_t free_size() const { return core_.free_size(); }
    /// The number of slots (unbounded_capacity for an unbounded storage).
    std::size_t capacity() const { return core_.capacity(); }
    /// No item ready to read (a snapshot).
    bool empty() const { return ready_size() == 0; }
    /// No free slot (a snapshot; never true for an unbounded storage).
    bool full() const { return free_size() == 0; }
    /// Items dropped by the ordering: incoming ones (discard_new) or evicted ones
    /// (discard_old, always_last).
    std::uint64_t discarded_count() const { return core_.discarded(); }

    // ---- range-for: reads until closed and drained -----------------------------------
    /// Input iterator for range-for: each step reads one item, as read() does; equals end()
    /// once the channel is closed and drained.
    class iterator {
      public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(channel* ch) : ch_{ch} { ++*this; }
        T& operator*() const { return const_cast<T&>(*current_); }
        T* operator->() const { return &**this; }
        iterator& operator++() {
            current_ = ch_->read();
            if (!current_) ch_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return it.ch_ == nullptr; }

      private:
        channel* ch_ = nullptr;
        std::optional<T> current_;
    };
    /// Reads the first item (waiting for it), for range-for.
    iterator begin() { return iterator{this}; }
    /// The end of a range-for: reached when the channel is closed and drained.
    std::default_sentinel_t end() noexcept { return {}; }

    /// The sync core, for verification and for tools that drive the protocol directly.
    core_type& core() noexcept { return core_; }

  private:
    // write() and read(): a core that can keep its lock from the claim to the publish or
    // release right after it, or leave such a claim unmarked, is asked to (one_op_core.hpp);
    // transactions never are.
    template <class Claim>
    POLYCHAN_HOT_PATH auto claim_for_one_op(deadline d, Claim claim) {
        if constexpr (detail::claims_for_one_op<core_type>) {
            detail::one_op_core<core_type> one{core_};
            return claim(one, d);
        } else {
            return claim(core_, d);
        }
    }

    template <class... Args>
    POLYCHAN_HOT_PATH status put(deadline d, Args&&... args) {
        auto c = claim_for_one_op(d, [](auto& core, deadline dd)
                                         POLYCHAN_HOT_LAMBDA { return Ordering::claim_write(core, dd); });
        if (!c.ok()) return c.result;
        try {
            core_.payload(c.ticket).construct(std::forward<Args>(args)...);
        } catch (...) {
            detail::cancel_one_op(core_, c.ticket); // the slot goes back; the channel stays as it was
            throw;
        }
        return detail::publish_one_op(core_, c.ticket);
    }

    template <class Use>
    POLYCHAN_HOT_PATH status take(deadline d, Use use) {
        auto c = claim_for_one_op(d, [](auto& core, deadline dd)
                                         POLYCHAN_HOT_LAMBDA { return Ordering::claim_read(core, dd); });
        if (!c.ok()) return c.result;
        detail::one_op_read<core_type> held{core_, c.ticket}; // destroys and releases, even if `use` throws
        use(held.item());
        return status::ok;
    }
    POLYCHAN_HOT_PATH status get(deadline d, T& out) {
        return take(d, [&](T& item) POLYCHAN_HOT_LAMBDA { out = std::move(item); });
    }

    template <class... Args>
    write_transaction begin_write_until(deadline d, Args&&... args) {
        auto c = Ordering::claim_write(core_, d);
        if (!c.ok()) return write_transaction{nullptr, {}, c.result};
        try {
            core_.payload(c.ticket).construct(std::forward<Args>(args)...);
        } catch (...) {
            core_.cancel(c.ticket);
            throw;
        }
        return write_transaction{&core_, c.ticket, status::ok};
    }
    read_transaction begin_read_until(deadline d) {
        auto c = Ordering::claim_read(core_, d);
        return read_transaction{c.ok() ? &core_ : nullptr, c.ticket, c.result};
    }

    core_type core_;
};

} // namespace polychan
