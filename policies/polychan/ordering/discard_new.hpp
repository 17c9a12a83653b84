// polychan — ordering `discard_new`: when full, the incoming item is dropped (the write
// returns status::discarded and the discard counter grows). Writers never wait; reads are FIFO.
#pragma once

#include <polychan/ordering/detail/claim_loops.hpp>

#include <string_view>

namespace polychan::ordering {

struct discard_new {
    static constexpr std::string_view name = "discard_new";

    template <class Core>
    static auto claim_write(Core& core, deadline /*writers never wait*/) {
        return detail::claim_write_or_drop(core);
    }
    template <class Core>
    static auto claim_read(Core& core, deadline d) {
        return detail::claim_read_oldest(core, d);
    }
};

} // namespace polychan::ordering
