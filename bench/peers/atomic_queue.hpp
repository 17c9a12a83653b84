// polychan bench — peer atomic_queue (Maxim Egorushkin), header-only: AtomicQueueB2 (runtime
// capacity, any T), in its SPSC mode for one-to-one jobs and MPMC mode otherwise.
#pragma once

#include "adapter.hpp"

#include <atomic_queue/atomic_queue.h>

#include <memory>

namespace polychan_bench {

template <class T, bool Spsc>
struct atomic_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "atomic_queue.AtomicQueueB2";
    static constexpr bool multi = !Spsc;

    explicit atomic_queue_impl(std::size_t capacity) : q{static_cast<unsigned>(capacity)} {}
    POLYCHAN_BENCH_INLINE bool try_push(T const& v) { return q.try_push(v); }
    POLYCHAN_BENCH_INLINE bool try_pop(T& v) { return q.try_pop(v); }

    atomic_queue::AtomicQueueB2<T, std::allocator<T>, /*MAXIMIZE_THROUGHPUT*/ true, /*TOTAL_ORDER*/ false, Spsc> q;
};

template <class T>
using atomic_queue_spsc = spinning_peer<atomic_queue_impl<T, true>>;
template <class T>
using atomic_queue_mpmc = spinning_peer<atomic_queue_impl<T, false>>;

} // namespace polychan_bench
