// Conformance, one thread: close() semantics, range-for, transactions, move-only items and
// items without a default constructor.
#include "support.hpp"

#include <chrono>
#include <memory>
#include <vector>

using namespace polychan;
using namespace polychan::test;
using namespace std::chrono_literals;

TEMPLATE_LIST_TEST_CASE("after close: readers drain, then see closed", "[close]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    channel_for<TestType, counted, 4> ch;
    for (int i = 0; i < 3; ++i) REQUIRE(ch.write(counted{i}) == status::ok);
    ch.close();
    CHECK(ch.is_closed());
    CHECK(ch.ready_size() == 3);

    std::vector<int> drained;
    counted out{-1};
    while (ch.try_read(out) == status::ok) drained.push_back(out.value());
    if constexpr (uses<TestType, ordering::always_last>) {
        CHECK(drained == std::vector<int>{2}); // the newest only
    } else {
        CHECK(drained == std::vector<int>{0, 1, 2});
    }
    CHECK(ch.try_read(out) == status::closed);
    CHECK(ch.read_for(out, 1h) == status::closed);
    CHECK(ch.read_until(out, std::chrono::steady_clock::now() + 1h) == status::closed);
    CHECK_FALSE(ch.read(out));
    CHECK_FALSE(ch.read());
    auto r = ch.begin_read();
    CHECK_FALSE(r);
    CHECK(r.status() == status::closed);
    CHECK(ch.try_begin_read().status() == status::closed);
    CHECK(out.value() == drained.back());
    CHECK(ch.ready_size() == 0);
}

TEMPLATE_LIST_TEST_CASE("after close: every write form returns closed and consumes nothing", "[close]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    channel_for<TestType, std::unique_ptr<counted>, 2> ch;
    REQUIRE(ch.write(std::make_unique<counted>(1)) == status::ok);
    ch.close();

    auto item = std::make_unique<counted>(7);
    CHECK(ch.write(std::move(item)) == status::closed);
    CHECK(ch.try_write(std::move(item)) == status::closed);
    CHECK(ch.write_for(std::move(item), 1h) == status::closed);
    CHECK(ch.write_until(std::move(item), std::chrono::steady_clock::now() + 1h) == status::closed);
    CHECK(ch.write_until(std::move(item), std::chrono::system_clock::now() + 1h) == status::closed);
    CHECK(ch.emplace(std::move(item)) == status::closed);
    REQUIRE(item); // a write that does not happen leaves the move-only item with its owner
    CHECK(item->value() == 7);
    CHECK(counted::live.load() == 2);

    auto w = ch.begin_write();
    CHECK_FALSE(w);
    CHECK(w.status() == status::closed);
    CHECK(ch.try_begin_write().status() == status::closed);
    CHECK(ch.begin_write_for(1h).status() == status::closed);
    CHECK_THROWS_AS(*w, bad_transaction);
    CHECK_THROWS_AS(w.commit(), bad_transaction);

    CHECK(ch.ready_size() == 1);
    auto v = ch.read();
    REQUIRE(v);
    REQUIRE(*v);
    CHECK((*v)->value() == 1);
    CHECK_FALSE(ch.read());
}

TEMPLATE_LIST_TEST_CASE("range-for reads until closed and drained", "[close]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    channel_for<TestType, counted, 4> ch;
    for (int i = 0; i < 4; ++i) REQUIRE(ch.write(counted{i}) == status::ok);
    ch.close();
    std::vector<int> seen;
    for (counted& c : ch) seen.push_back(c.value());
    if constexpr (uses<TestType, ordering::always_last>) {
        CHECK(seen == std::vector<int>{3});
    } else {
        CHECK(seen == std::vector<int>{0, 1, 2, 3});
    }
    for (counted& c : ch) seen.push_back(c.value()); // a second loop over the closed channel is empty
    CHECK(seen.size() == (uses<TestType, ordering::always_last> ? 1u : 4u));
}

TEMPLATE_LIST_TEST_CASE("write transactions: commit publishes, abandoning returns the slot", "[transaction]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr std::size_t n = 2;
    channel_for<TestType, counted, n> ch;
    auto const free_before = ch.free_size();
    {
        auto w = ch.begin_write(5);
        REQUIRE(w);
        CHECK(w.status() == status::ok);
        CHECK(w->value() == 5);
        *w = counted{6}; // filled in place
        if constexpr (!TestType::unbounded) CHECK(ch.free_size() == free_before - 1);
        CHECK(ch.ready_size() == 0); // not visible before commit
        CHECK(ch.try_begin_read().status() == status::empty);
        CHECK(w.commit() == status::ok);
        CHECK_FALSE(w); // a committed transaction holds nothing
        CHECK(ch.ready_size() == 1);
    }
    {
        auto w = ch.try_begin_write(9);
        REQUIRE(w);
        CHECK(counted::live.load() == 2);
    } // abandoned: the item is destroyed and the slot returned
    CHECK(counted::live.load() == 1);
    CHECK(ch.ready_size() == 1);
    if constexpr (!TestType::unbounded) CHECK(ch.free_size() == n - 1);
    CHECK(ch.discarded_count() == 0);

    auto v = ch.read();
    REQUIRE(v);
    CHECK(v->value() == 6);
    CHECK(ch.try_read(*v) == status::empty); // the abandoned 9 was never delivered

    // A transaction that was moved from gives up its slot exactly once.
    {
        auto w = ch.begin_write(11);
        auto moved = std::move(w);
        CHECK_FALSE(w);
        REQUIRE(moved);
        CHECK(moved.commit() == status::ok);
    }
    auto last = ch.read();
    REQUIRE(last);
    CHECK(last->value() == 11);
}

