// polychan bench — every channel composition that exists, as a compile-time product
// storage x ordering x sync, filtered by what each sync policy supports.
//
// A new sync policy joins every benchmark by one line in `sync_policies` below (its header is
// picked up by __has_include, so the benchmarks build before and after it lands).
#pragma once

#include "harness.hpp"

#include <polychan/polychan.hpp>

#if __has_include(<polychan/sync/spsc.hpp>)
#include <polychan/sync/spsc.hpp>
#define POLYCHAN_BENCH_HAVE_SPSC 1
#endif
#if __has_include(<polychan/sync/semaphore.hpp>)
#include <polychan/sync/semaphore.hpp>
#define POLYCHAN_BENCH_HAVE_SEMAPHORE 1
#endif

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

namespace polychan_bench {

template <class... Ts>
struct type_list {};

template <class... Lists>
struct concat;
template <>
struct concat<> {
    using type = type_list<>;
};
template <class... As>
struct concat<type_list<As...>> {
    using type = type_list<As...>;
};
template <class... As, class... Bs, class... Rest>
struct concat<type_list<As...>, type_list<Bs...>, Rest...> {
    using type = typename concat<type_list<As..., Bs...>, Rest...>::type;
};

// ---- the three axes ------------------------------------------------------------------
using sync_policies = typename concat<type_list<polychan::sync::mutex>
#ifdef POLYCHAN_BENCH_HAVE_SPSC
                                      ,
                                      type_list<polychan::sync::spsc>
#endif
#ifdef POLYCHAN_BENCH_HAVE_SEMAPHORE
                                      ,
                                      type_list<polychan::sync::semaphore>
#endif
                                      >::type;

using ordering_policies = type_list<polychan::ordering::block, polychan::ordering::discard_new,
                                    polychan::ordering::discard_old, polychan::ordering::always_last>;

/// In-process storages; `Capacity` is the slot count of the inline one.
template <std::size_t Capacity>
using storage_policies =
    type_list<polychan::storage::heap, polychan::storage::heap_fixed<Capacity>, polychan::storage::heap_unbounded>;

/// Whether channel<T, Storage, Ordering, Sync> is a composition the sync policy accepts.
template <class Storage, class Ordering, class Sync>
constexpr bool
    composes = (!Storage::unbounded || Sync::supports_unbounded) && polychan::sync_supports_ordering<Sync, Ordering>();

/// Whether a channel type may have several readers and several writers.
template <class Channel>
constexpr bool multi_party = !Channel::sync_type::single_reader && !Channel::sync_type::single_writer;

/// "storage.ordering.sync", the subject name of a composition in every report.
template <class Channel>
std::string composition_name() {
    return std::string(Channel::storage_type::name) + "." + std::string(Channel::ordering_type::name) + "." +
           std::string(Channel::sync_type::name);
}

// ---- iteration -----------------------------------------------------------------------
// for_each_composition<T, Capacity>(f) calls f.template operator()<Channel>() once per
// composition, in the order storage, then ordering, then sync.
namespace detail {
template <class T, class Storage, class Ordering, class F, class... Syncs>
void each_sync(F& f, type_list<Syncs...>) {
    (
        [&] {
            if constexpr (composes<Storage, Ordering, Syncs>)
                f.template operator()<polychan::channel<T, Storage, Ordering, Syncs>>();
        }(),
        ...);
}
template <class T, class Storage, class F, class... Orderings>
void each_ordering(F& f, type_list<Orderings...>) {
    (each_sync<T, Storage, Orderings>(f, sync_policies{}), ...);
}
template <class T, class F, class... Storages>
void each_storage(F& f, type_list<Storages...>) {
    (each_ordering<T, Storages>(f, ordering_policies{}), ...);
}
} // namespace detail

template <class T, std::size_t Capacity, class F>
void for_each_composition(F f) {
    detail::each_storage<T>(f, storage_policies<Capacity>{});
}

/// Builds a channel with `capacity` slots (initial slots when unbounded; the inline storage
/// has its capacity in its type). On the heap: a heap_fixed channel of large items is big.
template <class Channel>
std::unique_ptr<Channel> make_channel(std::size_t capacity) {
    using region = typename Channel::storage_type::template region<char, char>;
    if constexpr (std::is_constructible_v<region, std::size_t>) {
        return std::make_unique<Channel>(capacity);
    } else {
        return std::make_unique<Channel>();
    }
}

/// A channel behind the interface the benchmark loops use for every subject.
template <class Channel>
class channel_queue {
  public:
    using value_type = typename Channel::value_type;
    static constexpr bool multi = multi_party<Channel>;

    explicit channel_queue(std::size_t capacity) : ch_{make_channel<Channel>(capacity)} {}

    POLYCHAN_BENCH_INLINE void push(value_type const& v) { ch_->write(v); }
    /// false once the channel is closed and drained.
    POLYCHAN_BENCH_INLINE bool pop(value_type& v) { return ch_->read(v); }
    /// Go semantics: close() once every producer is done; consumers drain, then stop.
    void end_stream(int /*consumers*/) { ch_->close(); }
    void producer_done(int /*producer*/, int /*producers*/, int /*consumers*/) {}
    void all_producers_done() { ch_->close(); }
    Channel& channel() { return *ch_; }

  private:
    std::unique_ptr<Channel> ch_;
};

} // namespace polychan_bench
