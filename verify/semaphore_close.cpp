// polychan verify — semaphore x block: close() against blocked and busy readers and writers.
//
// Two writers write one item each and a reader reads until closed, while a fourth thread
// closes the channel at any point. Every write that returned ok is read (close never hides
// an item that a publisher was pushing), every thread ends (a waiter close() does not wake
// is a deadlock Relacy reports), and nothing is read twice.
#include "semaphore_models.hpp"

namespace {
using namespace polychan;
using namespace polychan::verify;

template <std::size_t Capacity, class Orders>
struct close_race : rl::test_suite<close_race<Capacity, Orders>, 4> {
    polychan::verify::places places; // the payloads' race history (relacy_atomics.hpp)
    semaphore_channel<ordering::block, Capacity, Orders> ch;
    int written_ok = 0; // threads 0 and 1 each add their own bit
    int read_mask = 0;

    void before() {
        places.use();
        // Capacity 1 starts full, so a writer blocks until the reader or close() wakes it.
        if (Capacity == 1) {
            RL_ASSERT(ch.write(model_item{2}) == status::ok);
            written_ok |= 4;
        }
    }
    void thread(unsigned index) {
        if (index < 2) {
            status const s = ch.write(model_item{static_cast<int>(index)});
            RL_ASSERT(s == status::ok || s == status::closed);
            if (s == status::ok) written_ok |= 1 << index;
        } else if (index == 2) {
            model_item got;
            while (ch.read(got)) {
                int const bit = 1 << got.value();
                RL_ASSERT((read_mask & bit) == 0);
                read_mask |= bit;
            }
        } else {
            ch.close();
        }
    }
    void after() { RL_ASSERT(read_mask == written_ok); }
};

} // namespace

int main(int argc, char** argv) {
    return run_semaphore_model<catches<"leave", "drained">, close_race>(
        "semaphore close (block, 2 writers, 1 reader, close)", argc, argv);
}
