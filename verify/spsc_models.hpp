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

// One type per mutant: spsc_orders with a single order weakened by one step.
#define POLYCHAN_SPSC_MUTANT(order, weaker)                                                                            \
    struct order##_to_##weaker : sync::spsc_orders {                                                                   \
        static constexpr std::memory_order order = std::memory_order_##weaker;                                         \
    };
POLYCHAN_SPSC_MUTANT(publish, relaxed)
POLYCHAN_SPSC_MUTANT(observe, relaxed)
POLYCHAN_SPSC_MUTANT(finish, relaxed)
POLYCHAN_SPSC_MUTANT(reuse, relaxed)
POLYCHAN_SPSC_MUTANT(publish_fence, acq_rel)
POLYCHAN_SPSC_MUTANT(release_fence, acq_rel)
POLYCHAN_SPSC_MUTANT(close_fence, acq_rel)
POLYCHAN_SPSC_MUTANT(sleep_fence, acq_rel)
POLYCHAN_SPSC_MUTANT(drain_fence, acq_rel)
POLYCHAN_SPSC_MUTANT(close, relaxed)
POLYCHAN_SPSC_MUTANT(count, relaxed)
POLYCHAN_SPSC_MUTANT(counted, relaxed)
POLYCHAN_SPSC_MUTANT(evict, relaxed)
POLYCHAN_SPSC_MUTANT(see_evictions, relaxed)
#undef POLYCHAN_SPSC_MUTANT

/// The mutants of spsc_orders this build compiles (`Catches::builds`), run against the model
/// tests. Orders that are relaxed in production have no weaker step and no mutant.
template <class Catches, template <std::size_t, class> class... Tests>
std::vector<mutant> spsc_mutants() {
    using sync::spsc_orders;
    std::vector<mutant> rows;
#define POLYCHAN_ROW(order, weaker)                                                                                    \
    if constexpr (Catches::builds(#order))                                                                             \
        rows.push_back(mutant{#order, spsc_orders::order, order##_to_##weaker::order,                                  \
                              simulate_capacities<order##_to_##weaker, Tests...>});
    POLYCHAN_ROW(publish, relaxed)
    POLYCHAN_ROW(observe, relaxed)
    POLYCHAN_ROW(finish, relaxed)
    POLYCHAN_ROW(reuse, relaxed)
    POLYCHAN_ROW(publish_fence, acq_rel)
    POLYCHAN_ROW(release_fence, acq_rel)
    POLYCHAN_ROW(close_fence, acq_rel)
    POLYCHAN_ROW(sleep_fence, acq_rel)
    POLYCHAN_ROW(drain_fence, acq_rel)
    POLYCHAN_ROW(close, relaxed)
    POLYCHAN_ROW(count, relaxed)
    POLYCHAN_ROW(counted, relaxed)
    POLYCHAN_ROW(evict, relaxed)
    POLYCHAN_ROW(see_evictions, relaxed)
#undef POLYCHAN_ROW
    return rows;
}

/// A model executable over `Tests`: the correct orders for capacities 1-3, and the mutants;
/// those named in `Catches` must be caught.
template <class Catches, template <std::size_t, class> class... Tests>
int run_spsc_model(const char* algorithm, int argc, char** argv) {
    model m{algorithm, simulate_capacities<sync::spsc_orders, Tests...>, spsc_mutants<Catches, Tests...>(), 20000};
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
