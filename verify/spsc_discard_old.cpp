// polychan verify — spsc x discard_old: the writer evicts the oldest item when full, racing
// the reader for it (see spsc_evicting.hpp for what is checked).
//
// A second model isolates the shared-memory integrity check (ring_fault) against eviction:
// the writer fills the ring and keeps evicting while the reader only checks, never reads,
// so head moves by the writer's CAS alone. The bound tail - head <= capacity then holds only
// if a tail seen (counted) comes with the eviction that preceded it (count).
#include "spsc_evicting.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <std::size_t Capacity, class Orders>
using discard_old_model = evicting_model<ordering::discard_old, Capacity, Orders>;

template <std::size_t Capacity, class Orders>
struct eviction_seen_by_checks : rl::test_suite<eviction_seen_by_checks<Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 3;
    polychan::verify::places places;
    spsc_channel<ordering::discard_old, Capacity, Orders> ch;

    void before() { places.use(); }
    void thread(unsigned index) {
        if (index == 0) {
            for (int i = 0; i < items; ++i) RL_ASSERT(ch.write(model_item{i}) == status::ok);
        } else {
            for (int k = 0; k < items; ++k) assert_ring_sound(ch, false);
        }
    }
    void after() { RL_ASSERT(ch.discarded_count() == items - Capacity); }
};
} // namespace

int main(int argc, char** argv) {
    return run_spsc_model<catches<"publish", "observe", "finish", "reuse", "count", "counted", "see_evictions">,
                          discard_old_model, eviction_seen_by_checks>("spsc discard_old", argc, argv);
}
