// polychan verify — what every spsc model shares: the production channel instantiated with
// the Relacy backend, and one mutant per named order of polychan::sync::spsc_orders.
#pragma once

#include <polychan/channel.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/heap_fixed.hpp>
#include <polychan/sync/spsc.hpp>

#include <cstddef>

#include "model_runner.hpp" // last: it brings in Relacy's macros

namespace polychan::verify {

/// The production channel on the Relacy backend. One spin before sleeping keeps the spin
/// path in the model without multiplying its schedules.
template <class Ordering, std::size_t Capacity, class Orders = sync::spsc_orders>
using spsc_channel =
    channel<model_item, storage::heap_fixed<Capacity>, Ordering, sync::basic_spsc<relacy_atomics, Orders, 1>>;

/// Runs each model test for capacities 1, 2 and 3; stops at the first failure (its kind
/// stays in p).
template <class Orders, template <std::size_t, class> class... Tests>
bool simulate_capacities(rl::test_params& p) {
    return ((simulate_test<Tests<1, Orders>>(p) && simulate_test<Tests<2, Orders>>(p) &&
             simulate_test<Tests<3, Orders>>(p)) &&
            ...);
}

// The mutants: each order of spsc_orders that is not relaxed, and the one step weaker it is
// tried at. X(order, weaker) for each.
#define POLYCHAN_SPSC_MUTANTS(X)                                                                                       \
    X(publish, relaxed)                                                                                                \
    X(observe, relaxed)                                                                                                \
    X(finish, relaxed)                                                                                                 \
    X(reuse, relaxed)                                                                                                  \
    X(publish_fence, acq_rel)                                                                                          \
    X(release_fence, acq_rel)                                                                                          \
    X(take_fence, acq_rel)                                                                                             \
    X(settle_fence, acq_rel)                                                                                           \
    X(close_fence, acq_rel)                                                                                            \
    X(sleep_fence, acq_rel)                                                                                            \
    X(drain_fence, acq_rel)                                                                                            \
    X(close, relaxed)                                                                                                  \
    X(count, relaxed)                                                                                                  \
    X(counted, relaxed)                                                                                                \
    X(evict, relaxed)                                                                                                  \
    X(see_evictions, relaxed)

/// spsc_orders with each order that has a mutant turned into a variable, which a mutant run
/// weakens and restores (model_runner.hpp, `mutant`).
struct spsc_orders_under_test : sync::spsc_orders {
    using production = sync::spsc_orders;
    POLYCHAN_SPSC_MUTANTS(POLYCHAN_ORDER_VARIABLE)
};

/// The mutants of spsc_orders. Orders that are relaxed in production have no weaker step.
inline std::vector<mutant> spsc_mutants() {
    using under_test = spsc_orders_under_test;
    return {POLYCHAN_SPSC_MUTANTS(POLYCHAN_MUTANT_ROW)};
}

/// A model executable over `Tests`: the production orders and the orders under test, each for
/// capacities 1-3; the mutants named in `Catches` must be caught.
template <class Catches, template <std::size_t, class> class... Tests>
int run_spsc_model(const char* algorithm, int argc, char** argv) {
    model m{algorithm, simulate_capacities<sync::spsc_orders, Tests...>,
            simulate_capacities<spsc_orders_under_test, Tests...>, spsc_mutants(), 20000};
    m.must_catch = Catches::names();
    return run(m, argc, argv);
}

/// The shared-memory integrity check (sync::spsc ring_fault) never fails on a healthy ring:
/// a model asserts it after each of its side's operations.
template <class Channel>
void assert_ring_sound(Channel& ch, bool as_writer) {
    RL_ASSERT(ch.core().ring_fault(as_writer) == nullptr);
}

/// The value of an item, read as an rl::var access.
inline int value_of(const model_item& item) { return item.value(); }

} // namespace polychan::verify
