// polychan — ordering `always_last`: a conflating "latest value" channel. Writers never wait
// for readers (the oldest item is evicted when full); a read returns the newest item and
// discards the older ones, so no reader ever gets an older item after a newer one.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

struct always_last {
    static constexpr std::string_view name = "always_last";

    template <class Core>
    static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_evicting(core, d);
    }
    template <class Core>
    static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_newest(core, d);
    }
};

} // namespace polychan::ordering
