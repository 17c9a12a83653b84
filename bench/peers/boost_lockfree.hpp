// polychan bench — peers from Boost.Lockfree: spsc_queue (one reader, one writer) and queue
// (any number), both with the capacity fixed up front (bounded_push never allocates).
#pragma once

#include "adapter.hpp"

#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/spsc_queue.hpp>

namespace polychan_bench {

template <class T>
struct boost_spsc_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "boost.lockfree.spsc_queue";
    static constexpr bool multi = false;

    explicit boost_spsc_queue_impl(std::size_t capacity) : q{capacity} {}
    POLYCHAN_BENCH_INLINE bool try_push(T const& v) { return q.push(v); }
    POLYCHAN_BENCH_INLINE bool try_pop(T& v) { return q.pop(v); }

    boost::lockfree::spsc_queue<T> q;
};

template <class T>
struct boost_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "boost.lockfree.queue";
    static constexpr bool multi = true;

    explicit boost_queue_impl(std::size_t capacity) : q{capacity} {}
    POLYCHAN_BENCH_INLINE bool try_push(T const& v) { return q.bounded_push(v); }
    POLYCHAN_BENCH_INLINE bool try_pop(T& v) { return q.pop(v); }

    boost::lockfree::queue<T> q;
};

template <class T>
using boost_spsc_queue = spinning_peer<boost_spsc_queue_impl<T>>;
template <class T>
using boost_queue = spinning_peer<boost_queue_impl<T>>;

} // namespace polychan_bench
