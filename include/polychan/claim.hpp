// polychan — the result of claiming a slot: a status and, on success, a ticket for the slot.
#pragma once

#include <polychan/status.hpp>

namespace polychan {

/// A slot claim returned by a sync policy. `ticket` is meaningful only when `result == ok`.
template <class Ticket>
struct claim {
    /// ok, or why no slot was granted (full, empty, closed, timeout, discarded, corrupt).
    status result = status::ok;
    /// The sync policy's handle on the claimed slot.
    Ticket ticket{};

    /// Whether a slot was granted (then `ticket` is valid).
    constexpr bool ok() const noexcept { return result == status::ok; }
};

/// Tag for a claim made by one write() or read() that publishes or releases the slot right
/// after it, never by a transaction. A core whose claims take a lock may keep it until then
/// (sync/mutex: one lock per item instead of two), and one that marks a write claim open may
/// leave it unmarked, then publishes or cancels it with `one_op` too (sync/spsc); a core
/// without these overloads is asked as for a transaction.
struct one_op_t {
    explicit one_op_t() = default;
};
inline constexpr one_op_t one_op{};

/// What a writer that found the channel full is waiting for.
enum class wake_on : unsigned char {
    free_slot,         ///< a slot was released (block)
    free_or_ready_slot ///< a slot was released or an item became evictable (discard_old)
};

/// Who evicts the oldest item: the writer making room (discard_old) or the reader skipping
/// to the newest (always_last). A single-writer single-reader core arbitrates differently
/// for each; the others may ignore it.
enum class evictor : unsigned char {
    writer, ///< a writer that found the channel full
    reader  ///< a reader that wants a newer item
};

} // namespace polychan
