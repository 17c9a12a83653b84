// polychan bench — peer oneTBB concurrent_bounded_queue: blocking push and pop, any number of
// producers and consumers.
#pragma once

#include "adapter.hpp"

#include <tbb/concurrent_queue.h>

namespace polychan_bench {

template <class T>
struct tbb_bounded_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "tbb.concurrent_bounded_queue";
    static constexpr bool multi = true;

    explicit tbb_bounded_queue_impl(std::size_t capacity) { q.set_capacity(static_cast<std::ptrdiff_t>(capacity)); }
    POLYCHAN_BENCH_INLINE void push(T const& v) { q.push(v); }
    POLYCHAN_BENCH_INLINE void pop(T& v) { q.pop(v); }

    tbb::concurrent_bounded_queue<T> q;
};

template <class T>
using tbb_bounded_queue = blocking_peer<tbb_bounded_queue_impl<T>>;

} // namespace polychan_bench
