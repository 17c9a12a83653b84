// polychan — the one step of the storage protocol that differs for memory shared between
// processes: shared state is initialised once, by the process that creates it.
//
// A heap region is always new, so a sync core initialises it in its constructor. A
// shared-memory region may be an existing segment that other processes are using: there the
// core must not touch the shared state on attach. Regions that can be attached say so with
// `created()` and are told `mark_initialised()` once the creator's core is done (from then
// on other processes may attach).
#pragma once

#include <concepts>

namespace polychan::storage {

/// Runs `init` (the sync core's initialisation of its shared state: free lists, counters)
/// unless the region is an existing shared segment.
template <class Region, class Init>
void initialise_shared_state(Region& region, Init&& init) {
    if constexpr (requires {
                      { region.created() } -> std::convertible_to<bool>;
                      region.mark_initialised();
                  }) {
        if (!region.created()) return;
        init();
        region.mark_initialised();
    } else {
        init();
    }
}

} // namespace polychan::storage
