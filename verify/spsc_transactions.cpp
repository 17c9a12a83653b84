// polychan verify — spsc transactions: a read slot held by the reader is never overwritten,
// under every ordering, and an abandoned write gives its slot back.
//
// The reader holds a read transaction on the first item (and, with capacity > 1, a second
// one) while the writer writes 2*capacity+3 more items with discard_old / always_last and
// abandons one write transaction; the held items must keep their values (an overwrite is
// a data race on their place, or a changed value), and what arrives after is in order.
#include "spsc_models.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <class Ordering, std::size_t Capacity, class Orders>
struct held_model : rl::test_suite<held_model<Ordering, Capacity, Orders>, 2> {
    static constexpr int items = 2 * Capacity + 3;
    polychan::verify::places places;
    spsc_channel<Ordering, Capacity, Orders> ch;

    void before() { places.use(); }
    void thread(unsigned index) {
        if (index == 0) {
            RL_ASSERT(ch.write(model_item{0}) == status::ok);
            if (Capacity > 1) RL_ASSERT(ch.write(model_item{1}) == status::ok);
            {
                auto abandoned = ch.try_begin_write(-5); // destroyed uncommitted: the slot comes back
            }
            for (int i = 2; i < items; ++i) {
                status const s = ch.try_write(model_item{i});
                RL_ASSERT(s == status::ok || s == status::full);
            }
            ch.close();
        } else {
            auto first = ch.begin_read();
            if (!first) return;
            int const v = value_of(*first);
            if (Capacity > 1) {
                auto next = ch.begin_read();
                if (next) RL_ASSERT(value_of(*next) > v);
                model_item got;
                int last = next ? value_of(*next) : v;
                while (ch.try_read(got) == status::ok) {
                    RL_ASSERT(value_of(got) > last);
                    last = value_of(got);
                }
                if (next) RL_ASSERT(value_of(*next) > v);
            }
            RL_ASSERT(value_of(*first) == v); // still intact after the writer wrapped around
            model_item got;
            while (ch.read(got)) RL_ASSERT(value_of(got) > v);
        }
    }
};

template <std::size_t Capacity, class Orders>
using held_discard_old = held_model<ordering::discard_old, Capacity, Orders>;
template <std::size_t Capacity, class Orders>
using held_always_last = held_model<ordering::always_last, Capacity, Orders>;
template <std::size_t Capacity, class Orders>
using held_block = held_model<ordering::block, Capacity, Orders>;

} // namespace

int main(int argc, char** argv) {
    return run_spsc_model<catches<"publish", "observe", "finish", "reuse">, held_block, held_discard_old,
                          held_always_last>("spsc transactions", argc, argv);
}