TEMPLATE_LIST_TEST_CASE("read transactions: use in place, released on scope exit", "[transaction]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr std::size_t n = 2;
    channel_for<TestType, counted, n> ch;
    CHECK(ch.try_begin_read().status() == status::empty);
    REQUIRE(ch.write(counted{1}) == status::ok);
    REQUIRE(ch.write(counted{2}) == status::ok);
    {
        auto r = ch.begin_read();
        REQUIRE(r);
        CHECK(r.status() == status::ok);
        if constexpr (uses<TestType, ordering::always_last>) {
            CHECK(r->value() == 2);
            CHECK(ch.ready_size() == 0);
        } else {
            CHECK(r->value() == 1);
            CHECK(ch.ready_size() == 1);
        }
        if constexpr (!TestType::unbounded) CHECK(ch.free_size() == n - 1 - ch.ready_size()); // still held
        CHECK(counted::live.load() == 2 - static_cast<long>(ch.discarded_count()));
    }
    if constexpr (!TestType::unbounded) CHECK(ch.free_size() == n - ch.ready_size());
    CHECK(counted::live.load() == static_cast<long>(ch.ready_size()));
}

TEMPLATE_LIST_TEST_CASE("try_begin_write on a full channel and commit after close", "[transaction]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr std::size_t n = 2;
    channel_for<TestType, counted, n> ch;
    for (int i = 0; i < static_cast<int>(n); ++i) REQUIRE(ch.write(counted{i}) == status::ok);
    {
        auto w = ch.try_begin_write(9);
        if constexpr (TestType::unbounded) {
            CHECK(w);
        } else if constexpr (uses<TestType, ordering::block>) {
            CHECK(w.status() == status::full);
        } else if constexpr (uses<TestType, ordering::discard_new>) {
            CHECK(w.status() == status::discarded);
        } else {
            CHECK(w); // evicts the oldest to make room
            CHECK(ch.discarded_count() == 1);
        }
    }
    while (ch.try_begin_read()) {
    }

    auto w = ch.begin_write(3);
    REQUIRE(w);
    ch.close();
    CHECK(w.commit() == status::closed); // nothing is delivered after close
    CHECK(counted::live.load() == 0);    // the item was destroyed, not leaked
    if constexpr (!TestType::unbounded) CHECK(ch.free_size() == n);
    CHECK_FALSE(ch.read());
}

TEMPLATE_LIST_TEST_CASE("move-only items", "[types]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    using item = std::unique_ptr<int>;
    channel_for<TestType, item, 4> ch;
    CHECK(ch.write(std::make_unique<int>(1)) == status::ok);
    CHECK(ch.emplace(new int{2}) == status::ok);
    CHECK(ch.try_write(std::make_unique<int>(3)) == status::ok);
    {
        auto w = ch.begin_write(std::make_unique<int>(0));
        REQUIRE(w);
        **w = 4;
        CHECK(w.commit() == status::ok);
    }
    std::vector<int> seen;
    if constexpr (uses<TestType, ordering::always_last>) {
        auto v = ch.read();
        REQUIRE(v);
        REQUIRE(*v);
        seen.push_back(**v);
        CHECK(seen == std::vector<int>{4});
    } else {
        item out;
        REQUIRE(ch.read(out));
        seen.push_back(*out);
        auto v = ch.read();
        REQUIRE(v);
        seen.push_back(**v);
        {
            auto r = ch.begin_read();
            REQUIRE(r);
            seen.push_back(**r);
            item taken = std::move(*r); // a reader may take the item out of the slot
            CHECK(*taken == 3);
        }
        REQUIRE(ch.try_read(out) == status::ok);
        seen.push_back(*out);
        CHECK(seen == std::vector<int>{1, 2, 3, 4});
    }
    CHECK(ch.empty());
}

TEMPLATE_LIST_TEST_CASE("items without a default constructor", "[types]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    static_assert(!std::is_default_constructible_v<no_default>);
    channel_for<TestType, no_default, 4> ch;
    no_default const one{1};
    CHECK(ch.write(one) == status::ok);
    CHECK(ch.write(no_default{2}) == status::ok);
    CHECK(ch.emplace(3) == status::ok);
    {
        auto w = ch.begin_write(4);
        REQUIRE(w);
        CHECK(w.commit() == status::ok);
    }
    if constexpr (uses<TestType, ordering::always_last>) {
        auto v = ch.read();
        REQUIRE(v);
        CHECK(v->value == 4);
    } else {
        no_default out{0};
        REQUIRE(ch.read(out));
        CHECK(out.value == 1);
        auto v = ch.read();
        REQUIRE(v);
        CHECK(v->value == 2);
        CHECK(ch.try_begin_read()->value == 3);
        CHECK(ch.read_for(out, 1s) == status::ok);
        CHECK(out.value == 4);
    }
    CHECK(ch.empty());
}
