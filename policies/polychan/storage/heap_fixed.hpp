// polychan — storage `heap_fixed<N>`: N slots inline in the channel object. No allocation at
// all, so a channel can live on the stack, in a static, or inside another object.
#pragma once

#include <polychan/storage/detail/heap_primitives.hpp>

#include <array>
#include <cstddef>
#include <string_view>

namespace polychan::storage {

/// Storage: N slots inline in the channel object, no allocation; in-process primitives.
template <std::size_t N>
struct heap_fixed : detail::heap_primitives {
    static_assert(N >= 1, "polychan: heap_fixed<N> needs N >= 1");
    static_assert(N <= 0xFFFF'FFFEu, "polychan: heap_fixed<N> capacity exceeds 2^32 - 2 slots");

    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "heap_fixed";
    /// A fixed number of slots.
    static constexpr bool unbounded = false;

    /// The memory of one channel: the slot array and the sync policy's control block, inline.
    template <class Slot, class Control>
    class region {
      public:
        /// Takes no arguments: the capacity is N.
        region() = default;

        /// Slot `i`, 0 <= i < N.
        Slot& slot(std::size_t i) noexcept { return slots_[i]; }
        /// The sync policy's control block.
        Control& control() noexcept { return control_; }
        /// The number of slots: N.
        static constexpr std::size_t capacity() noexcept { return N; }

      private:
        std::array<Slot, N> slots_{};
        Control control_{};
    };
};

} // namespace polychan::storage
