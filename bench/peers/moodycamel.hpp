// polychan bench — peers by Cameron Desrochers: ReaderWriterQueue (SPSC), its blocking
// variant, and ConcurrentQueue (MPMC). Pre-sized; only the non-allocating try_enqueue is
// used, so all of them stay bounded like every other subject.
#pragma once

#include "adapter.hpp"

#include <concurrentqueue/concurrentqueue.h>
#include <readerwriterqueue/readerwriterqueue.h>

namespace polychan_bench {

template <class T>
struct moodycamel_rwq_impl {
    using value_type = T;
    static constexpr std::string_view name = "moodycamel.ReaderWriterQueue";
    static constexpr bool multi = false;

    explicit moodycamel_rwq_impl(std::size_t capacity) : q{capacity} {}
    POLYCHAN_BENCH_INLINE bool try_push(T const& v) { return q.try_enqueue(v); }
    POLYCHAN_BENCH_INLINE bool try_pop(T& v) { return q.try_dequeue(v); }

    moodycamel::ReaderWriterQueue<T> q;
};

/// The reader sleeps on the queue's semaphore; a full queue still makes the writer spin
/// (the queue has no blocking enqueue that stays bounded).
template <class T>
struct moodycamel_blocking_rwq_impl {
    using value_type = T;
    static constexpr std::string_view name = "moodycamel.BlockingReaderWriterQueue";
    static constexpr bool multi = false;

    explicit moodycamel_blocking_rwq_impl(std::size_t capacity) : q{capacity} {}
    POLYCHAN_BENCH_INLINE void push(T const& v) {
        for (backoff b; !q.try_enqueue(v);) b.pause();
    }
    POLYCHAN_BENCH_INLINE void pop(T& v) { q.wait_dequeue(v); }

    moodycamel::BlockingReaderWriterQueue<T> q;
};

template <class T>
struct moodycamel_concurrent_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "moodycamel.ConcurrentQueue";
    static constexpr bool multi = true;

    explicit moodycamel_concurrent_queue_impl(std::size_t capacity) : q{capacity} {}
    POLYCHAN_BENCH_INLINE bool try_push(T const& v) { return q.try_enqueue(v); }
    POLYCHAN_BENCH_INLINE bool try_pop(T& v) { return q.try_dequeue(v); }

    moodycamel::ConcurrentQueue<T> q;
};

template <class T>
using moodycamel_rwq = spinning_peer<moodycamel_rwq_impl<T>>;
template <class T>
using moodycamel_blocking_rwq = blocking_peer<moodycamel_blocking_rwq_impl<T>>;
template <class T>
using moodycamel_concurrent_queue = spinning_peer<moodycamel_concurrent_queue_impl<T>>;

} // namespace polychan_bench
