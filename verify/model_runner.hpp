// polychan verify — the command line every Relacy model executable shares.
//
//   model                      the correct model, random scheduler (iterations: --iterations N,
//                              else $POLYCHAN_RELACY_ITERATIONS, else the model's default)
//   model --search full|bound  exhaustive / context-bound search instead (--bound K)
//   model --mutants            runs every mutant (one named order weakened one step) and
//                              prints one tab-separated row each; fails if a mutant the
//                              model must catch survives
//   model --mutants --required only the mutants this model must catch (make test, make report)
//   model --mutant NAME        one mutant, with Relacy's failing history
//   model --list               the mutant names
//
// Exit status 0 means: the correct model passed, and every mutant that was run was caught.
#pragma once

#include "relacy_atomics.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace polychan::verify {

/// The spelling of a memory order in the mutation table.
constexpr const char* order_name(std::memory_order mo) noexcept {
    switch (mo) {
    case std::memory_order_relaxed:
        return "relaxed";
    case std::memory_order_consume:
        return "consume";
    case std::memory_order_acquire:
        return "acquire";
    case std::memory_order_release:
        return "release";
    case std::memory_order_acq_rel:
        return "acq_rel";
    case std::memory_order_seq_cst:
        return "seq_cst";
    }
    return "?";
}

/// One Relacy test, type-erased: runs rl::simulate<Test> with the given parameters.
using simulate_fn = bool (*)(rl::test_params&);

template <class Test>
bool simulate_test(rl::test_params& p) {
    return rl::simulate<Test>(p);
}

