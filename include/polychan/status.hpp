// polychan — result codes of channel operations.
#pragma once

#include <string_view>

namespace polychan {

/// Outcome of a channel operation that can end in something other than success.
enum class status : unsigned char {
    ok,        ///< the item was written or read
    closed,    ///< the channel is closed (for readers: closed and drained)
    timeout,   ///< the deadline passed before the operation could proceed
    full,      ///< a non-blocking write found no free slot
    empty,     ///< a non-blocking read found no ready item
    discarded, ///< the incoming item was dropped by the ordering policy (discard_new)
    corrupt,   ///< shared state failed a consistency check (cross-process channels)
};

/// Human-readable name of a status, for messages and test output.
constexpr std::string_view to_string(status s) noexcept {
    switch (s) {
    case status::ok:
        return "ok";
    case status::closed:
        return "closed";
    case status::timeout:
        return "timeout";
    case status::full:
        return "full";
    case status::empty:
        return "empty";
    case status::discarded:
        return "discarded";
    case status::corrupt:
        return "corrupt";
    }
    return "unknown";
}

} // namespace polychan
