// polychan verify — spsc blocking: spin, sleep, wake-up, timeouts and close.
//
// Three threads: a writer writing with timed waits (write_for; Relacy times a wait out
// whenever it likes), a reader reading with timed waits, and a third thread closing at any
// point. Checked: no deadlock (a lost wake-up would leave a sleeper nobody wakes: Relacy
// reports it), every write that returned ok is read exactly once and in order, nothing is
// read that was refused, and both sides finish with `closed`. Then the same without timeouts
// (forever_wakeup), and one item racing close (close_race).
#include "spsc_models.hpp"

#include <chrono>

namespace {
using namespace polychan;
using namespace polychan::verify;
using namespace std::chrono_literals;

template <class Ordering, std::size_t Capacity, class Orders>
struct wakeup_model : rl::test_suite<wakeup_model<Ordering, Capacity, Orders>, 3> {
    static constexpr int items = 2 * Capacity + 2;
    polychan::verify::places places;
    spsc_channel<Ordering, Capacity, Orders> ch;
    int accepted = 0;
    int arrived = 0;

    void before() { places.use(); }
    void thread(unsigned index) {
        if (index == 0) {
            for (int i = 0; i < items;) {
                status const s = ch.write_for(model_item{i}, 1ms);
                if (s == status::closed) return;
                RL_ASSERT(s == status::ok || s == status::timeout);
                if (s == status::ok) ++accepted, ++i;
            }
        } else if (index == 1) {
            model_item got;
            for (;;) {
                status const s = ch.read_for(got, 1ms);
                if (s == status::closed) break;
                if (s == status::timeout) continue;
                RL_ASSERT(s == status::ok);
                RL_ASSERT(value_of(got) == arrived);
                ++arrived;
            }
            RL_ASSERT(!ch.read(got)); // closed and drained stays so, without blocking
        } else {
            ch.close();
        }
    }
    void after() { RL_ASSERT(arrived == accepted); }
};

template <std::size_t Capacity, class Orders>
using block_wakeup = wakeup_model<ordering::block, Capacity, Orders>;

// Untimed waits on both sides: with a lost wake-up nobody ever times out of it.
template <std::size_t Capacity, class Orders>
struct forever_wakeup : rl::test_suite<forever_wakeup<Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 2;
    polychan::verify::places places;
    spsc_channel<ordering::block, Capacity, Orders> ch;

    void before() { places.use(); }
    void thread(unsigned index) {
        model_item got;
        if (index == 0) {
            for (int i = 0; i < items; ++i) RL_ASSERT(ch.write(model_item{i}) == status::ok);
            ch.close();
            RL_ASSERT(ch.write(model_item{-2}) == status::closed);
        } else {
            for (int i = 0; i < items; ++i) {
                RL_ASSERT(ch.read(got));
                RL_ASSERT(value_of(got) == i);
            }
            RL_ASSERT(!ch.read(got));
        }
    }
};

// One item against a close from a third thread, nothing else: the smallest race between a
// publish that finds the channel open and a reader that finds it closed and drains (the write
// returned ok, so the reader must get the item). It catches publish_fence at once and
// drain_fence ~15x sooner than block_wakeup. It cannot catch `close` weakened to relaxed,
// although that is this race: see docs/verification.md.
template <std::size_t Capacity, class Orders>
struct close_race : rl::test_suite<close_race<Capacity, Orders>, 3> {
    polychan::verify::places places;
    spsc_channel<ordering::block, Capacity, Orders> ch;
    bool accepted = false;
    bool arrived = false;

    void before() { places.use(); }
    void thread(unsigned index) {
        if (index == 0) {
            status const s = ch.try_write(model_item{7});
            RL_ASSERT(s == status::ok || s == status::closed);
            accepted = s == status::ok;
        } else if (index == 1) {
            model_item got;
            for (;;) {
                status const s = ch.try_read(got);
                if (s == status::closed) break;
                if (s == status::empty) {
                    rl::yield(1, $);
                    continue;
                }
                RL_ASSERT(s == status::ok && value_of(got) == 7 && !arrived);
                arrived = true;
            }
        } else {
            ch.close();
        }
    }
    void after() { RL_ASSERT(arrived == accepted); }
};

} // namespace

int main(int argc, char** argv) {
    return run_spsc_model<catches<"publish_fence", "release_fence", "take_fence", "settle_fence", "close_fence",
                                  "sleep_fence", "drain_fence">,
                          block_wakeup, forever_wakeup, close_race>("spsc wake-up and close", argc, argv);
}
