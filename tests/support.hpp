// polychan tests — item types that watch their own lifetimes, and small test helpers.
#pragma once

#include "compositions.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace polychan::test {

/// An item that counts constructions and destructions and detects double destruction and use
/// after destruction through a per-object marker. Its copy constructor can be told to throw.
class counted {
  public:
    struct copy_failure : std::runtime_error {
        copy_failure() : std::runtime_error("counted: copy constructor failed on purpose") {}
    };

    explicit counted(int v) : value_{v} { born(); }
    counted(const counted& o) : value_{o.checked()} {
        if (copies_until_throw.load() > 0 && copies_until_throw.fetch_sub(1) == 1) throw copy_failure{};
        born();
    }
    counted(counted&& o) noexcept : value_{o.checked()} { born(); }
    counted& operator=(const counted& o) {
        value_ = o.checked();
        return *this;
    }
    counted& operator=(counted&& o) noexcept {
        value_ = o.checked();
        return *this;
    }
    ~counted() {
        if (marker_ != alive) bad_destructions.fetch_add(1);
        marker_ = dead;
        live.fetch_sub(1);
        destructions.fetch_add(1);
    }

    int value() const { return checked(); }

    static void reset() {
        live = 0;
        constructions = 0;
        destructions = 0;
        bad_destructions = 0;
        bad_uses = 0;
        copies_until_throw = 0;
    }

    static inline std::atomic<long> live{0};
    static inline std::atomic<long> constructions{0};
    static inline std::atomic<long> destructions{0};
    static inline std::atomic<long> bad_destructions{0};
    static inline std::atomic<long> bad_uses{0};
    /// When > 0, the copy that brings it to 0 throws.
    static inline std::atomic<int> copies_until_throw{0};

  private:
    static constexpr std::uint64_t alive = 0xA11CE'A11CE'A11CEull;
    static constexpr std::uint64_t dead = 0xDEAD'DEAD'DEADull;

    void born() {
        live.fetch_add(1);
        constructions.fetch_add(1);
    }
    int checked() const {
        if (marker_ != alive) bad_uses.fetch_add(1);
        return value_;
    }

    int value_;
    std::uint64_t marker_ = alive;
};

/// Put at the top of a test: resets the counters and, at scope exit, checks that every
/// `counted` ever constructed was destroyed exactly once and never used while dead.
class lifetime_check {
  public:
    lifetime_check() { counted::reset(); }
    lifetime_check(const lifetime_check&) = delete;
    lifetime_check& operator=(const lifetime_check&) = delete;
    ~lifetime_check() {
        CHECK(counted::live.load() == 0);
        CHECK(counted::constructions.load() == counted::destructions.load());
        CHECK(counted::bad_destructions.load() == 0);
        CHECK(counted::bad_uses.load() == 0);
        counted::reset();
    }
};

/// An item without a default constructor.
struct no_default {
    explicit no_default(int v) : value{v} {}
    int value;
};

/// How long a test lets threads reach their blocking call before acting on them. The tests
/// pass whether or not the threads got there in time; this only makes the interesting
/// interleaving (a thread blocked inside the channel) the likely one.
inline void let_threads_block() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

/// Spins until `pred` or about 10 s, then returns pred(). Used to wait for a counter that
/// other threads advance; never a pass/fail timing.
template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 10'000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return pred();
}

/// Reads every ready `counted` without waiting and returns their values, in read order.
template <class Channel>
std::vector<int> drain(Channel& ch) {
    std::vector<int> out;
    while (auto r = ch.try_begin_read()) out.push_back(r->value());
    return out;
}

/// Whether a writer of composition C can be made to wait: on a full `block` channel, or, for
/// the evicting orderings (which wait only when nothing can be evicted), when every slot is
/// held by an open write transaction. Unbounded channels and discard_new never make a writer wait.
template <class C>
inline constexpr bool writers_wait_when_full = !C::unbounded && uses<C, ordering::block>;
template <class C>
inline constexpr bool writers_wait_when_all_held =
    !C::unbounded && !C::sync::single_writer && (uses<C, ordering::discard_old> || uses<C, ordering::always_last>);

/// Leaves no slot a writer could take: writes `counted{0..n-1}` into a `block` channel, or
/// holds n write transactions of `counted{0..n-1}` (returned) for the evicting orderings.
template <class C, class Channel>
std::vector<typename Channel::write_transaction> occupy_every_slot(Channel& ch, std::size_t n) {
    static_assert(writers_wait_when_full<C> || writers_wait_when_all_held<C>);
    std::vector<typename Channel::write_transaction> held;
    held.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        if constexpr (writers_wait_when_full<C>) {
            REQUIRE(ch.write(counted{static_cast<int>(i)}) == status::ok);
        } else {
            held.push_back(ch.begin_write(static_cast<int>(i)));
            REQUIRE(held.back());
        }
    }
    REQUIRE(ch.full());
    return held;
}

/// Workload multiplier: the sanitizer builds define POLYCHAN_TEST_SCALE as a divisor.
#ifndef POLYCHAN_TEST_SCALE
#define POLYCHAN_TEST_SCALE 1
#endif
inline constexpr int test_scale = POLYCHAN_TEST_SCALE;

} // namespace polychan::test

namespace Catch {
template <>
struct StringMaker<polychan::status> {
    static std::string convert(polychan::status s) { return std::string{polychan::to_string(s)}; }
};
} // namespace Catch
