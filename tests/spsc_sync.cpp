// polychan tests — the spsc sync policy's own guarantees, beyond the conformance suite.
//
// A reader blocked at position p of a full discard_old / always_last ring must not wait for
// p itself: the writer may evict p, move head past it and write a later position into p's
// slot, so "slot p holds p" never becomes true. (Found by the soak test: the reader stayed
// blocked in read() with 8 items ready until close(); read_for overran its timeout.)
#include <polychan/polychan.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>

namespace {
using namespace std::chrono_literals;
namespace pc = polychan;

template <class Ordering>
void reader_never_waits_for_an_evicted_item() {
    pc::channel<std::uint64_t, pc::storage::heap, Ordering, pc::sync::spsc> ch{8};
    std::atomic<bool> stop{false};
    // Catch2's assertions are not thread-safe: the threads count, the test thread checks.
    std::atomic<std::uint64_t> written{0}, received{0}, refused{0}, out_of_order{0};
    std::thread writer{[&] {
        for (std::uint64_t i = 0; !stop.load(); ++i) {
            if (ch.write(i) != pc::status::ok) refused.fetch_add(1);
            written.store(i + 1);
        }
    }};
    std::thread reader{[&] {
        std::uint64_t v = 0, last = 0;
        bool first = true;
        while (ch.read(v)) {
            if (!first && v <= last) out_of_order.fetch_add(1); // FIFO among survivors, nothing twice
            first = false;
            last = v;
            received.fetch_add(1);
        }
    }};
    std::this_thread::sleep_for(500ms);
    stop = true;
    writer.join();
    // The writer has stopped; what is left must reach the reader without any further write.
    auto const until = std::chrono::steady_clock::now() + 5s;
    while (ch.ready_size() > 0 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    CHECK(ch.ready_size() == 0);
    ch.close();
    reader.join();
    CHECK(refused.load() == 0);
    CHECK(out_of_order.load() == 0);
    CHECK(received.load() + ch.discarded_count() == written.load());
}

/// read_for on a ring the writer keeps evicting under it ends close to its timeout.
template <class Ordering>
void read_for_keeps_its_deadline() {
    pc::channel<std::uint64_t, pc::storage::heap, Ordering, pc::sync::spsc> ch{4};
    std::atomic<bool> stop{false};
    std::thread writer{[&] {
        for (std::uint64_t i = 0; !stop.load(); ++i) ch.write(i);
    }};
    std::uint64_t v = 0;
    for (int k = 0; k < 200; ++k) {
        auto const t0 = std::chrono::steady_clock::now();
        pc::status const s = ch.read_for(v, 20ms);
        CHECK((s == pc::status::ok || s == pc::status::timeout));
        // Not a timing assertion on speed: a wait that overruns by a second is a wait that
        // ignored its deadline (the bug measured 60-450 ms over a 20 ms timeout).
        CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    }
    stop = true;
    writer.join();
}

/// A writer blocked on a full ring goes on as soon as the reader frees a slot, even if the
/// reader then stops: `freed` slots are read, then nothing more until the writes return.
void blocked_writer_goes_on_when_the_reader_stops(std::size_t capacity, std::size_t freed) {
    pc::channel<std::uint64_t, pc::storage::heap, pc::ordering::block, pc::sync::spsc> ch{capacity};
    for (std::uint64_t i = 0; i < capacity; ++i) REQUIRE(ch.try_write(i) == pc::status::ok);
    std::atomic<int> writes_done{0};
    std::thread writer{[&] {
        for (std::size_t k = 0; k < freed; ++k) {
            ch.write(std::uint64_t{capacity + k}); // each finds the ring full, then a slot
            writes_done.fetch_add(1);
        }
    }};
    std::this_thread::sleep_for(20ms); // the writer is waiting now (if not, nothing changes)
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < freed; ++k) {
        REQUIRE(ch.read(v));
        CHECK(v == k);
    }
    // No further read: a writer that waited for more than was freed would hang here (ctest's timeout).
    writer.join();
    CHECK(writes_done.load() == static_cast<int>(freed));
    CHECK(ch.ready_size() == capacity);
    for (std::uint64_t i = freed; i < capacity + freed; ++i) {
        REQUIRE(ch.try_read(v) == pc::status::ok);
        CHECK(v == i);
    }
}

} // namespace

TEST_CASE("spsc: a blocked writer goes on when the reader frees a few slots and stops", "[spsc]") {
    blocked_writer_goes_on_when_the_reader_stops(64, 1);
    blocked_writer_goes_on_when_the_reader_stops(64, 3);
    blocked_writer_goes_on_when_the_reader_stops(1024, 5);
    blocked_writer_goes_on_when_the_reader_stops(2, 1);
}

TEMPLATE_TEST_CASE("spsc: a blocked reader is never left waiting for an item the writer evicted", "[spsc]",
                   pc::ordering::discard_old, pc::ordering::always_last) {
    reader_never_waits_for_an_evicted_item<TestType>();
}

TEMPLATE_TEST_CASE("spsc: read_for under constant eviction returns", "[spsc]", pc::ordering::discard_old,
                   pc::ordering::always_last) {
    read_for_keeps_its_deadline<TestType>();
}

// write() claims without marking the claim (one_op: it publishes in the same call), so the
// mark must still be what refuses a write() while this writer's own transaction is open, and
// no write() (one that throws included) may leave a claim or a slot behind.
TEMPLATE_TEST_CASE("spsc: write() beside an open write transaction is refused; write() leaves no claim", "[spsc]",
                   pc::ordering::block, pc::ordering::discard_old) {
    struct throws_on_copy {
        std::uint64_t v = 0;
        bool fail = false;
        throws_on_copy(std::uint64_t x, bool f) : v{x}, fail{f} {}
        throws_on_copy(const throws_on_copy& o) : v{o.v}, fail{o.fail} {
            if (fail) throw std::runtime_error("copy");
        }
        throws_on_copy& operator=(const throws_on_copy&) = default;
    };
    pc::channel<throws_on_copy, pc::storage::heap, TestType, pc::sync::spsc> ch{4};
    {
        auto w = ch.begin_write(throws_on_copy{1, false});
        REQUIRE(w);
        CHECK_THROWS_AS(ch.write(throws_on_copy{2, false}), std::logic_error);
        CHECK(ch.free_size() == 3); // the transaction's slot, and nothing for the refused write()
        CHECK(w.commit() == pc::status::ok);
    }
    CHECK_THROWS_AS(ch.write(throws_on_copy{3, true}), std::runtime_error);
    CHECK(ch.write(throws_on_copy{4, false}) == pc::status::ok);
    CHECK(ch.ready_size() == 2);
    CHECK(ch.free_size() == 2);
    {
        auto w = ch.begin_write(throws_on_copy{5, false}); // no claim was left open by write()
        REQUIRE(w);
        CHECK(w.commit() == pc::status::ok);
    }
    std::uint64_t expected[] = {1, 4, 5};
    for (std::uint64_t e : expected) {
        auto r = ch.begin_read();
        REQUIRE(r);
        CHECK(r->v == e);
    }
    CHECK(ch.free_size() == 4);
    CHECK(ch.ready_size() == 0);
}
