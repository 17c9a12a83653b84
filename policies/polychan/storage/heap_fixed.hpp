// polychan — storage `heap_fixed<N>`: N slots inline in the channel object. No allocation at
// all, so a channel can live on the stack, in a static, or inside another object.
#pragma once

#include <polychan/storage/detail/heap_primitives.hpp>

#include <array>
#include <cstddef>
#include <string_view>

namespace polychan::storage {

template <std::size_t N>
struct heap_fixed : detail::heap_primitives {
    static_assert(N >= 1, "polychan: heap_fixed<N> needs N >= 1");
    static_assert(N <= 0xFFFF'FFFEu, "polychan: heap_fixed<N> capacity exceeds 2^32 - 2 slots");

    static constexpr std::string_view name = "heap_fixed";
    static constexpr bool unbounded = false;

    template <class Slot, class Control>
    class region {
      public:
        region() = default;

        Slot& slot(std::size_t i) noexcept { return slots_[i]; }
        Control& control() noexcept { return control_; }
        static constexpr std::size_t capacity() noexcept { return N; }

      private:
        std::array<Slot, N> slots_{};
        Control control_{};
    };
};

} // namespace polychan::storage
