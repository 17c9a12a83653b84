// polychan — raw, correctly aligned room for one T whose lifetime the channel manages.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace polychan::detail {

/// Slot payload: bytes, not a T, so T needs no default constructor and a slot can sit
/// free without an object in it. The channel constructs on write and destroys on read.
template <class T>
struct payload_cell {
    alignas(T) std::byte bytes[sizeof(T)];

    /// Constructs the item from `args` (default-initialised without them); the cell must be empty.
    template <class... Args>
    T& construct(Args&&... args) {
        if constexpr (sizeof...(Args) == 0) {
            // Default-initialise: a large trivially-copyable message is not zeroed
            // before the producer fills it in place (zero-copy transactions).
            return *::new (static_cast<void*>(bytes)) T;
        } else {
            return *std::construct_at(reinterpret_cast<T*>(bytes), std::forward<Args>(args)...);
        }
    }
    /// The item; the cell must hold one.
    T& get() noexcept { return *std::launder(reinterpret_cast<T*>(bytes)); }
    /// Ends the item's lifetime; the cell is empty again.
    void destroy() noexcept { std::destroy_at(&get()); }
};

} // namespace polychan::detail
