// polychan verify — semaphore x block with two writers and two readers: the index rings.
//
// Each writer writes two items (the rings wrap, and with capacity 1 every write after the
// first waits for a reader); each reader reads two. Every item arrives exactly once, per
// writer in order, and the payload (an rl::var) is never raced: a missing happens-before
// between a writer's construction and a reader's read, or between a reader's destruction
// and the next writer's construction in the same slot, is a data race Relacy reports.
// Blocking reads and writes: a lost wake-up is a deadlock.
#include "semaphore_models.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <std::size_t Capacity, class Orders>
struct mpmc : rl::test_suite<mpmc<Capacity, Orders>, 4> {
    static constexpr int per_writer = 2;
    polychan::verify::places places; // the payloads' race history (relacy_atomics.hpp)
    semaphore_channel<ordering::block, Capacity, Orders> ch;

    void before() { places.use(); }
    int seen[2][per_writer] = {};

    void thread(unsigned index) {
        if (index < 2) {
            for (int s = 0; s < per_writer; ++s)
                RL_ASSERT(ch.write(model_item{static_cast<int>(index) * 10 + s}) == status::ok);
        } else {
            int last[2] = {-1, -1};
            for (int k = 0; k < per_writer; ++k) {
                model_item got;
                RL_ASSERT(ch.read(got));
                int const v = got.value();
                int const w = v / 10, s = v % 10;
                RL_ASSERT(w >= 0 && w < 2 && s >= 0 && s < per_writer);
                RL_ASSERT(s > last[w]); // per-writer FIFO
                last[w] = s;
                ++seen[w][s];
            }
        }
    }
    void after() {
        for (auto& w : seen)
            for (int n : w) RL_ASSERT(n == 1);
    }
};

} // namespace

int main(int argc, char** argv) {
    return run_semaphore_model<catches<"fill", "observe">, mpmc>("semaphore rings (block, 2 writers x 2 readers)", argc,
                                                                 argv);
}
