// polychan — the atomics backend every lock-free algorithm is written against.
//
// Production code names `typename Atomics::template atomic<T>` and `Atomics::fence(order)`,
// never std::atomic directly, so verify/ can instantiate the very same algorithm with a
// Relacy backend (verify/relacy_atomics.hpp) whose atomic<T> has the same member functions
// and records each access's call site for Relacy's reports.
#pragma once

#include <atomic>

namespace polychan {

/// The production backend: std::atomic, no overhead.
struct std_atomics {
    /// The atomic type lock-free code uses for shared state.
    template <class T>
    using atomic = std::atomic<T>;

    /// A stand-alone memory fence.
    static void fence(std::memory_order order) noexcept { std::atomic_thread_fence(order); }
};

} // namespace polychan
