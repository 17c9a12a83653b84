// polychan tests — the semaphore sync policy's own guarantees, beyond the conformance suite:
// out-of-order commits, eviction never touching a claimed slot (stress, with payload
// integrity checks), the doorbell that wakes evicting writers, and close() waking many
// blocked readers and writers.
#include <polychan/polychan.hpp>
#include <polychan/sync/semaphore.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#ifndef POLYCHAN_TEST_SCALE
#define POLYCHAN_TEST_SCALE 1
#endif

namespace {

using namespace std::chrono_literals;
namespace pc = polychan;

/// An item that can tell whether it was torn, destroyed or overwritten while someone held it:
/// every word is derived from (writer, seq), and the destructor poisons them.
struct stamped {
    static constexpr std::uint64_t alive = 0x5EAF'00D5'5EAF'00D5ull;
    std::uint64_t marker = alive;
    std::uint32_t writer = 0;
    std::uint32_t seq = 0;
    std::array<std::uint64_t, 6> words{};

    stamped() = default;
    stamped(std::uint32_t w, std::uint32_t s) : writer{w}, seq{s} {
        for (std::size_t k = 0; k < words.size(); ++k) words[k] = expected(k);
    }
    stamped(const stamped&) = default;
    stamped& operator=(const stamped&) = default;
    ~stamped() {
        marker = 0xDEAD'DEAD'DEAD'DEADull;
        words.fill(0);
    }

