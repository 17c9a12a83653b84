// polychan — ordering `always_last`: a conflating "latest value" channel. Writers never wait
// for readers (the oldest item is evicted when full); a read returns the newest item and
// discards the older ones, so no reader ever gets an older item after a newer one.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

/// Ordering: a "latest value" channel; writes evict like discard_old, reads return the newest item.
struct always_last {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "always_last";
    /// Full: the writer asks the core to evict the oldest item.
    static constexpr bool evicts_for_writer = true;

    /// Claims a slot, evicting the oldest ready item when full (as discard_old).
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_evicting(core, d);
    }
    /// Discards (and counts) every ready item but the newest, and claims the newest.
    template <class Core>
    POLYCHAN_HOT_PATH static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_newest(core, d);
    }
};

} // namespace polychan::ordering
