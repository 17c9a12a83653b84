// polychan verify — the model shared by the evicting orderings (discard_old, always_last):
// the writer writes 2*capacity+3 items and closes; the reader reads until closed. The reader
// sees strictly increasing values (FIFO among survivors, nothing twice), always gets the last
// item, and read + discarded = written. The writer evicts the oldest item while the reader
// may be taking it, so a wrong arbitration is a double delivery, a torn item (data race on
// its place) or a lost count. Both sides also assert that the shared-memory integrity check
// (ring_fault) holds after each of their operations: it must never fail a healthy ring.
#pragma once

#include "spsc_models.hpp"

namespace polychan::verify {

template <class Ordering, std::size_t Capacity, class Orders>
struct evicting_model : rl::test_suite<evicting_model<Ordering, Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 3;
    polychan::verify::places places;
    spsc_channel<Ordering, Capacity, Orders> ch;
    int arrived = 0;
    int last = -1;

    void before() { places.use(); }
    void thread(unsigned index) {
        if (index == 0) {
            for (int i = 0; i < items; ++i) {
                RL_ASSERT(ch.write(model_item{i}) == status::ok);
                assert_ring_sound(ch, true);
            }
            ch.close();
        } else {
            model_item got;
            while (ch.read(got)) {
                assert_ring_sound(ch, false);
                RL_ASSERT(value_of(got) > last);
                last = value_of(got);
                ++arrived;
            }
        }
    }
    void after() {
        RL_ASSERT(last == items - 1);
        RL_ASSERT(static_cast<std::uint64_t>(arrived) + ch.discarded_count() == items);
    }
};

} // namespace polychan::verify