/// An order's name as a template argument: `catches<"publish", "observe">`.
template <std::size_t N>
struct order_literal {
    char text[N];
    constexpr order_literal(const char (&name)[N]) { std::copy_n(name, N, text); }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

/// The named orders a model must catch when weakened, as a type: `catches<"publish", "observe">`.
template <order_literal... Orders>
struct catches {
    static std::vector<std::string> names() { return {std::string{Orders.view()}...}; }
};

/// A mutant: one named order weakened one step. Mutants are set at run time: a model's tests
/// are instantiated once more over an "orders under test" struct, whose orders are variables
/// (the production values unless a mutant run changes one), so a model compiles two channel
/// instantiations rather than one per mutant (each is 10-20 s of compiling).
struct mutant {
    const char* order;          // the name of the order in the production Orders struct
    std::memory_order original; // what production uses
    std::memory_order weakened; // what this mutant uses instead
    std::memory_order* setting; // the order's variable in the orders-under-test struct
};

/// For an algorithm's list of mutants, X(order, weaker) per order (see spsc_models.hpp):
///  - in an orders-under-test struct that names its production struct `production`, the
///    order as a variable that starts from production's value;
///  - in a function that names that struct `under_test`, the order's mutant row.
#define POLYCHAN_ORDER_VARIABLE(order, weaker) static inline std::memory_order order = production::order;
#define POLYCHAN_MUTANT_ROW(order, weaker)                                                                             \
    mutant{#order, under_test::production::order, std::memory_order_##weaker, &under_test::order},

/// A model executable: its algorithm name, the correct model and its mutants.
struct model {
    const char* algorithm;
    simulate_fn correct;    // the tests over the production Orders struct
    simulate_fn under_test; // the same tests over the orders-under-test struct (see `mutant`)
    std::vector<mutant> mutants;
    unsigned long default_iterations = 100000;
    /// The mutants this model is responsible for catching: `--mutants` fails if one
    /// survives. Others are run and reported (another model may be the one to catch them).
    std::vector<std::string> must_catch = {};
};

namespace runner_detail {

/// Iterations of the control run: the mutants' shared instantiation, unmutated, must pass
/// before any mutant's verdict counts (a broken instantiation would make every mutant "caught").
inline constexpr unsigned long control_iterations = 10000;

inline unsigned long iterations(int argc, char** argv, unsigned long fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--iterations") == 0) return std::strtoul(argv[i + 1], nullptr, 10);
    if (const char* env = std::getenv("POLYCHAN_RELACY_ITERATIONS")) return std::strtoul(env, nullptr, 10);
    return fallback;
}

inline const char* option(int argc, char** argv, const char* name) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return nullptr;
}

inline bool flag(int argc, char** argv, const char* name) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return true;
    return false;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace runner_detail

/// Runs a model per the command line above; returns the process exit status.
inline int run(const model& m, int argc, char** argv) {
    using namespace runner_detail;
    if (flag(argc, argv, "--list")) {
        for (const mutant& x : m.mutants) std::cout << x.order << '\n';
        return 0;
    }
    unsigned long const n = iterations(argc, argv, m.default_iterations);
    // Relacy's output goes nowhere unless a failing history is asked for: a stream with a
    // buffer would allocate through Relacy's operator new inside the model's context and
    // free it outside.
    std::ostream quiet{nullptr};

    if (flag(argc, argv, "--mutants") || option(argc, argv, "--mutant")) {
        const char* only = option(argc, argv, "--mutant");
        bool const required_only = flag(argc, argv, "--required");
        bool all_caught = true;
        auto const must = [&](const char* order) {
            return std::find(m.must_catch.begin(), m.must_catch.end(), order) != m.must_catch.end();
        };
        for (const std::string& order : m.must_catch) { // a misspelt or unlisted order would pass unseen
            if (std::none_of(m.mutants.begin(), m.mutants.end(), [&](const mutant& x) { return order == x.order; })) {
                std::cerr << m.algorithm << ": must catch '" << order << "', which has no mutant\n";
                return 2;
            }
        }
        for (const mutant& x : m.mutants) { // the instantiation the mutants share is sound as it stands
            if (*x.setting != x.original) {
                std::cerr << m.algorithm << ": the mutant '" << x.order << "' does not start from production's order\n";
                return 2;
            }
        }
        {
            rl::test_params p;
            p.iteration_count = std::min(n, control_iterations);
            p.output_stream = &quiet;
            p.progress_stream = &quiet;
            if (!m.under_test(p)) {
                std::cerr << m.algorithm << ": the orders-under-test instantiation fails unmutated (control run, "
                          << rl::test_result_str(p.test_result) << "): no mutant verdict would mean anything\n";
                return 2;
            }
        }
        for (const mutant& x : m.mutants) {
            if (only && std::string_view{only} != x.order) continue;
            if (required_only && !must(x.order)) continue;
            rl::test_params p;
            auto const t0 = std::chrono::steady_clock::now();
            *x.setting = x.weakened;
            bool passed = true;
            // Every test at 1% of the budget, then 10%, then all of it: a mutant that the last
            // test catches in a few iterations does not wait for the others' whole budgets.
            for (unsigned long budget : {n / 100, n / 10, n}) {
                if (budget == 0) continue;
                p = rl::test_params{};
                p.iteration_count = budget;
                p.output_stream = only ? &std::cout : &quiet;
                p.progress_stream = &quiet;
                passed = m.under_test(p);
                if (!passed) break;
            }
            *x.setting = x.original;
            bool const caught = !passed;
            if (must(x.order)) all_caught = all_caught && caught;
            // algorithm, order, original, weakened, verdict, Relacy's failure, iterations to find it, seconds
            std::cout << m.algorithm << '\t' << x.order << '\t' << order_name(x.original) << '\t'
                      << order_name(x.weakened) << '\t'
                      << (caught          ? "caught"
                          : must(x.order) ? "MISSED"
                                          : "not caught")
                      << '\t' << (caught ? rl::test_result_str(p.test_result) : "-") << '\t'
                      << (caught ? p.stop_iteration : n) << '\t' << seconds_since(t0) << std::endl;
        }
        return all_caught ? 0 : 1;
    }

    rl::test_params p;
    p.iteration_count = n;
    p.output_stream = &std::cout; // Relacy prints the failing history, if any
    p.progress_stream = &quiet;
    const char* search = option(argc, argv, "--search");
    std::string label = "random scheduler";
    if (search && std::string_view{search} == "full") {
        p.search_type = rl::fair_full_search_scheduler_type;
        label = "full search";
    } else if (search && std::string_view{search} == "bound") {
        p.search_type = rl::fair_context_bound_scheduler_type;
        const char* k = option(argc, argv, "--bound");
        p.context_bound = k ? static_cast<unsigned>(std::strtoul(k, nullptr, 10)) : 2;
        label = "context bound " + std::to_string(p.context_bound);
    }
    auto const t0 = std::chrono::steady_clock::now();
    bool const ok = m.correct(p);
    std::cout << m.algorithm << ": " << label << ", " << p.stop_iteration << " iterations, " << seconds_since(t0)
              << " s: " << (ok ? "passed" : rl::test_result_str(p.test_result)) << std::endl;
    return ok ? 0 : 1;
}

} // namespace polychan::verify
