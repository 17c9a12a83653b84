// polychan verify — spsc x block and spsc x discard_new: the bounded ring.
//
// The writer writes 2*capacity+3 items (the ring wraps at least twice) and closes; the reader
// reads until closed. block: every item arrives once, in order. discard_new: the items that
// arrive are in order, and arrived + discarded = written. Blocking reads and writes are used,
// so a lost wake-up is a deadlock Relacy reports. block also asserts the shared-memory
// integrity check (ring_fault) after each operation of either side.
#include "spsc_models.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <std::size_t Capacity, class Orders>
struct block_ring : rl::test_suite<block_ring<Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 3;
    polychan::verify::places places;
    spsc_channel<ordering::block, Capacity, Orders> ch;

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
            int expect = 0;
            while (ch.read(got)) {
                RL_ASSERT(value_of(got) == expect++);
                assert_ring_sound(ch, false);
            }
            RL_ASSERT(expect == items);
        }
    }
};

template <std::size_t Capacity, class Orders>
struct discard_new_ring : rl::test_suite<discard_new_ring<Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 3;
    polychan::verify::places places;
    spsc_channel<ordering::discard_new, Capacity, Orders> ch;
    int written = 0;
    int arrived = 0;

    void before() { places.use(); }

    void thread(unsigned index) {
        if (index == 0) {
            for (int i = 0; i < items; ++i) {
                status const s = ch.write(model_item{i});
                RL_ASSERT(s == status::ok || s == status::discarded);
                written += s == status::ok;
            }
            ch.close();
        } else {
            model_item got;
            int last = -1;
            while (ch.read(got)) {
                RL_ASSERT(value_of(got) > last);
                last = value_of(got);
                ++arrived;
            }
        }
    }
    void after() {
        RL_ASSERT(arrived == written);
        RL_ASSERT(static_cast<std::uint64_t>(written) + ch.discarded_count() == items);
    }
};

} // namespace

int main(int argc, char** argv) {
    // Not "observe": without evictions the reader's take is followed by take_fence, which this
    // backend models as a seq_cst fence, and that fence makes a relaxed look at the slot an
    // acquire. In production the light fence is a compiler barrier only, so observe stays
    // acquire; the discard_old, always_last and transactions models, whose takes are CASes
    // with no fence after them, are the ones that catch it.
    return run_spsc_model<catches<"publish", "finish", "reuse", "publish_fence", "release_fence", "sleep_fence">,
                          block_ring, discard_new_ring>("spsc ring (block, discard_new)", argc, argv);
}
