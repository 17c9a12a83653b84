// polychan — the atomics backend every lock-free algorithm is written against.
//
// Production code names `typename Atomics::template atomic<T>` and `Atomics::fence(order)`,
// never std::atomic directly, so verify/ can instantiate the very same algorithm with a
// Relacy backend (verify/relacy_atomics.hpp) whose atomic<T> has the same member functions
// and records each access's call site for Relacy's reports.
#pragma once

#include <polychan/detail/hot_path.hpp>
#include <polychan/detail/membarrier.hpp>

#include <atomic>

namespace polychan {

/// The production backend: std::atomic, no overhead.
struct std_atomics {
    /// The atomic type lock-free code uses for shared state.
    template <class T>
    using atomic = std::atomic<T>;

    /// A stand-alone memory fence.
    static void fence(std::memory_order order) noexcept { detail::thread_fence(order); }

    /// The frequent half of an asymmetric pair (detail/membarrier.hpp): at seq_cst, a
    /// compiler barrier that orders like a seq_cst fence against heavy_fence; weaker orders
    /// (only ever a mutant in verify/) are plain fences.
    POLYCHAN_HOT_PATH static void light_fence(std::memory_order order, detail::fence_scope scope) noexcept {
        if (order == std::memory_order_seq_cst) {
            detail::light_fence(scope);
        } else {
            detail::thread_fence(order);
        }
    }
    /// The rare half: a fence every thread in `scope` takes part in.
    static void heavy_fence(std::memory_order order, detail::fence_scope scope) noexcept {
        if (order == std::memory_order_seq_cst) {
            detail::heavy_fence(scope);
        } else {
            detail::thread_fence(order);
        }
    }
};

} // namespace polychan
