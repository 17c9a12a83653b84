// Conformance, one thread: what each ordering does when the channel fills up, the size
// accessors, and timeouts.
#include "support.hpp"

#include <chrono>
#include <vector>

using namespace polychan;
using namespace polychan::test;
using namespace std::chrono_literals;

namespace {

std::vector<int> iota(int first, int last) {
    std::vector<int> v;
    for (int i = first; i < last; ++i) v.push_back(i);
    return v;
}

/// Runs `op` and returns its result and how long it took.
template <class Op>
auto timed(Op op) {
    auto const start = std::chrono::steady_clock::now();
    auto result = op();
    return std::pair{result, std::chrono::steady_clock::now() - start};
}

} // namespace

TEMPLATE_LIST_TEST_CASE("writing 2N items into capacity N: each ordering keeps exactly what it promises", "[ordering]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr int n = 4;
    channel_for<TestType, counted, n> ch;
    std::vector<status> results;
    for (int i = 0; i < 2 * n; ++i) results.push_back(ch.try_write(counted{i}));

    auto const ok = std::vector<status>(2 * n, status::ok);
    auto const first_half_ok = [&](status rest) {
        std::vector<status> v(n, status::ok);
        v.resize(2 * n, rest);
        return v;
    };

    if constexpr (TestType::unbounded) {
        CHECK(results == ok);
        if constexpr (uses<TestType, ordering::always_last>) {
            CHECK(ch.ready_size() == 2 * n);
            CHECK(drain(ch) == std::vector<int>{2 * n - 1}); // only the newest; the rest are evicted
            CHECK(ch.discarded_count() == 2 * n - 1);
        } else {
            CHECK(drain(ch) == iota(0, 2 * n)); // never full: nothing dropped
            CHECK(ch.discarded_count() == 0);
        }
    } else if constexpr (uses<TestType, ordering::block>) {
        CHECK(results == first_half_ok(status::full));
        CHECK(ch.discarded_count() == 0);
        CHECK(drain(ch) == iota(0, n));
    } else if constexpr (uses<TestType, ordering::discard_new>) {
        CHECK(results == first_half_ok(status::discarded));
        CHECK(ch.discarded_count() == n);
        CHECK(drain(ch) == iota(0, n)); // the first N
    } else if constexpr (uses<TestType, ordering::discard_old>) {
        CHECK(results == ok);
        CHECK(ch.discarded_count() == n);
        CHECK(drain(ch) == iota(n, 2 * n)); // the last N
    } else {
        static_assert(uses<TestType, ordering::always_last>);
        CHECK(results == ok);
        CHECK(ch.discarded_count() == n); // evicted by writers
        CHECK(ch.ready_size() == n);
        CHECK(drain(ch) == std::vector<int>{2 * n - 1});
        CHECK(ch.discarded_count() == 2 * n - 1); // and by the reader
    }
    CHECK(ch.empty());
    CHECK(counted::live.load() == 0); // evicted and discarded items were destroyed
}

TEMPLATE_LIST_TEST_CASE("every write form obeys the ordering on a full channel", "[ordering]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    if constexpr (!TestType::unbounded) {
        lifetime_check lifetimes;
        constexpr int n = 2;
        channel_for<TestType, counted, n> ch;
        for (int i = 0; i < n; ++i) REQUIRE(ch.write(counted{i}) == status::ok);
        REQUIRE(ch.full());
        counted item{42};

        if constexpr (uses<TestType, ordering::block>) {
            CHECK(ch.try_write(item) == status::full);
            CHECK(ch.write_for(item, 1ms) == status::timeout);
            auto t = ch.try_begin_write(7);
            CHECK_FALSE(t);
            CHECK(t.status() == status::full);
        } else if constexpr (uses<TestType, ordering::discard_new>) {
            CHECK(ch.write(item) == status::discarded);
            CHECK(ch.try_write(item) == status::discarded);
            CHECK(ch.write_for(item, 1h) == status::discarded); // never waits
            CHECK(ch.emplace(7) == status::discarded);
            auto t = ch.begin_write(7);
            CHECK_FALSE(t);
            CHECK(t.status() == status::discarded);
            CHECK(ch.discarded_count() == 5);
        } else {
            CHECK(ch.write(item) == status::ok);
            CHECK(ch.try_write(counted{43}) == status::ok);
            CHECK(ch.write_for(counted{44}, 1h) == status::ok);
            CHECK(ch.emplace(45) == status::ok);
            CHECK(ch.discarded_count() == 4);
            if constexpr (uses<TestType, ordering::discard_old>) {
                CHECK(drain(ch) == std::vector<int>{44, 45});
            } else {
                CHECK(drain(ch) == std::vector<int>{45});
            }
        }
        CHECK(item.value() == 42);
        CHECK(counted::live.load() == 1 + static_cast<long>(ch.ready_size()));
    }
}

