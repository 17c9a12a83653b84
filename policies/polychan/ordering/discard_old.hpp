// polychan — ordering `discard_old`: when full, the oldest ready item is evicted (and counted)
// to make room, so the channel always holds the newest items. Reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

/// Ordering: a write to a full channel evicts (and counts) the oldest ready item; reads are FIFO.
struct discard_old {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "discard_old";
    /// Full: the writer asks the core to evict the oldest item.
    static constexpr bool evicts_for_writer = true;

    /// Claims a slot, evicting the oldest ready item when full; waits (until `d`) only when
    /// every slot is held by a transaction.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_evicting(core, d);
    }
    /// Claims the oldest ready item, waiting until `d`: ok, closed, empty (poll) or timeout.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
