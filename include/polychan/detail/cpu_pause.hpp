// polychan — busy waiting: the CPU's pause hint, and the bounded spin every waiter runs before
// it pays for a sleep.
#pragma once

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

} // namespace polychan::detail
