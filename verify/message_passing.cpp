// polychan verify — the smallest model: one item handed over through a flag, written against
// the atomics backend the way the production algorithms are. It shows the verify machinery
// works end to end: the correct model passes, and weakening either named order makes Relacy
// report the payload race.
#include <polychan/atomics.hpp>
#include <polychan/detail/payload_cell.hpp>

#include "model_runner.hpp" // last: it brings in Relacy's macros

namespace {

using polychan::verify::model_item;

/// The hand-off's memory orders, named by intent.
struct handoff_orders {
    // The payload written before the flag must be visible to whoever sees the flag.
    static constexpr std::memory_order publish = std::memory_order_release;
    // Seeing the flag must make the payload written before it visible here.
    static constexpr std::memory_order observe = std::memory_order_acquire;
};

/// A one-shot hand-off written once, for any atomics backend and any orders.
template <class Atomics, class Orders>
struct handoff {
    polychan::detail::payload_cell<model_item> cell;
    typename Atomics::template atomic<bool> ready{false};

    void put(int v) {
        cell.construct(v);
        ready.store(true, Orders::publish);
    }
    bool take(int& out) {
        if (!ready.load(Orders::observe)) return false;
        out = cell.get().value();
        cell.destroy();
        return true;
    }
};

template <class Orders>
struct handoff_test : rl::test_suite<handoff_test<Orders>, 2> {
    handoff<polychan::verify::relacy_atomics, Orders> h;
    bool taken = false;
    polychan::verify::places places;

    void before() { places.use(); }

    void thread(unsigned index) {
        if (index == 0) {
            h.put(42);
        } else {
            int v = 0;
            if (h.take(v)) {
                RL_ASSERT(v == 42);
                taken = true;
            }
        }
    }
    void after() {
        if (!taken) h.cell.destroy(); // the item was never read: it still lives in the cell
    }
};

#define POLYCHAN_HANDOFF_MUTANTS(X)                                                                                    \
    X(publish, relaxed)                                                                                                \
    X(observe, relaxed)

/// handoff_orders as variables, for the mutants to weaken (model_runner.hpp, `mutant`).
struct handoff_orders_under_test {
    using production = handoff_orders;
    POLYCHAN_HANDOFF_MUTANTS(POLYCHAN_ORDER_VARIABLE)
};

} // namespace

int main(int argc, char** argv) {
    using namespace polychan::verify;
    model m{"message passing (smoke)",
            simulate_test<handoff_test<handoff_orders>>,
            simulate_test<handoff_test<handoff_orders_under_test>>,
            {},
            100000};
    using under_test = handoff_orders_under_test;
    m.mutants = {POLYCHAN_HANDOFF_MUTANTS(POLYCHAN_MUTANT_ROW)};
    m.must_catch = {"publish", "observe"};
    return run(m, argc, argv);
}