    std::uint64_t expected(std::size_t k) const {
        return (std::uint64_t{writer} << 40) ^ (std::uint64_t{seq} << 8) ^ k;
    }
    bool intact() const {
        if (marker != alive) return false;
        for (std::size_t k = 0; k < words.size(); ++k)
            if (words[k] != expected(k)) return false;
        return true;
    }
};

template <class Ordering, std::size_t N>
using fixed_channel = pc::channel<stamped, pc::storage::heap_fixed<N>, Ordering, pc::sync::semaphore>;

// ---- out-of-order commits ----------------------------------------------------------------

TEST_CASE("semaphore: a claimed but unpublished slot is invisible; commits may come out of order") {
    pc::channel<int, pc::storage::heap, pc::ordering::block, pc::sync::semaphore> ch{3};
    auto first = ch.begin_write(1);
    auto second = ch.begin_write(2);
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(ch.free_size() == 1);
    int v = 0;
    REQUIRE(ch.try_read(v) == pc::status::empty); // both claimed, neither published
    REQUIRE(second.commit() == pc::status::ok);
    REQUIRE(ch.try_read(v) == pc::status::ok);
    REQUIRE(v == 2);
    REQUIRE(ch.try_read(v) == pc::status::empty); // `first` is still unpublished
    REQUIRE(first.commit() == pc::status::ok);
    REQUIRE(ch.try_read(v) == pc::status::ok);
    REQUIRE(v == 1);
    REQUIRE(ch.free_size() == 3);
}

TEST_CASE("semaphore: an uncommitted write gives its slot back") {
    pc::channel<int, pc::storage::heap_fixed<1>, pc::ordering::block, pc::sync::semaphore> ch;
    { auto w = ch.begin_write(5); }
    REQUIRE(ch.free_size() == 1);
    REQUIRE(ch.try_write(6) == pc::status::ok);
    REQUIRE(ch.try_write(7) == pc::status::full);
}

// ---- eviction and held slots -------------------------------------------------------------

TEMPLATE_TEST_CASE("semaphore: eviction skips a slot a reader holds", "", pc::ordering::discard_old,
                   pc::ordering::always_last) {
    fixed_channel<TestType, 2> ch;
    REQUIRE(ch.write(stamped{0, 0}) == pc::status::ok);
    auto held = ch.begin_read();
    REQUIRE(held);
    for (std::uint32_t s = 1; s <= 10; ++s) REQUIRE(ch.write(stamped{0, s}) == pc::status::ok);
    REQUIRE(held->seq == 0);
    REQUIRE(held->intact());
    // Only one slot was ever free for the writer: items 1..9 were evicted in turn.
    REQUIRE(ch.discarded_count() == 9);
    // Every slot held: a non-blocking evicting write cannot make room.
    auto w = ch.try_begin_write(0u, 11u);
    REQUIRE(w);
    REQUIRE(ch.try_write(stamped{0, 12}) == pc::status::full);
    REQUIRE(held->intact());
}

TEMPLATE_TEST_CASE("semaphore: an evicting writer that found every slot held wakes when a reader releases", "",
                   pc::ordering::discard_old, pc::ordering::always_last) {
    fixed_channel<TestType, 1> ch;
    REQUIRE(ch.write(stamped{0, 0}) == pc::status::ok);
    auto held = ch.begin_read(); // the only slot is now in a read transaction
    REQUIRE(held);
    std::atomic<int> result{-1};
    std::thread writer{[&] { result = static_cast<int>(ch.write(stamped{1, 1})); }};
    std::this_thread::sleep_for(20ms); // lets the writer block (the test passes either way)
    REQUIRE(held->intact());
    { auto gone = std::move(held); } // release
    writer.join();
    REQUIRE(result == static_cast<int>(pc::status::ok));
    auto r = ch.try_begin_read();
    REQUIRE(r);
    REQUIRE(r->writer == 1);
}

TEMPLATE_TEST_CASE("semaphore: an evicting writer that found every slot held wakes when a writer commits", "",
                   pc::ordering::discard_old, pc::ordering::always_last) {
    fixed_channel<TestType, 1> ch;
    auto first = ch.begin_write(0u, 0u); // the only slot is now in a write transaction
    REQUIRE(first);
    std::atomic<int> result{-1};
    std::thread writer{[&] { result = static_cast<int>(ch.write(stamped{1, 1})); }};
    std::this_thread::sleep_for(20ms);
    REQUIRE(first.commit() == pc::status::ok); // now there is an item the writer can evict
    writer.join();
    REQUIRE(result == static_cast<int>(pc::status::ok));
    REQUIRE(ch.discarded_count() == 1);
    auto r = ch.try_begin_read();
    REQUIRE(r);
    REQUIRE(r->writer == 1);
}

/// Several writers evict while several readers hold read transactions and check, before and
/// after letting the writers run, that their item is whole and still theirs.
template <class Ordering>
void eviction_stress(int writers, int readers, std::uint32_t items_per_writer) {
    fixed_channel<Ordering, 3> ch;
    std::atomic<long> written{0}, read{0}, damaged{0}, out_of_order{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (std::uint32_t s = 0; s < items_per_writer; ++s)
                if (ch.write(stamped{static_cast<std::uint32_t>(w), s}) == pc::status::ok) ++written;
        });
    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&] {
            std::vector<long> last(static_cast<std::size_t>(writers), -1);
            for (;;) {
                auto t = ch.begin_read();
                if (!t) break; // closed and drained
                std::uint32_t const w = t->writer, s = t->seq;
                if (!t->intact()) ++damaged;
                std::this_thread::yield(); // writers evict meanwhile
                if (!t->intact() || t->writer != w || t->seq != s) ++damaged;
                // Per writer, a reader never sees an older item after a newer one.
                if (w < last.size()) {
                    if (static_cast<long>(s) <= last[w]) ++out_of_order;
                    last[w] = s;
                }
                ++read;
            }
        });
    for (int w = 0; w < writers; ++w) threads[static_cast<std::size_t>(w)].join();
    ch.close();
    for (std::size_t i = static_cast<std::size_t>(writers); i < threads.size(); ++i) threads[i].join();
    CHECK(damaged == 0);
    CHECK(out_of_order == 0);
    CHECK(written == static_cast<long>(writers) * items_per_writer);
    // Every item written was either read or evicted; nothing is left after the drain.
    CHECK(read + static_cast<long>(ch.discarded_count()) == written);
    CHECK(ch.ready_size() == 0);
    CHECK(ch.free_size() == 3);
}

