// polychan — storage `heap_unbounded`: grows without limit (the original API's capacity <= 0).
// Slots come in chunks that double in size and never move, so a slot held by a transaction
// stays put while other writers grow the channel.
#pragma once

#include <polychan/storage/detail/heap_primitives.hpp>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace polychan::storage {

/// Storage: grows without limit, in chunks that double the slot count; in-process primitives.
struct heap_unbounded : detail::heap_primitives {
    /// The policy's name, for messages and test output.
    static constexpr std::string_view name = "heap_unbounded";
    /// Never full: the sync policy calls grow() instead.
    static constexpr bool unbounded = true;

    /// The memory of one channel: chunks of slots, an index table, the control block.
    template <class Slot, class Control>
    class region {
      public:
        /// Starts with `initial_slots` slots; grow() adds more.
        explicit region(std::size_t initial_slots = 16) {
            if (initial_slots == 0)
                throw std::invalid_argument("polychan: heap_unbounded needs at least 1 initial slot");
            add_chunk(initial_slots);
        }

        /// Only the sync policy's lock holder may call slot() and grow(): grow() changes the
        /// index table that slot() reads.
        Slot& slot(std::size_t i) noexcept { return *index_[i]; }
        /// The sync policy's control block.
        Control& control() noexcept { return control_; }
        /// Slots allocated so far (the channel's capacity() reports unbounded_capacity).
        std::size_t allocated() const noexcept { return index_.size(); }

        /// Doubles the slot count; returns the index range [first, last) of the new slots.
        std::pair<std::size_t, std::size_t> grow() {
            std::size_t const first = index_.size();
            if (first > max_slots / 2) throw std::length_error("polychan: heap_unbounded exceeds 2^32 - 2 slots");
            add_chunk(first);
            return {first, index_.size()};
        }

      private:
        static constexpr std::size_t max_slots = 0xFFFF'FFFEu;

        void add_chunk(std::size_t n) {
            index_.reserve(index_.size() + n);
            chunks_.push_back(std::unique_ptr<Slot[]>(new Slot[n]));
            for (std::size_t i = 0; i < n; ++i) index_.push_back(&chunks_.back()[i]);
        }

        std::vector<std::unique_ptr<Slot[]>> chunks_;
        std::vector<Slot*> index_;
        Control control_{};
    };
};

} // namespace polychan::storage
