// polychan — C++20 concepts for the three policy kinds and for the sync protocol
// that orderings are written against.
#pragma once

#include <polychan/claim.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/status.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace polychan {

/// capacity() and free_size() of a channel that grows without limit.
inline constexpr std::size_t unbounded_capacity = std::numeric_limits<std::size_t>::max();

/// Storage: where slots and the control block live, and the blocking primitives that work
/// in that memory. `region<Slot, Control>` is the memory itself; it is built from the
/// channel's constructor arguments (a capacity, a segment name, ...).
template <class S>
concept storage_policy = requires {
    { S::name } -> std::convertible_to<std::string_view>;
    { S::unbounded } -> std::convertible_to<bool>;
    { S::process_shared } -> std::convertible_to<bool>;
    typename S::mutex_type;
    typename S::condition_type;
};

/// The slot protocol a sync policy implements (DESIGN.md, "How the axes stay orthogonal").
/// Orderings drive a channel only through these operations.
///
///   writer:  try_claim_write -> payload().construct -> publish   (or cancel)
///   reader:  try_claim_read  -> payload().get       -> release
///   full:    wait_writable (block), count_discarded (discard_new), try_evict_oldest (discard_old)
///   empty:   wait_readable
///
/// A wait returns true when the state it waits for may have changed, false on timeout;
/// the caller then tries again, so spurious wake-ups are harmless.
template <class C>
concept sync_core = requires(C& c, const C& cc, typename C::write_ticket w, typename C::read_ticket r, deadline d,
                             wake_on why, evictor by) {
    typename C::value_type;
    { c.try_claim_write() } -> std::same_as<claim<typename C::write_ticket>>;
    { c.wait_writable(d, why) } -> std::same_as<bool>;
    { c.publish(w) } -> std::same_as<status>;
    { c.cancel(w) } -> std::same_as<void>;
    { c.try_claim_read() } -> std::same_as<claim<typename C::read_ticket>>;
    { c.wait_readable(d) } -> std::same_as<bool>;
    { c.release(r) } -> std::same_as<void>;
    { c.try_evict_oldest(by) } -> std::same_as<bool>;
    { c.count_discarded() } -> std::same_as<void>;
    { c.payload(w) } -> std::same_as<detail::payload_cell<typename C::value_type>&>;
    { c.payload(r) } -> std::same_as<detail::payload_cell<typename C::value_type>&>;
    { c.close() } -> std::same_as<void>;
    { cc.is_closed() } -> std::same_as<bool>;
    { cc.ready_size() } -> std::same_as<std::size_t>;
    { cc.free_size() } -> std::same_as<std::size_t>;
    { cc.capacity() } -> std::same_as<std::size_t>;
    { cc.discarded() } -> std::same_as<std::uint64_t>;
};

namespace detail {
/// A sync core with nothing behind it, used only to check ordering policies at compile time.
struct archetype_core {
    using value_type = int;
    struct write_ticket {};
    struct read_ticket {};
    claim<write_ticket> try_claim_write();
    bool wait_writable(deadline, wake_on);
    status publish(write_ticket);
    void cancel(write_ticket);
    claim<read_ticket> try_claim_read();
    bool wait_readable(deadline);
    void release(read_ticket);
    bool try_evict_oldest(evictor);
    void count_discarded();
    payload_cell<int>& payload(write_ticket);
    payload_cell<int>& payload(read_ticket);
    void close();
    bool is_closed() const;
    std::size_t ready_size() const;
    std::size_t free_size() const;
    std::size_t capacity() const;
    std::uint64_t discarded() const;
};
static_assert(sync_core<archetype_core>);
} // namespace detail

/// Ordering: what a write does when the channel is full, and which item a read returns.
template <class O>
concept ordering_policy = requires(detail::archetype_core& c, deadline d) {
    { O::name } -> std::convertible_to<std::string_view>;
    { O::claim_write(c, d) } -> std::same_as<claim<detail::archetype_core::write_ticket>>;
    { O::claim_read(c, d) } -> std::same_as<claim<detail::archetype_core::read_ticket>>;
};

/// Sync: how readers and writers coordinate. `core<T, Storage>` implements the slot protocol.
template <class S>
concept sync_policy = requires {
    { S::name } -> std::convertible_to<std::string_view>;
    { S::supports_unbounded } -> std::convertible_to<bool>;
    { S::single_reader } -> std::convertible_to<bool>;
    { S::single_writer } -> std::convertible_to<bool>;
};

/// Whether a sync policy can run an ordering. A sync policy may list orderings it does not
/// implement by defining `template <class O> static constexpr bool supports_ordering`.
template <class Sync, class Ordering>
constexpr bool sync_supports_ordering() {
    if constexpr (requires { Sync::template supports_ordering<Ordering>; }) {
        return Sync::template supports_ordering<Ordering>;
    } else {
        return true;
    }
}

/// Whether an ordering may ask a sync core to evict for a writer (`try_evict_oldest(evictor::writer)`,
/// as discard_old and always_last do when full). An ordering that never does declares
/// `static constexpr bool evicts_for_writer = false`; one that declares nothing may.
template <class Ordering>
constexpr bool ordering_evicts_for_writer() {
    if constexpr (requires { Ordering::evicts_for_writer; }) {
        return Ordering::evicts_for_writer;
    } else {
        return true;
    }
}

/// The core a channel of `Ordering` runs on. A sync policy whose core can drop work that only
/// writer evictions need (spsc: the reader takes items without a locked instruction) defines
/// `core<T, Storage, bool WriterEvicts>` and gets the ordering's answer; others get
/// `core<T, Storage>`.
template <class Sync, class T, class Storage, class Ordering>
struct sync_core_for {
    using type = typename Sync::template core<T, Storage>;
};
template <class Sync, class T, class Storage, class Ordering>
requires requires { typename Sync::template core<T, Storage, ordering_evicts_for_writer<Ordering>()>; }
struct sync_core_for<Sync, T, Storage, Ordering> {
    using type = typename Sync::template core<T, Storage, ordering_evicts_for_writer<Ordering>()>;
};

} // namespace polychan
