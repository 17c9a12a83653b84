// polychan — ordering `block`: a full channel makes writers wait (back-pressure, like a Go
// channel or Python's Queue.put). Reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

struct block {
    static constexpr std::string_view name = "block";

    template <class Core>
    static auto claim_write(Core& core, deadline d) {
        return detail::claim_write_waiting(core, d);
    }
    template <class Core>
    static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
