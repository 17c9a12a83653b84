// polychan — busy waiting: the CPU's pause hint, and the bounded spins a waiter runs before
// it pays for a sleep (pausing, or yielding its CPU between looks).
#pragma once

#include <thread>

namespace polychan::detail {

/// One step of a busy wait: the pause hint lets the sibling hyperthread run and avoids the
/// memory-order mis-speculation when the awaited line finally changes.
inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// Asks `done()` up to `pauses` times, pausing after each no; whether it said yes.
template <class Done>
bool spin_until(unsigned pauses, Done done) {
    for (unsigned i = 0; i < pauses; ++i) {
        if (done()) return true;
        cpu_pause();
    }
    return false;
}

/// Asks `done()` up to `yields` times, yielding the CPU after each no; whether it said yes.
/// For waiters whose CPU other threads may need, and whose side should look back after the
/// other has done a batch rather than at every item (storage/detail/spinning_condition.hpp).
template <class Done>
bool yield_until(unsigned yields, Done done) {
    for (unsigned i = 0; i < yields; ++i) {
        if (done()) return true;
        std::this_thread::yield();
    }
    return false;
}

} // namespace polychan::detail
