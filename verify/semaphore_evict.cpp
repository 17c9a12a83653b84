// polychan verify — semaphore x discard_old / always_last: eviction against a claimed slot.
//
// The channel starts with item 0. A reader claims an item with a read transaction and reads
// it twice while a writer writes items 1 and 2, evicting to make room; then the reader
// releases and reads until closed. The item a reader holds is never evicted: it keeps its
// value (an evictor's destruction writes -1, and racing with the reader's reads is a data
// race Relacy reports). Every item is read or counted as discarded, exactly once.
// With capacity 1 the writer finds the only slot held and sleeps on the doorbell until the
// reader releases: a lost wake-up there is a deadlock.
// always_last with two readers: items 0 and 1 are written and the channel closed, then two
// readers read until closed. Each may skip item 0, but item 1, the newest, must be read by
// one of them (two readers that each evicted "the oldest, as more than one is ready" lost it).
#include "semaphore_models.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <class Ordering>
struct eviction {
    template <std::size_t Capacity, class Orders>
    struct test : rl::test_suite<test<Capacity, Orders>, 2> {
        static constexpr int items = 3;
        polychan::verify::places places; // the payloads' race history (relacy_atomics.hpp)
        semaphore_channel<Ordering, Capacity, Orders> ch;
        int read = 0;

        void before() {
            places.use();
            RL_ASSERT(ch.write(model_item{0}) == status::ok);
        }
        void thread(unsigned index) {
            if (index == 0) {
                for (int i = 1; i < items; ++i) RL_ASSERT(ch.write(model_item{i}) == status::ok);
                ch.close();
            } else {
                int last = -1;
                {
                    auto held = ch.begin_read();
                    RL_ASSERT(held);
                    int const first = held->value();
                    RL_ASSERT(first >= 0 && first < items);
                    RL_ASSERT(held->value() == first); // still ours after the writer ran
                    last = first;
                    ++read;
                }
                model_item got;
                while (ch.read(got)) {
                    RL_ASSERT(got.value() > last); // FIFO among survivors / newer only
                    last = got.value();
                    ++read;
                }
            }
        }
        void after() { RL_ASSERT(static_cast<std::uint64_t>(read) + ch.discarded_count() == items); }
    };
};

template <std::size_t Capacity, class Orders>
struct always_last_two_readers : rl::test_suite<always_last_two_readers<Capacity, Orders>, 2> {
    polychan::verify::places places;
    semaphore_channel<ordering::always_last, Capacity, Orders> ch;
    int newest_read = 0;
    int read = 0;

    void before() {
        places.use();
        RL_ASSERT(ch.write(model_item{0}) == status::ok);
        RL_ASSERT(ch.write(model_item{1}) == status::ok);
        ch.close();
    }
    void thread(unsigned) {
        model_item got;
        int last = -1;
        while (ch.read(got)) {
            RL_ASSERT(got.value() > last);
            last = got.value();
            newest_read += got.value() == 1;
            ++read;
        }
    }
    void after() {
        RL_ASSERT(newest_read == 1);
        RL_ASSERT(static_cast<std::uint64_t>(read) + ch.discarded_count() == 2);
    }
};

template <std::size_t Capacity, class Orders>
using discard_old_eviction = eviction<ordering::discard_old>::test<Capacity, Orders>;
template <std::size_t Capacity, class Orders>
using always_last_eviction = eviction<ordering::always_last>::test<Capacity, Orders>;

} // namespace

int main(int argc, char** argv) {
    return run_semaphore_model<catches<"give", "enlist", "recheck">, discard_old_eviction, always_last_eviction,
                               always_last_two_readers>(
        "semaphore eviction (discard_old, always_last; held read slot, doorbell, two readers)", argc, argv);
}
