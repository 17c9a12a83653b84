// polychan verify — what every semaphore model shares: the production semaphore policy on the
// Relacy backend, over a storage whose counting semaphore is a model built from Relacy's
// futex, and one mutant per named order of polychan::sync::semaphore_orders.
#pragma once

#include <polychan/channel.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/heap_fixed.hpp>
#include <polychan/sync/semaphore.hpp>

#include <cstddef>
#include <string_view>

#include "model_runner.hpp" // last: it brings in Relacy's macros

namespace polychan::verify {

/// A counting semaphore as the kernel or libstdc++ implements one: a count and a futex.
/// Its own orders are fixed (it stands for the storage's semaphore, not for our code):
/// a release happens before the acquire that takes its unit.
class model_semaphore {
  public:
    explicit model_semaphore(std::ptrdiff_t desired) : count_{static_cast<int>(desired)} {}
    model_semaphore(const model_semaphore&) = delete;
    model_semaphore& operator=(const model_semaphore&) = delete;

    void release(std::ptrdiff_t n = 1) {
        count_.fetch_add(static_cast<int>(n), std::memory_order_release);
        count_.futex_wake(static_cast<unsigned>(n));
    }
    bool try_acquire() {
        int c = count_.load(std::memory_order_acquire);
        while (c > 0)
            if (count_.compare_exchange_weak(c, c - 1, std::memory_order_acquire, std::memory_order_acquire))
                return true;
        return false;
    }
    void acquire() {
        while (!try_acquire()) count_.futex_wait(0, false);
    }
    /// Relacy decides when the deadline passes: any sleep may end in a modelled timeout.
    template <class TimePoint>
    bool try_acquire_until(TimePoint) {
        for (;;) {
            if (try_acquire()) return true;
            if (!count_.futex_wait(0, true)) return try_acquire();
        }
    }

  private:
    relacy_atomics::atomic<int> count_;
};

/// heap_fixed<N>, handing out the model semaphore.
template <std::size_t N>
struct model_storage : storage::heap_fixed<N> {
    template <std::ptrdiff_t>
    using counting_semaphore = model_semaphore;
};

/// The Relacy backend, telling Relacy when a thread spins on another's next store (the
/// index rings' short waits), so that the scheduler runs someone else.
struct spinning_relacy_atomics : relacy_atomics {
    static void pause(std::source_location at = std::source_location::current()) { rl::yield(1, site(at)); }
};

/// The production channel on the Relacy backend.
template <class Ordering, std::size_t Capacity, class Orders = sync::semaphore_orders>
using semaphore_channel =
    channel<model_item, model_storage<Capacity>, Ordering, sync::basic_semaphore<spinning_relacy_atomics, Orders>>;

/// Runs each model test for capacities 1 and 2; stops at the first failure (its kind stays in p).
template <class Orders, template <std::size_t, class> class... Tests>
bool simulate_semaphore_capacities(rl::test_params& p) {
    return ((simulate_test<Tests<1, Orders>>(p) && simulate_test<Tests<2, Orders>>(p)) && ...);
}

// The mutants: each order of semaphore_orders that is not relaxed, and the one step weaker it
// is tried at. X(order, weaker) for each.
#define POLYCHAN_SEMAPHORE_MUTANTS(X)                                                                                  \
    X(fill, relaxed)                                                                                                   \
    X(observe, relaxed)                                                                                                \
    X(leave, relaxed)                                                                                                  \
    X(drained, relaxed)                                                                                                \
    X(give, acq_rel)                                                                                                   \
    X(enlist, acq_rel)                                                                                                 \
    X(recheck, acquire)

/// semaphore_orders with each order that has a mutant turned into a variable, which a mutant
/// run weakens and restores (model_runner.hpp, `mutant`).
struct semaphore_orders_under_test : sync::semaphore_orders {
    using production = sync::semaphore_orders;
    POLYCHAN_SEMAPHORE_MUTANTS(POLYCHAN_ORDER_VARIABLE)
};

/// The mutants of semaphore_orders. Orders that are relaxed in production have no weaker step.
inline std::vector<mutant> semaphore_mutants() {
    using under_test = semaphore_orders_under_test;
    return {POLYCHAN_SEMAPHORE_MUTANTS(POLYCHAN_MUTANT_ROW)};
}

/// A model executable over `Tests`: the production orders and the orders under test, each for
/// capacities 1 and 2; the mutants named in `Catches` must be caught. (The others are other
/// models' job: `--mutants` without `--required` would spend a whole budget on each.)
template <class Catches, template <std::size_t, class> class... Tests>
int run_semaphore_model(const char* algorithm, int argc, char** argv) {
    model m{algorithm, simulate_semaphore_capacities<sync::semaphore_orders, Tests...>,
            simulate_semaphore_capacities<semaphore_orders_under_test, Tests...>, semaphore_mutants(), 20000};
    m.must_catch = Catches::names();
    return run(m, argc, argv);
}

} // namespace polychan::verify
