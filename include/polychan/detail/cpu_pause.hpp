// polychan — one step of a busy wait: the CPU's pause hint, which lets the sibling hyperthread
// run and avoids the memory-order mis-speculation when the awaited line finally changes.
#pragma once

namespace polychan::detail {

inline void cpu_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

} // namespace polychan::detail
