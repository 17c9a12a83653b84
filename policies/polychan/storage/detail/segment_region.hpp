// polychan — the `region<Slot, Control>` of the shared-memory storages: a view of a
// segment's control block and slot array, placed after the segment header.
#pragma once

#include <polychan/storage/detail/segment.hpp>

#include <cstddef>
#include <new>
#include <type_traits>

namespace polychan::storage::detail {

template <class Slot, class Control>
class segment_region {
    static_assert(std::is_trivially_destructible_v<Slot>,
                  "polychan: a slot in shared memory must be trivially destructible: no process owns its items");

  public:
    /// Attaches `seg` (creating or opening it per its request). On create, the control block
    /// is value-initialised and the slots default-initialised here, once, by the creator.
    explicit segment_region(segment& seg) : seg_{seg} {
        seg_.attach(memory_layout{sizeof(Slot), alignof(Slot), sizeof(Control), alignof(Control)});
        std::byte* const base = seg_.base();
        capacity_ = seg_.capacity();
        if (seg_.created()) {
            control_ = ::new (static_cast<void*>(base + seg_.control_offset())) Control{};
            slots_ = reinterpret_cast<Slot*>(base + seg_.slots_offset());
            for (std::size_t i = 0; i < capacity_; ++i) ::new (static_cast<void*>(slots_ + i)) Slot;
        } else {
            control_ = std::launder(reinterpret_cast<Control*>(base + seg_.control_offset()));
            slots_ = std::launder(reinterpret_cast<Slot*>(base + seg_.slots_offset()));
        }
    }
    segment_region(const segment_region&) = delete;
    segment_region& operator=(const segment_region&) = delete;

    Slot& slot(std::size_t i) noexcept { return slots_[i]; }
    Control& control() noexcept { return *control_; }
    std::size_t capacity() const noexcept { return capacity_; }

    /// Shared-state protocol (see storage/detail/shared_state.hpp): the sync core initialises
    /// its shared state only if this process created the segment, then marks it ready.
    bool created() const noexcept { return seg_.created(); }
    void mark_initialised() noexcept { seg_.mark_initialised(); }

  private:
    segment& seg_;
    Control* control_ = nullptr;
    Slot* slots_ = nullptr;
    std::size_t capacity_ = 0;
};

} // namespace polychan::storage::detail
