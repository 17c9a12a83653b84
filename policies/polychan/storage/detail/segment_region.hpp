// polychan — the `region<Slot, Control>` of the shared-memory storages: a view of a
// segment's control block and slot array, placed after the segment header.
#pragma once

#include <polychan/detail/hot_path.hpp>
#include <polychan/storage/detail/integrity.hpp>
#include <polychan/storage/detail/segment.hpp>

#include <cstddef>
#include <new>
#include <string>
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

    /// Slot `i`. An index read from shared memory is untrusted and the sync cores check it
    /// first; this is the backstop (one compare): a bad index marks the segment corrupt and
    /// yields slot 0, so that no access leaves the segment. Forced inline with control(): both
    /// sit on every item's path, and in bench_ipc's peer process, whose main GCC had already
    /// grown large, slot() stayed a call (perf, near placement).
    POLYCHAN_HOT_PATH Slot& slot(std::size_t i) noexcept {
        if (i < capacity_) [[likely]]
            return slots_[i];
        out_of_bounds(i);
        return slots_[0];
    }
    POLYCHAN_HOT_PATH Control& control() noexcept { return *control_; }
    std::size_t capacity() const noexcept { return capacity_; }

    /// Shared-state protocol (see storage/detail/shared_state.hpp): the sync core initialises
    /// its shared state only if this process created the segment, then marks it ready.
    bool created() const noexcept { return seg_.created(); }
    void mark_initialised() noexcept { seg_.mark_initialised(); }

    /// Integrity (storage/detail/integrity.hpp). Whether this process found the segment corrupt.
    bool corrupt() const noexcept { return fault_.found(); }
    /// Records a fault the sync core found (the first one is kept).
    void found_corrupt(std::string what) { fault_.record(std::move(what)); }
    /// What was found wrong, or "".
    std::string corruption() const { return fault_.what(); }
    /// Re-checks the header against what this process attached to; false if it or an
    /// earlier check found a fault.
    bool header_intact() {
        if (fault_.found()) return false;
        std::string fault = seg_.header_fault();
        if (fault.empty()) return true;
        fault_.record(std::move(fault));
        return false;
    }

  private:
    [[gnu::cold, gnu::noinline]] void out_of_bounds(std::size_t i) noexcept {
        try {
            fault_.record("slot index " + std::to_string(i) + " out of bounds (capacity " + std::to_string(capacity_) +
                          ")");
        } catch (...) {
            fault_.record_without_text();
        }
    }

    segment& seg_;
    Control* control_ = nullptr;
    Slot* slots_ = nullptr;
    std::size_t capacity_ = 0;
    corruption_latch fault_;
};

} // namespace polychan::storage::detail