TEST_CASE("semaphore stress: discard_old writers never damage a slot held by a reader") {
    eviction_stress<pc::ordering::discard_old>(3, 3, 40'000 / POLYCHAN_TEST_SCALE);
}

TEST_CASE("semaphore stress: always_last writers and readers never damage a held slot") {
    eviction_stress<pc::ordering::always_last>(3, 3, 40'000 / POLYCHAN_TEST_SCALE);
}

// ---- close() -----------------------------------------------------------------------------

TEST_CASE("semaphore: close() wakes many blocked readers and writers") {
    constexpr int blocked = 12;
    // Writers block on a full channel, readers on an empty one, evicting writers on a
    // channel whose every slot is held by a write transaction (the doorbell).
    pc::channel<int, pc::storage::heap, pc::ordering::block, pc::sync::semaphore> full{2};
    pc::channel<int, pc::storage::heap, pc::ordering::block, pc::sync::semaphore> empty{2};
    fixed_channel<pc::ordering::discard_old, 1> held;
    REQUIRE(full.write(1) == pc::status::ok);
    REQUIRE(full.write(2) == pc::status::ok);
    auto claim = held.begin_write(0u, 0u);
    REQUIRE(claim);

    std::atomic<int> writers_closed{0}, readers_closed{0}, evictors_closed{0}, started{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < blocked; ++i) {
        threads.emplace_back([&] {
            ++started;
            if (full.write(3) == pc::status::closed) ++writers_closed;
        });
        threads.emplace_back([&] {
            ++started;
            int v = 0;
            if (!empty.read(v)) ++readers_closed;
        });
        threads.emplace_back([&] {
            ++started;
            if (held.write(stamped{1, 1}) == pc::status::closed) ++evictors_closed;
        });
    }
    while (started < 3 * blocked) std::this_thread::yield();
    std::this_thread::sleep_for(50ms); // lets them reach their sleep (the test passes either way)
    full.close();
    empty.close();
    held.close();
    for (auto& t : threads) t.join();
    CHECK(writers_closed == blocked);
    CHECK(readers_closed == blocked);
    CHECK(evictors_closed == blocked);
    // Readers still drain what was written before close, then see closed.
    int v = 0;
    CHECK(full.try_read(v) == pc::status::ok);
    CHECK(v == 1);
    CHECK(full.try_read(v) == pc::status::ok);
    CHECK(v == 2);
    CHECK(full.try_read(v) == pc::status::closed);
    // A transaction claimed before close cannot publish after it.
    CHECK(claim.commit() == pc::status::closed);
    CHECK(held.free_size() == 1);
}

TEST_CASE("semaphore: close() during traffic loses nothing that was written ok") {
    pc::channel<int, pc::storage::heap, pc::ordering::block, pc::sync::semaphore> ch{4};
    constexpr int writers = 4, readers = 4;
    std::atomic<long> ok_writes{0}, reads{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&] {
            while (!stop) {
                auto const s = ch.write(1);
                if (s == pc::status::ok) ++ok_writes;
                if (s == pc::status::closed) break;
            }
        });
    for (int r = 0; r < readers; ++r)
        threads.emplace_back([&] {
            int v = 0;
            while (ch.read(v)) ++reads;
        });
    while (ok_writes < 20'000 / POLYCHAN_TEST_SCALE) std::this_thread::yield();
    ch.close(); // while writers and readers are busy
    stop = true;
    for (auto& t : threads) t.join();
    CHECK(reads == ok_writes);
    CHECK(ch.ready_size() == 0);
}

TEST_CASE("semaphore: timeouts leave the permits consistent") {
    pc::channel<int, pc::storage::heap, pc::ordering::block, pc::sync::semaphore> ch{1};
    int v = 0;
    for (int i = 0; i < 3; ++i) REQUIRE(ch.read_for(v, 1ms) == pc::status::timeout);
    REQUIRE(ch.write(1) == pc::status::ok);
    for (int i = 0; i < 3; ++i) REQUIRE(ch.write_for(2, 1ms) == pc::status::timeout);
    REQUIRE(ch.read_for(v, 1ms) == pc::status::ok);
    REQUIRE(v == 1);
    REQUIRE(ch.write_for(3, 1ms) == pc::status::ok);
    REQUIRE(ch.read_for(v, 1ms) == pc::status::ok);
    REQUIRE(v == 3);
    REQUIRE(ch.ready_size() == 0);
    REQUIRE(ch.free_size() == 1);
}

} // namespace
