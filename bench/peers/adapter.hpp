// polychan bench — how a peer queue is driven exactly like a channel: push, pop, end_stream.
// Peers have no close(), so end_stream() sends one end-of-stream item per consumer.
#pragma once

#include "../harness.hpp"

#include <cstddef>
#include <string_view>

namespace polychan_bench {

/// A peer whose calls never block (`bool try_push(const T&)`, `bool try_pop(T&)`): every
/// waiting is the shared spin-then-yield back-off, the same for every such peer.
template <class Impl>
class spinning_peer {
  public:
    using value_type = typename Impl::value_type;
    static constexpr std::string_view name = Impl::name;
    static constexpr bool multi = Impl::multi;

    explicit spinning_peer(std::size_t capacity) : q_{capacity} {}

    void push(value_type const& v) {
        for (backoff b; !q_.try_push(v);) b.pause();
    }
    bool pop(value_type& v) {
        for (backoff b; !q_.try_pop(v);) b.pause();
        return v.seq != end_of_stream;
    }
    void end_stream(int consumers) {
        value_type end{};
        end.seq = end_of_stream;
        for (int i = 0; i < consumers; ++i) push(end);
    }

  private:
    Impl q_;
};

/// A peer with its own blocking calls (`void push(const T&)`, `void pop(T&)`).
template <class Impl>
class blocking_peer {
  public:
    using value_type = typename Impl::value_type;
    static constexpr std::string_view name = Impl::name;
    static constexpr bool multi = Impl::multi;

    explicit blocking_peer(std::size_t capacity) : q_{capacity} {}

    void push(value_type const& v) { q_.push(v); }
    bool pop(value_type& v) {
        q_.pop(v);
        return v.seq != end_of_stream;
    }
    void end_stream(int consumers) {
        value_type end{};
        end.seq = end_of_stream;
        for (int i = 0; i < consumers; ++i) q_.push(end);
    }

  private:
    Impl q_;
};

} // namespace polychan_bench
