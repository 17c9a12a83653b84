// polychan — storage `heap`: a slot array allocated once, with the capacity given at run time.
#pragma once

#include <polychan/storage/detail/heap_primitives.hpp>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace polychan::storage {

/// Storage: `capacity` slots allocated once at construction; in-process primitives.
struct heap : detail::heap_primitives {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "heap";
    /// A fixed number of slots.
    static constexpr bool unbounded = false;

    /// The memory of one channel: the slot array and the sync policy's control block.
    template <class Slot, class Control>
    class region {
      public:
        /// `capacity` slots, allocated here and never moved.
        explicit region(std::size_t capacity) : capacity_{checked(capacity)}, slots_{new Slot[capacity_]} {}

        /// Slot `i`, 0 <= i < capacity().
        Slot& slot(std::size_t i) noexcept { return slots_[i]; }
        /// The sync policy's control block.
        Control& control() noexcept { return control_; }
        /// The number of slots.
        std::size_t capacity() const noexcept { return capacity_; }

      private:
        static std::size_t checked(std::size_t capacity) {
            if (capacity == 0) throw std::invalid_argument("polychan: heap storage needs a capacity of at least 1");
            if (capacity > max_capacity)
                throw std::invalid_argument("polychan: heap storage capacity exceeds 2^32 - 2 slots");
            return capacity;
        }
        static constexpr std::size_t max_capacity = 0xFFFF'FFFEu;

        std::size_t capacity_;
        std::unique_ptr<Slot[]> slots_;
        Control control_{};
    };
};

} // namespace polychan::storage