TEMPLATE_LIST_TEST_CASE("ready_size, free_size, capacity, empty and full agree", "[sizes]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    constexpr std::size_t n = 3;
    channel_for<TestType, int, n> ch;
    auto const expect = [&](std::size_t ready, std::size_t in_transactions) {
        INFO("ready " << ready << ", held by transactions " << in_transactions);
        CHECK(ch.ready_size() == ready);
        CHECK(ch.empty() == (ready == 0));
        if constexpr (TestType::unbounded) {
            CHECK(ch.capacity() == unbounded_capacity);
            CHECK(ch.free_size() == unbounded_capacity);
            CHECK_FALSE(ch.full());
        } else {
            CHECK(ch.capacity() == n);
            CHECK(ch.free_size() == n - ready - in_transactions);
            CHECK(ch.full() == (ready + in_transactions == n));
        }
    };
    expect(0, 0);
    CHECK_FALSE(ch.is_closed());
    REQUIRE(ch.write(1) == status::ok);
    expect(1, 0);
    REQUIRE(ch.write(2) == status::ok);
    expect(2, 0);
    {
        auto w = ch.begin_write(3);
        REQUIRE(w);
        expect(2, 1);
        if constexpr (!uses<TestType, ordering::always_last>) {
            auto r = ch.begin_read();
            REQUIRE(r);
            CHECK(*r == 1);
            expect(1, 2);
        }
        CHECK(w.commit() == status::ok);
    }
    if constexpr (uses<TestType, ordering::always_last>) {
        expect(3, 0);
    } else {
        expect(2, 0);
    }
    ch.close();
    CHECK(ch.is_closed());
    int v = 0;
    while (ch.try_read(v) == status::ok) {
    }
    expect(0, 0);
}

TEMPLATE_LIST_TEST_CASE("reads time out on an empty channel and leave it intact", "[timeout]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    channel_for<TestType, counted, 2> ch;
    counted out{-1};
    constexpr auto wait = 20ms;

    auto [s1, t1] = timed([&] { return ch.read_for(out, wait); });
    CHECK(s1 == status::timeout);
    CHECK(t1 >= wait);
    CHECK(t1 < 5s);

    auto [s2, t2] = timed([&] { return ch.read_until(out, std::chrono::steady_clock::now() + wait); });
    CHECK(s2 == status::timeout);
    CHECK(t2 >= wait);
    CHECK(t2 < 5s);

    auto const until = std::chrono::system_clock::now() + wait; // another clock is converted
    auto [s3, t3] = timed([&] { return ch.read_until(out, until); });
    CHECK(s3 == status::timeout);
    CHECK(t3 < 5s);

    auto [r4, t4] = timed([&] { return ch.begin_read_for(wait).status(); });
    CHECK(r4 == status::timeout);
    CHECK(t4 >= wait);
    CHECK(t4 < 5s);

    CHECK(out.value() == -1);
    CHECK(ch.try_read(out) == status::empty);
    CHECK(ch.ready_size() == 0);
    if constexpr (!TestType::unbounded) CHECK(ch.free_size() == 2);
    REQUIRE(ch.write(counted{5}) == status::ok);
    CHECK(ch.read_for(out, 1s) == status::ok);
    CHECK(out.value() == 5);
    CHECK(ch.read_for(out, -1s) == status::timeout); // a timeout in the past polls
}

TEMPLATE_LIST_TEST_CASE("writes time out when no slot can be had and leave the channel intact", "[timeout]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    constexpr std::size_t n = 2;
    constexpr bool full_blocks = writers_wait_when_full<TestType>;
    if constexpr (full_blocks || writers_wait_when_all_held<TestType>) {
        lifetime_check lifetimes;
        channel_for<TestType, counted, n> ch;
        auto held = occupy_every_slot<TestType>(ch, n);
        counted item{42};
        constexpr auto wait = 20ms;

        auto [s1, t1] = timed([&] { return ch.write_for(item, wait); });
        CHECK(s1 == status::timeout);
        CHECK(t1 >= wait);
        CHECK(t1 < 5s);

        auto [s2, t2] = timed([&] { return ch.write_until(item, std::chrono::steady_clock::now() + wait); });
        CHECK(s2 == status::timeout);
        CHECK(t2 >= wait);
        CHECK(t2 < 5s);

        auto const until = std::chrono::system_clock::now() + wait;
        auto [s3, t3] = timed([&] { return ch.write_until(std::move(item), until); });
        CHECK(s3 == status::timeout);
        CHECK(t3 < 5s);

        auto [s4, t4] = timed([&] { return ch.begin_write_for(wait, 43).status(); });
        CHECK(s4 == status::timeout);
        CHECK(t4 >= wait);
        CHECK(t4 < 5s);

        // Nothing changed: the item was not consumed, sizes are as before, nothing discarded.
        CHECK(item.value() == 42);
        CHECK(counted::live.load() == static_cast<long>(n) + 1);
        CHECK(ch.free_size() == 0);
        CHECK(ch.ready_size() == (full_blocks ? n : 0));
        CHECK(ch.discarded_count() == 0);

        // And the next operations work.
        if constexpr (full_blocks) {
            auto v = ch.read();
            REQUIRE(v);
            CHECK(v->value() == 0);
        } else {
            for (auto& t : held) CHECK(t.commit() == status::ok);
            held.clear();
        }
        CHECK(ch.write_for(item, 1s) == status::ok);
        if constexpr (full_blocks) {
            CHECK(drain(ch) == std::vector<int>{1, 42});
        } else if constexpr (uses<TestType, ordering::discard_old>) {
            CHECK(drain(ch) == std::vector<int>{1, 42});
        } else {
            CHECK(drain(ch) == std::vector<int>{42});
        }
    }
}
