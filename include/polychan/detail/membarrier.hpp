// polychan — asymmetric fences on Linux membarrier(2): a fast path that pays only a compiler
// barrier, paired with a slow path that pays a system call.
//
// A StoreLoad fence per item (mfence, or any locked instruction) costs a full cache-line
// round trip whenever the line just stored to is wanted by the other core, which is every
// hand-off: measured here it cuts a ring's throughput from ~40 M to ~5 M items/s. The
// pairs that need StoreLoad order (publish vs. a sleeping reader, publish vs. close) have
// one side that runs per item and one that runs rarely (before a sleep, at close). The
// frequent side issues `light`: a compiler barrier; the rare side issues `heavy`:
// membarrier(), which makes every running thread of the process (or, for shared memory,
// of every registered process) execute a full barrier before it returns. Together they
// order as two seq_cst fences would (the membarrier(2) man page; the model in verify/
// uses seq_cst fences for both).
//
// Where membarrier is unavailable (old kernel, seccomp) both sides fall back to
// seq_cst fences: correct, only slower.
#pragma once

#include <polychan/detail/hot_path.hpp>

#include <atomic>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace polychan::detail {

/// Which threads a heavy fence must reach.
enum class fence_scope : unsigned char {
    process, ///< the threads of this process (process-private storage)
    system   ///< every process registered for it (shared-memory storage)
};

/// A thread fence of order `mo`. ThreadSanitizer does not model fences (GCC refuses them
/// under -Werror=tsan), so there it is a seq_cst read-modify-write of a private word: the
/// same full barrier on the hardware, and an operation TSan understands.
inline void thread_fence(std::memory_order mo) noexcept {
#if defined(__SANITIZE_THREAD__)
    static std::atomic<unsigned> word{0};
    if (mo != std::memory_order_relaxed) word.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(mo);
#endif
}

#if defined(__linux__) && defined(__NR_membarrier)
namespace membarrier_detail {
inline long call(int cmd) noexcept { return ::syscall(__NR_membarrier, cmd, 0u, 0); }

/// Whether this process registered for a scope's heavy fences: not asked yet, or the answer.
/// Registration cannot be undone, so the first answer stands.
enum class registration : unsigned char { unknown, registered, refused };
/// One word per scope, read by every light fence. Not a function-local static: its guard
/// check cost each fence twice the instructions of this load, and a hand-off has three fences
/// (callgrind, spsc write+read: 98 -> 91 instructions on the heap, 138 -> 122 in shared memory).
inline std::atomic<registration> registrations[2]{};

/// Registers this process for `scope` (idempotent: threads that race both ask the kernel).
[[gnu::cold, gnu::noinline]] inline bool register_for(fence_scope scope) noexcept {
    int const cmd = scope == fence_scope::process ? MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
                                                  : MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
    bool const ok = call(cmd) == 0;
    // Relaxed: what a heavy fence relies on is the kernel's record, made before this store.
    registrations[static_cast<unsigned>(scope)].store(ok ? registration::registered : registration::refused,
                                                      std::memory_order_relaxed);
    return ok;
}

/// Registers this process once per scope; true if light fences may be compiler barriers.
/// Each scope registers on its first use only: a process that never uses shared memory must
/// not become a target of other processes' global membarriers.
POLYCHAN_HOT_PATH bool registered(fence_scope scope) noexcept {
    // Relaxed: a thread that reads `registered` comes after the registering system call.
    registration const r = registrations[static_cast<unsigned>(scope)].load(std::memory_order_relaxed);
    if (r == registration::registered) [[likely]]
        return true;
    return r == registration::unknown && register_for(scope);
}

/// Whether the kernel offers the heavy command of `scope`. Asked separately from this
/// process's own registration: for shared memory the light side is another process, which
/// may have registered even if this one could not (every process of a channel is assumed
/// to run under the same kernel and seccomp policy).
inline bool offered(fence_scope scope) noexcept {
    static long const commands = call(MEMBARRIER_CMD_QUERY);
    int const cmd = scope == fence_scope::process ? MEMBARRIER_CMD_PRIVATE_EXPEDITED : MEMBARRIER_CMD_GLOBAL_EXPEDITED;
    return commands > 0 && (commands & cmd) != 0;
}
} // namespace membarrier_detail

/// The frequent side: a compiler barrier when the heavy side can reach this thread.
POLYCHAN_HOT_PATH void light_fence(fence_scope scope) noexcept {
    if (membarrier_detail::registered(scope)) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
        thread_fence(std::memory_order_seq_cst);
    }
}

/// The rare side: every thread in scope executes a full barrier before this returns.
inline void heavy_fence(fence_scope scope) noexcept {
    thread_fence(std::memory_order_seq_cst);
    if (scope == fence_scope::process && !membarrier_detail::registered(scope)) return; // light = real fences
    if (!membarrier_detail::offered(scope)) return; // nobody could register: light = real fences
    int const cmd = scope == fence_scope::process ? MEMBARRIER_CMD_PRIVATE_EXPEDITED : MEMBARRIER_CMD_GLOBAL_EXPEDITED;
    // Cannot fail once offered (and registered, for the process scope); if it ever did, a
    // light side relying on it would be unprotected: stop rather than lose a wake-up.
    if (membarrier_detail::call(cmd) != 0) __builtin_trap();
}
#else
inline void light_fence(fence_scope) noexcept { thread_fence(std::memory_order_seq_cst); }
inline void heavy_fence(fence_scope) noexcept { thread_fence(std::memory_order_seq_cst); }
#endif

} // namespace polychan::detail
