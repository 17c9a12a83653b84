// Conformance, one thread: object lifetimes. Every item constructed in a channel is destroyed
// exactly once — read, evicted, abandoned or left inside when the channel is destroyed — and a
// copy constructor that throws mid-write leaves the channel as it was.
#include "support.hpp"

#include <stdexcept>
#include <vector>

using namespace polychan;
using namespace polychan::test;

namespace {

/// Slots that hold an item or are free add up to the capacity when no transaction is open,
/// and every live `counted` is either in the channel or one of `outside`.
template <class Composition, class Channel>
void check_consistent(Channel& ch, long outside) {
    if constexpr (!Composition::unbounded) CHECK(ch.ready_size() + ch.free_size() == ch.capacity());
    CHECK(counted::live.load() == static_cast<long>(ch.ready_size()) + outside);
}

} // namespace

TEMPLATE_LIST_TEST_CASE("destroying a channel destroys the items still inside", "[lifetime]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    {
        channel_for<TestType, counted, 8> ch;
        REQUIRE(ch.write(counted{-1}) == status::ok);
        {
            auto r = ch.begin_read();
            REQUIRE(r);
        }
        for (int i = 0; i < 5; ++i) REQUIRE(ch.write(counted{i}) == status::ok);
        {
            auto abandoned = ch.begin_write(100);
            REQUIRE(abandoned);
        }
        CHECK(counted::live.load() == static_cast<long>(ch.ready_size()));
        CHECK(counted::live.load() > 0);
    }
    // lifetime_check: everything destroyed exactly once
}

TEMPLATE_LIST_TEST_CASE("destroying a closed channel destroys the items it still holds", "[lifetime]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    {
        channel_for<TestType, counted, 4> ch;
        for (int i = 0; i < 3; ++i) REQUIRE(ch.write(counted{i}) == status::ok);
        ch.close();
        CHECK(counted::live.load() == 3);
    }
}

TEMPLATE_LIST_TEST_CASE("a copy constructor that throws mid-write leaves the channel consistent", "[lifetime]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr int n = 4;
    channel_for<TestType, counted, n> ch;
    REQUIRE(ch.write(counted{0}) == status::ok); // moved in: no copy
    REQUIRE(ch.write(counted{1}) == status::ok);
    counted const item{7};

    auto const arm = [] { counted::copies_until_throw = 1; };
    arm();
    CHECK_THROWS_AS(ch.write(item), counted::copy_failure);
    check_consistent<TestType>(ch, 1);
    arm();
    CHECK_THROWS_AS(ch.try_write(item), counted::copy_failure);
    arm();
    CHECK_THROWS_AS(ch.write_for(item, std::chrono::seconds(1)), counted::copy_failure);
    arm();
    CHECK_THROWS_AS(ch.emplace(item), counted::copy_failure);
    arm();
    CHECK_THROWS_AS(ch.begin_write(item), counted::copy_failure);
    check_consistent<TestType>(ch, 1);
    CHECK(ch.ready_size() == 2);
    CHECK(ch.discarded_count() == 0);

    // Throwing while full: block and discard_new never get to the copy; the evicting orderings
    // have already evicted (and counted) the oldest item when the copy throws.
    REQUIRE(ch.write(counted{2}) == status::ok);
    REQUIRE(ch.write(counted{3}) == status::ok);
    arm();
    if constexpr (!TestType::unbounded && (uses<TestType, ordering::block> || uses<TestType, ordering::discard_new>)) {
        CHECK(ch.try_write(item) == (uses<TestType, ordering::block> ? status::full : status::discarded));
        CHECK(counted::copies_until_throw.load() == 1); // no copy was attempted
    } else {
        CHECK_THROWS_AS(ch.try_write(item), counted::copy_failure);
    }
    counted::copies_until_throw = 0;
    check_consistent<TestType>(ch, 1);

    std::vector<int> expected;
    if constexpr (TestType::unbounded) {
        CHECK(ch.discarded_count() == 0);
        expected = {0, 1, 2, 3};
    } else if constexpr (uses<TestType, ordering::block> || uses<TestType, ordering::discard_new>) {
        CHECK(ch.discarded_count() == (uses<TestType, ordering::discard_new> ? 1u : 0u));
        counted out{-1}; // make room for the write below
        REQUIRE(ch.try_read(out) == status::ok);
        CHECK(out.value() == 0);
        expected = {1, 2, 3};
    } else {
        CHECK(ch.discarded_count() == 1);
        CHECK(ch.ready_size() == n - 1);
        expected = {1, 2, 3};
    }

    // Later writes and reads are correct.
    auto const made = counted::constructions.load();
    CHECK(ch.write(item) == status::ok);
    CHECK(counted::constructions.load() == made + 1); // exactly one copy, into the slot
    expected.push_back(7);
    if constexpr (uses<TestType, ordering::always_last>) {
        CHECK(drain(ch) == std::vector<int>{7});
    } else {
        CHECK(drain(ch) == expected);
    }
    check_consistent<TestType>(ch, 1);
}

TEMPLATE_LIST_TEST_CASE("copies and moves: an lvalue is copied once, an rvalue moved once", "[lifetime]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    channel_for<TestType, counted, 4> ch;
    counted a{1};
    auto before = counted::constructions.load();
    REQUIRE(ch.write(a) == status::ok);
    CHECK(counted::constructions.load() == before + 1);
    before = counted::constructions.load();
    REQUIRE(ch.write(counted{2}) == status::ok); // the temporary + one move into the slot
    CHECK(counted::constructions.load() == before + 2);
    before = counted::constructions.load();
    REQUIRE(ch.emplace(3) == status::ok); // constructed in place
    CHECK(counted::constructions.load() == before + 1);
    CHECK(counted::live.load() == 1 + static_cast<long>(ch.ready_size()));
}

namespace {
/// An item whose move assignment throws when armed: read(T&) moves the item out by assignment.
struct assign_throws {
    struct failure : std::runtime_error {
        failure() : std::runtime_error("assign_throws: move assignment failed on purpose") {}
    };
    int value = 0;
    explicit assign_throws(int v) : value{v} {}
    assign_throws(assign_throws&&) noexcept = default;
    assign_throws& operator=(assign_throws&& o) {
        if (armed) throw failure{};
        value = o.value;
        return *this;
    }
    static inline bool armed = false;
};
} // namespace

TEMPLATE_LIST_TEST_CASE("a move assignment that throws mid-read consumes the item and leaves the channel usable",
                        "[lifetime]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    channel_for<TestType, assign_throws, 4> ch;
    REQUIRE(ch.write(assign_throws{1}) == status::ok);
    REQUIRE(ch.write(assign_throws{2}) == status::ok);
    assign_throws out{0};
    assign_throws::armed = true;
    CHECK_THROWS_AS(ch.read(out), assign_throws::failure); // the slot is released all the same
    assign_throws::armed = false;
    constexpr bool newest = uses<TestType, ordering::always_last>; // that read took 2 and dropped 1
    CHECK(out.value == 0);
    CHECK(ch.ready_size() == (newest ? 0u : 1u));
    // Every lock the read took is free again: a write and a read go through.
    REQUIRE(ch.try_write(assign_throws{3}) == status::ok);
    REQUIRE(ch.try_read(out) == status::ok);
    CHECK(out.value == (newest ? 3 : 2));
    CHECK(ch.ready_size() == (newest ? 0u : 1u));
    if constexpr (!TestType::unbounded) CHECK(ch.free_size() + ch.ready_size() == ch.capacity());
}
