// polychan — a 32-bit atomic that threads of different processes can sleep on.
//
// std::atomic<T>::wait/notify in libstdc++ use FUTEX_PRIVATE_FLAG (keyed by address space),
// so a notify in one process never wakes a waiter in another. This is the same idea on a
// shared futex: the word itself is the futex, nothing else lives beside it.
#pragma once

#include <polychan/storage/detail/futex.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace polychan::storage::detail {

class futex_word : public std::atomic<std::uint32_t> {
  public:
    using std::atomic<std::uint32_t>::atomic;
    using std::atomic<std::uint32_t>::operator=;

    /// Sleeps while the value is `old` (may return spuriously; re-check).
    void wait(std::uint32_t old, std::memory_order = std::memory_order_seq_cst) noexcept {
        futex::wait_until(*this, old, nullptr);
    }
    /// As wait(), giving up at `until`; false on timeout.
    bool wait_until(std::uint32_t old, std::chrono::steady_clock::time_point until) noexcept {
        return futex::wait_until(*this, old, &until);
    }
    void notify_one() noexcept { futex::wake(*this, 1); }
    void notify_all() noexcept { futex::wake_all(*this); }
};

static_assert(sizeof(futex_word) == sizeof(std::uint32_t));

} // namespace polychan::storage::detail
