// polychan — ordering `discard_old`: when full, the oldest ready item is evicted (and counted)
// to make room, so the channel always holds the newest items. Reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

struct discard_old {
    static constexpr std::string_view name = "discard_old";

    template <class Core>
    static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_evicting(core, d);
    }
    template <class Core>
    static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
