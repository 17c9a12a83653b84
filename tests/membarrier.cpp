// polychan tests — asymmetric fences (include/polychan/detail/membarrier.hpp): each scope asks
// the kernel for registration on its first use only, and every light fence then reads the
// answer from one word. Its own executable, so that nothing has used a fence before the test.
#include <polychan/detail/membarrier.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#if defined(__linux__) && defined(__NR_membarrier)
TEST_CASE("membarrier: a scope registers on first use and light fences remember the answer") {
    using polychan::detail::fence_scope;
    namespace md = polychan::detail::membarrier_detail;
    using md::registration;

    for (fence_scope const scope : {fence_scope::process, fence_scope::system}) {
        auto const& word = md::registrations[static_cast<unsigned>(scope)];
        INFO("scope " << static_cast<unsigned>(scope));
        // Nothing in this executable has fenced yet: a process that never uses a scope is
        // never registered for it (for `system`: never a target of other processes' fences).
        CHECK(word.load() == registration::unknown);

        bool const answer = md::registered(scope);
        CHECK(word.load() == (answer ? registration::registered : registration::refused));
        // A kernel that offers the expedited command lets any process register for it.
        if (md::offered(scope)) CHECK(answer);

        // Every thread gets the same answer, and light fences on both sides of a heavy one
        // neither trap nor change it.
        std::atomic<int> agreed{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                for (int i = 0; i < 1000; ++i) {
                    polychan::detail::light_fence(scope);
                    if (md::registered(scope) == answer) agreed.fetch_add(1, std::memory_order_relaxed);
                }
            });
        polychan::detail::heavy_fence(scope);
        for (auto& t : threads) t.join();
        CHECK(agreed.load() == 4000);
        CHECK(word.load() == (answer ? registration::registered : registration::refused));
    }
}
#endif
