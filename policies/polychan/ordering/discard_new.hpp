// polychan — ordering `discard_new`: when full, the incoming item is dropped (the write
// returns status::discarded and the discard counter grows). Writers never wait; reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

/// Ordering: a write to a full channel drops the incoming item (status::discarded, counted).
struct discard_new {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "discard_new";
    /// Never asks the core to evict for a writer (a core may skip what only evictions need).
    static constexpr bool evicts_for_writer = false;

    /// Claims a free slot without waiting: ok, closed, or discarded (counted) when full.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_write(Core& core, deadline /*writers never wait*/) {
        return detail::claim_write_or_drop(core);
    }
    /// Claims the oldest ready item, waiting until `d`: ok, closed, empty (poll) or timeout.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
