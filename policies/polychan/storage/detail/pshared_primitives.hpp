// polychan — the blocking primitives every shared-memory storage hands to the sync policies:
// each works between processes and survives the death of a process that was using it.
#pragma once

#include <polychan/storage/detail/futex_condition.hpp>
#include <polychan/storage/detail/futex_word.hpp>
#include <polychan/storage/detail/process_liveness.hpp>
#include <polychan/storage/detail/pshared_semaphore.hpp>
#include <polychan/storage/detail/robust_mutex.hpp>
#include <polychan/storage/detail/spinning_condition.hpp>

#include <cstddef>
#include <cstdint>

namespace polychan::storage::detail {

struct pshared_primitives {
    static constexpr bool process_shared = true;
    /// Robust: a holder that dies is reported to the next locker, which repairs (sync/mutex).
    using mutex_type = robust_mutex;
    /// Futex-based, with no internal lock a dying process could leave held.
    using condition_type = spinning_condition<futex_condition>;
    template <std::ptrdiff_t LeastMaxValue>
    using counting_semaphore = pshared_semaphore<LeastMaxValue>;
    /// A 32-bit atomic that processes can sleep on (shared futex).
    using wait_word = futex_word;

    /// Who holds a slot, and whether it still lives (for reclaiming a dead process's slots).
    static std::uint32_t process_id() noexcept { return this_process_id(); }
    static bool process_alive(std::uint32_t pid) noexcept { return detail::process_alive(pid); }
};

} // namespace polychan::storage::detail
