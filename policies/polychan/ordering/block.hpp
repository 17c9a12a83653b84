// polychan — ordering `block`: a full channel makes writers wait (back-pressure, like a Go
// channel or Python's Queue.put). Reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

/// Ordering: a full channel makes writers wait; reads are FIFO.
struct block {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "block";
    /// Never asks the core to evict for a writer (a core may skip what only evictions need).
    static constexpr bool evicts_for_writer = false;

    /// Claims a free slot, waiting for one until `d`: ok, closed, full (poll) or timeout.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_waiting(core, d);
    }
    /// Claims the oldest ready item, waiting until `d`: ok, closed, empty (poll) or timeout.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
