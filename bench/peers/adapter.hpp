// polychan bench — how a peer queue is driven exactly like a channel: push, pop and the end
// of the stream. Peers have no close(), so the end is one end-of-stream item per consumer.
//
// With several producers, each producer sends its share of those items after its own last
// item (never the coordinator after all of them): queues such as moodycamel::ConcurrentQueue
// are FIFO per producer only, so an end-of-stream item sent by another thread could overtake
// items still queued, and a consumer would stop early. Once every end-of-stream item is
// taken, every producer's items before it were taken too.
#pragma once

#include "../harness.hpp"

#include <cstddef>
#include <string_view>

namespace polychan_bench {

/// The end of the stream for peers, written once for both adapters below.
template <class Derived>
class ends_with_items {
  public:
    /// Single producer: the end of the stream for `consumers` consumers.
    void end_stream(int consumers) { producer_done(0, 1, consumers); }
    /// Called by producer `producer` of `producers` after its last item.
    void producer_done(int producer, int producers, int consumers) {
        typename Derived::value_type end{};
        end.seq = end_of_stream;
        for (int c = producer; c < consumers; c += producers) static_cast<Derived*>(this)->push(end);
    }
    /// Called once every producer is done: nothing left to do for a peer.
    void all_producers_done() {}
};

/// A peer whose calls never block (`bool try_push(const T&)`, `bool try_pop(T&)`): every
/// waiting is the shared spin-then-yield back-off, the same for every such peer.
template <class Impl>
class spinning_peer : public ends_with_items<spinning_peer<Impl>> {
  public:
    using value_type = typename Impl::value_type;
    static constexpr std::string_view name = Impl::name;
    static constexpr bool multi = Impl::multi;

    explicit spinning_peer(std::size_t capacity) : q_{capacity} {}

    POLYCHAN_BENCH_INLINE void push(value_type const& v) {
        for (backoff b; !q_.try_push(v);) b.pause();
    }
    POLYCHAN_BENCH_INLINE bool pop(value_type& v) {
        for (backoff b; !q_.try_pop(v);) b.pause();
        return v.seq != end_of_stream;
    }

  private:
    Impl q_;
};

/// A peer with its own blocking calls (`void push(const T&)`, `void pop(T&)`).
template <class Impl>
class blocking_peer : public ends_with_items<blocking_peer<Impl>> {
  public:
    using value_type = typename Impl::value_type;
    static constexpr std::string_view name = Impl::name;
    static constexpr bool multi = Impl::multi;

    explicit blocking_peer(std::size_t capacity) : q_{capacity} {}

    POLYCHAN_BENCH_INLINE void push(value_type const& v) { q_.push(v); }
    POLYCHAN_BENCH_INLINE bool pop(value_type& v) {
        q_.pop(v);
        return v.seq != end_of_stream;
    }

  private:
    Impl q_;
};

} // namespace polychan_bench
