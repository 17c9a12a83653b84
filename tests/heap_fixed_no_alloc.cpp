// heap_fixed<N> allocates nothing: global operator new/delete are replaced by counting ones
// (which is why this is its own executable), and a channel's whole life — construction on the
// stack, writes, reads, transactions, timeouts, close, destruction, and two threads passing
// items — runs inside the measured region. The heap storages are the control: the same
// region must count their allocations, or the counter would prove nothing.
#include "compositions.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

namespace {

std::atomic<bool> measuring{false};
std::atomic<long> allocations{0};

void* counted_alloc(std::size_t n, std::size_t align = alignof(std::max_align_t)) {
    if (measuring.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (n == 0) n = 1;
    void* p =
        align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align) : std::malloc(n);
    if (!p) throw std::bad_alloc{};
    return p;
}

/// Counts the allocations made, by any thread, between construction and stop().
class allocation_count {
  public:
    allocation_count() {
        allocations = 0;
        measuring = true;
    }
    allocation_count(const allocation_count&) = delete;
    allocation_count& operator=(const allocation_count&) = delete;
    ~allocation_count() { measuring = false; }
    long stop() {
        measuring = false;
        return allocations.load();
    }
};

} // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace polychan;
using namespace polychan::test;
using namespace std::chrono_literals;

namespace {

struct big_message {
    std::array<std::uint64_t, 32> words;
};

/// Everything a single thread can do with a channel, results kept in `out` so that no
/// assertion (which may allocate) runs inside the measured region.
template <class Composition>
void whole_life(std::array<int, 16>& out) {
    channel_for<Composition, big_message, 4> ch;
    int k = 0;
    out[k++] = static_cast<int>(ch.write(big_message{{1}}));
    out[k++] = static_cast<int>(ch.emplace(big_message{{2}}));
    out[k++] = static_cast<int>(ch.try_write(big_message{{3}}));
    {
        auto w = ch.begin_write();
        if (w) w->words[0] = 4;
        out[k++] = static_cast<int>(w ? w.commit() : w.status());
    }
    out[k++] = static_cast<int>(ch.try_write(big_message{{5}})); // full, discarded or evicting
    big_message m{};
    out[k++] = static_cast<int>(ch.try_read(m));
    out[k++] = static_cast<int>(ch.read_for(m, 1ms));
    {
        auto r = ch.try_begin_read(); // always_last: empty by now
        out[k++] = r ? static_cast<int>(r->words[0]) : -1;
    }
    out[k++] = static_cast<int>(ch.try_read(m));
    out[k++] = static_cast<int>(ch.read_for(m, 1ms)); // timeout once empty
    out[k++] = static_cast<int>(ch.write_for(big_message{{6}}, 1ms));
    ch.close();
    out[k++] = static_cast<int>(ch.write(big_message{{7}}));
    while (ch.read()) {
    }
    out[k++] = static_cast<int>(ch.try_read(m));
}

} // namespace

TEMPLATE_LIST_TEST_CASE("heap_fixed allocates nothing over a channel's whole life; heap storages do", "[alloc]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    constexpr bool fixed = std::is_same_v<typename TestType::storage_kind, heap_fixed_kind>;
    std::array<int, 16> results{};

    allocation_count single_thread;
    whole_life<TestType>(results);
    long const single_thread_allocations = single_thread.stop();
    CHECK(results[11] == static_cast<int>(status::closed)); // the run went all the way through
    CHECK(results[12] == static_cast<int>(status::closed));

    // Two threads passing items: the threads exist before the region starts.
    constexpr int items = 10'000;
    long threaded_allocations = 0;
    long received = 0;
    {
        auto ch = std::make_unique<channel_for<TestType, int, 4>>(); // only so heap_fixed need not be on this stack
        std::atomic<bool> go{false};
        std::thread reader{[&] {
            while (!go.load()) std::this_thread::yield();
            for (int v : *ch) received += v >= 0;
        }};
        std::thread writer{[&] {
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < items; ++i) (void)ch->write(i);
            ch->close();
        }};
        allocation_count threaded;
        go = true;
        writer.join();
        reader.join();
        threaded_allocations = threaded.stop();
    }
    CHECK(received > 0);
    if constexpr (uses<TestType, ordering::block> || (TestType::unbounded && !uses<TestType, ordering::always_last>))
        CHECK(received == items);

    if constexpr (fixed) {
        CHECK(single_thread_allocations == 0);
        CHECK(threaded_allocations == 0);
    } else {
        CHECK(single_thread_allocations > 0); // the control: the counter sees the heap storages
    }
}
