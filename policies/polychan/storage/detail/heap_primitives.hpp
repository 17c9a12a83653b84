// polychan — the blocking primitives every in-process storage hands to the sync policies.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <semaphore>

namespace polychan::storage::detail {

/// Process-private primitives: the memory is this process's own, so the std ones fit.
struct heap_primitives {
    static constexpr bool process_shared = false;
    using mutex_type = std::mutex;
    using condition_type = std::condition_variable;
    template <std::ptrdiff_t LeastMaxValue>
    using counting_semaphore = std::counting_semaphore<LeastMaxValue>;
};

} // namespace polychan::storage::detail
