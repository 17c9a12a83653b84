// polychan tests — the semaphore sync policy in a shared-memory segment that another process
// corrupts (issue 6). A hostile peer is played by a raw mapping of /dev/shm/polychan.<name>:
// it sets ONE field of the control block, a ring cell or the segment header to a value no
// healthy channel can hold, while a reader is blocked on an empty channel (or a writer on a
// full one, or an evicting writer on the doorbell). The blocked call must return
// status::corrupt within a few seconds, nobody posting; corruption() must name the field;
// every later claim must return corrupt. A hang ends the test process with a message instead
// of hanging ctest. The waits of the rings (a push or pop that no healthy peer would keep
// waiting) are driven into the same end. And a healthy channel under heavy use (two writers,
// two readers, two attachments of one segment) never reports corrupt.
#include <polychan/ipc.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/shared_memory.hpp>
#include <polychan/sync/semaphore.hpp>

#include <catch2/catch.hpp>

#include "segment_mapping.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef POLYCHAN_TEST_SCALE
#define POLYCHAN_TEST_SCALE 1
#endif

namespace {

using namespace std::chrono_literals;
namespace ipc = polychan::ipc;
using polychan::status;

struct item {
    std::uint64_t seq = 0;
    std::uint64_t writer = 0;
    std::uint64_t check = 0;

    static item make(std::uint64_t w, std::uint64_t s) { return {s, w, ~(s * 31 + w)}; }
    bool intact() const { return check == ~(seq * 31 + writer); }
};

template <class Ordering = polychan::ordering::block>
using channel = ipc::channel<item, Ordering, polychan::sync::semaphore, polychan::storage::shared_memory>;
using core_type = channel<>::local_channel::core_type;
using control = core_type::control;
using slot = core_type::slot;
using ring_ends = decltype(control::free_ends);
using header = polychan::storage::detail::segment_header;
static_assert(std::is_standard_layout_v<control> && std::is_standard_layout_v<slot> &&
                  std::is_standard_layout_v<ring_ends>,
              "the test locates fields with offsetof");

constexpr std::size_t capacity = 4;
constexpr auto limit = 5s; // a blocked call that found nothing within this is hung

std::string unique_name(const std::string& what) {
    static std::atomic<int> n{0};
    return "semct" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(n++);
}

/// The segment as a hostile peer sees it: bytes, written with plain atomic stores.
class raw_segment {
  public:
    explicit raw_segment(const std::string& name) : map_{name} {}

    header& head() const { return map_.head(); }
    /// Byte offsets in the segment.
    std::size_t in_control(std::size_t offset) const { return head().control_offset + offset; }
    std::size_t in_slot(std::size_t k, std::size_t offset) const {
        return head().slots_offset + k * sizeof(slot) + offset;
    }
    template <class M>
    std::size_t in_header(M header::*field) const {
        return static_cast<std::size_t>(reinterpret_cast<std::byte*>(&(head().*field)) - map_.base());
    }

    std::uint64_t load64(std::size_t at) const { return __atomic_load_n(word64(at), __ATOMIC_SEQ_CST); }
    void store64(std::size_t at, std::uint64_t v) const { __atomic_store_n(word64(at), v, __ATOMIC_SEQ_CST); }
    std::uint32_t load32(std::size_t at) const { return __atomic_load_n(word32(at), __ATOMIC_SEQ_CST); }
    void store32(std::size_t at, std::uint32_t v) const { __atomic_store_n(word32(at), v, __ATOMIC_SEQ_CST); }

    /// The permit count of the permits at `offset` in the control block.
    std::int64_t permit_count(std::size_t offset) const {
        return static_cast<std::int64_t>(load64(in_control(offset))) >> 1;
    }

  private:
    std::uint64_t* word64(std::size_t at) const {
        REQUIRE(at % 8 == 0);
        REQUIRE(at + 8 <= map_.size());
        return reinterpret_cast<std::uint64_t*>(map_.base() + at);
    }
    std::uint32_t* word32(std::size_t at) const {
        REQUIRE(at % 4 == 0);
        REQUIRE(at + 4 <= map_.size());
        return reinterpret_cast<std::uint32_t*>(map_.base() + at);
    }
    polychan::test::segment_mapping map_;
};

/// One field overwritten, and put back when the case is over (so that the segment detaches
/// and is removed as usual).
class patch {
  public:
    patch(const raw_segment& seg, std::size_t at, std::size_t width, std::uint64_t value)
        : seg_{seg}, at_{at}, width_{width} {
        old_ = width_ == 8 ? seg_.load64(at_) : seg_.load32(at_);
        write(value);
    }
    patch(const patch&) = delete;
    patch& operator=(const patch&) = delete;
    ~patch() { write(old_); }
    std::uint64_t old() const { return old_; }

  private:
    void write(std::uint64_t v) const {
        if (width_ == 8) {
            seg_.store64(at_, v);
        } else {
            seg_.store32(at_, static_cast<std::uint32_t>(v));
        }
    }
    const raw_segment& seg_;
    std::size_t at_;
    std::size_t width_;
    std::uint64_t old_ = 0;
};

/// A call that blocks, on its own thread. Its result must come within `limit`: a hang ends
/// the test process with a message (ctest reports the failure instead of waiting for ever).
class blocked_call {
  public:
    explicit blocked_call(std::function<status()> f)
        : task_{std::move(f)}, result_{task_.get_future()}, thread_{[this] { task_(); }} {}
    blocked_call(const blocked_call&) = delete;
    blocked_call& operator=(const blocked_call&) = delete;
    ~blocked_call() {
        if (thread_.joinable()) {
            wait_or_die();
            thread_.join();
        }
    }
    bool returned() const { return result_.wait_for(0s) == std::future_status::ready; }
    status get() {
        wait_or_die();
        thread_.join();
        return result_.get();
    }

  private:
    void wait_or_die() const {
        if (result_.wait_for(limit) == std::future_status::ready) return;
        std::fprintf(stderr, "FAILED: a blocked call did not return within %lld s of the corruption: hung\n",
                     static_cast<long long>(std::chrono::seconds{limit}.count()));
        std::fflush(stderr);
        std::_Exit(3);
    }
    std::packaged_task<status()> task_;
    std::future<status> result_;
    std::thread thread_;
};

/// Waits until some thread is enlisted on the permits at `offset` (its count is negative).
bool wait_enlisted(const raw_segment& seg, std::size_t offset) {
    auto const give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
        if (seg.permit_count(offset) < 0) return true;
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

/// Six items through the channel first, so that the ends are past lap 0 and not all equal:
/// free ring head 6, tail 10; ready ring head = tail = 6 (capacity 4).
template <class Ch>
void warm_up(Ch& ch) {
    auto w = ch.writer();
    auto r = ch.reader();
    item got;
    for (std::uint64_t i = 0; i < 6; ++i) {
        REQUIRE(w.write(item::make(0, i)) == status::ok);
        REQUIRE(r.read(got));
        REQUIRE(got.seq == i);
    }
}

/// A field a case overwrites: where, how wide, the value (computed from the value it had),
/// and what corruption() must then say.
struct field {
    std::string name;
    std::function<std::size_t(const raw_segment&)> at;
    std::size_t width;
    std::function<std::uint64_t(std::uint64_t old)> value;
    std::string expected;
};

std::function<std::uint64_t(std::uint64_t)> set(std::uint64_t v) {
    return [v](std::uint64_t) { return v; };
}
std::function<std::size_t(const raw_segment&)> ctl(std::size_t offset) {
    return [offset](const raw_segment& s) { return s.in_control(offset); };
}
template <class M>
std::function<std::size_t(const raw_segment&)> hdr(M header::*f) {
    return [f](const raw_segment& s) { return s.in_header(f); };
}
std::function<std::size_t(const raw_segment&)> cell(std::size_t k, std::size_t offset) {
    return [k, offset](const raw_segment& s) { return s.in_slot(k, offset); };
}

// A permit word with count 2^40. (Set to -2^40 on a word a waiter is enlisted on, the count
// the waiter finds is -2^40 + 1 once it has withdrawn: messages are matched on a prefix.)
constexpr std::uint64_t big = std::uint64_t{1} << 41;
constexpr std::uint64_t turn(std::uint64_t t) { return t << 32; }

std::size_t const free_word = offsetof(control, free);
std::size_t const ready_word = offsetof(control, ready);
std::size_t const doorbell_word = offsetof(control, doorbell);
std::size_t const free_head = offsetof(control, free_ends) + offsetof(ring_ends, head);
std::size_t const free_tail = offsetof(control, free_ends) + offsetof(ring_ends, tail);
std::size_t const ready_head = offsetof(control, ready_ends) + offsetof(ring_ends, head);
std::size_t const ready_tail = offsetof(control, ready_ends) + offsetof(ring_ends, tail);

/// Corruptions every blocked waiter must notice (the words it does not wait on included).
std::vector<field> common_fields() {
    return {
        {"free permits, count 2^40", ctl(free_word), 8, set(big), "free permits: count 1099511627776"},
        {"free permits, count -2^40", ctl(free_word), 8, set(-big), "free permits: count -109951162777"},
        {"ready permits, count 2^40", ctl(ready_word), 8, set(big), "ready permits: count 1099511627776"},
        {"ready permits, count -2^40", ctl(ready_word), 8, set(-big), "ready permits: count -109951162777"},
        {"doorbell permits, count 2^40", ctl(doorbell_word), 8, set(big), "doorbell permits: count"},
        {"doorbell permits, count -2^40", ctl(doorbell_word), 8, set(-big), "doorbell permits: count"},
        {"banked free permits, -3", ctl(offsetof(control, banked_free)), 8, set(std::uint64_t(-3)),
         "banked free permits: -3 is outside 0..4"},
        {"banked ready permits, 100", ctl(offsetof(control, banked_ready)), 8, set(100),
         "banked ready permits: 100 is outside 0..4"},
        {"gate, 2^39 publishers", ctl(offsetof(control, gate)), 8, set(std::uint64_t{1} << 40),
         "gate: 549755813888 publishes under way"},
        {"free ring tail, far ahead", ctl(free_tail), 8, set(1000), "free ring: tail 1000 is"},
        {"ready ring head, past tail", ctl(ready_head), 8, set(1000), "ready ring: head 1000 is past tail"},
        {"ready ring tail, far ahead", ctl(ready_tail), 8, set(1000), "ready ring: tail 1000 is"},
        {"ready ring tail, behind head", ctl(ready_tail), 8, set(5), "ready ring: head 6 is past tail 5"},
        {"header magic", hdr(&header::magic), 8, set(0x1234), "header field 'magic' changed to 0x1234"},
        {"header layout version", hdr(&header::layout_version), 4, set(77), "header field 'layout version'"},
        {"header state", hdr(&header::state), 4, set(9), "header field 'state' changed to 9"},
        {"header segment size", hdr(&header::segment_size), 8, [](std::uint64_t v) { return v + 4096; },
         "header field 'segment size'"},
        {"header capacity", hdr(&header::capacity), 8, set(1u << 20), "header field 'capacity'"},
        {"header slot size", hdr(&header::slot_size), 8, set(1), "header field 'slot size'"},
        {"header control offset", hdr(&header::control_offset), 8, set(8), "header field 'control block offset'"},
        {"header slots offset", hdr(&header::slots_offset), 8, set(1u << 30), "header field 'slots offset'"},
        {"header sync policy name", hdr(&header::sync), 4, set(0x41414141), "header field 'sync policy'"},
    };
}

/// A reader blocked on an empty channel: free ring head 6, tail 10; ready ring head = tail = 6.
std::vector<field> reader_fields() {
    auto f = common_fields();
    f.push_back({"free ring head, past tail", ctl(free_head), 8, set(11), "free ring: head 11 is past tail 10"});
    f.push_back({"free ring head, skipping two free slots", ctl(free_head), 8, set(8),
                 "free permits: count 4, but the free ring holds only 2 (head 8, tail 10)"});
    f.push_back({"ready permits, closed but the gate open", ctl(ready_word), 8, set(1),
                 "ready permits: closed, but the gate is open"});
    // Position 6 is in cell 2 of both rings. The ready ring's is empty for lap 1 (turn 2).
    f.push_back({"ready ring cell at head, turn far ahead", cell(2, offsetof(slot, ready_cell)), 8, set(turn(77)),
                 "ready ring: cell 2 holds turn 77 at head position 6"});
    f.push_back({"ready ring cell at head, turn behind", cell(2, offsetof(slot, ready_cell)), 8, set(turn(0)),
                 "ready ring: cell 2 holds turn 0 at head position 6"});
    // The free ring's holds a slot index, full for lap 1 (turn 3).
    f.push_back({"free ring cell at head, index out of range", cell(2, offsetof(slot, free_cell)), 8,
                 [](std::uint64_t old) { return (old & ~std::uint64_t{0xFFFF'FFFF}) | 999; },
                 "free ring: cell 2 holds slot index 999, beyond the capacity 4"});
    return f;
}

/// A writer blocked on a full channel: free ring head = tail = 10; ready ring head 6, tail 10.
std::vector<field> writer_fields() {
    auto f = common_fields();
    f.push_back({"free ring head, past tail", ctl(free_head), 8, set(12), "free ring: head 12 is past tail 10"});
    f.push_back({"free ring tail, one position nobody pushes", ctl(free_tail), 8, set(11),
                 "free ring (head 10, tail 11) and ready ring (head 6, tail 10) hold more slot indices than the 4 "
                 "slots"});
    f.push_back({"ready ring head, skipping two items", ctl(ready_head), 8, set(8),
                 "ready permits: count 4, but the ready ring holds only 2 (head 8, tail 10)"});
    f.push_back({"free permits, closed but the gate open", ctl(free_word), 8, set(1),
                 "free permits: closed, but the gate is open"});
    // Position 10 is in cell 2 of the free ring, empty for lap 2 (turn 4).
    f.push_back({"free ring cell at head, turn far ahead", cell(2, offsetof(slot, free_cell)), 8,
                 set(turn(0xFFFF'0000u)), "free ring: cell 2 holds turn 4294901760 at head position 10"});
    // Position 6 of the ready ring (cell 2) holds an item, full for lap 1 (turn 3).
    f.push_back({"ready ring cell at head, index out of range", cell(2, offsetof(slot, ready_cell)), 8,
                 [](std::uint64_t old) { return (old & ~std::uint64_t{0xFFFF'FFFF}) | 0xFFFF'FF00u; },
                 "ready ring: cell 2 holds slot index 4294967040, beyond the capacity 4"});
    // Position 10 of the ready ring is its tail (cell 2 too): a turn ahead of lap 2 is impossible there,
    // but the head check (position 6, same cell) sees it first.
    return f;
}

/// Runs one case: `block_on` starts a call that blocks; the field is overwritten once the
/// call waits on the permits at `waits_on`; the call must end with corrupt, naming the field.
template <class Ch>
void expect_corrupt_after(Ch& ch, raw_segment& seg, const field& f, std::size_t waits_on,
                          std::function<status()> block_on) {
    blocked_call call{std::move(block_on)};
    REQUIRE(wait_enlisted(seg, waits_on));
    std::this_thread::sleep_for(10ms);
    REQUIRE_FALSE(call.returned()); // it really blocks
    std::size_t const at = f.at(seg);
    std::uint64_t const old = f.width == 8 ? seg.load64(at) : seg.load32(at);
    patch const p{seg, at, f.width, f.value(old)};
    auto const started = std::chrono::steady_clock::now();
    status const s = call.get();
    auto const took = std::chrono::steady_clock::now() - started;
    INFO("returned " << polychan::to_string(s) << " after "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(s == status::corrupt);
    std::string const why = ch.local().core().corruption();
    INFO("corruption(): " << why);
    CHECK_THAT(why, Catch::Contains(f.expected));
    // Sticky: every claim of this process reports it from now on, whatever the bytes say.
    auto w = ch.writer();
    auto r = ch.reader();
    item got;
    CHECK(r.try_read(got) == status::corrupt);
    CHECK(w.try_write(item::make(1, 1)) == status::corrupt);
    CHECK(r.read_for(got, 10s) == status::corrupt); // a wait returns at once
}

} // namespace

TEST_CASE("semaphore in shared memory: a reader blocked on an empty channel sees any corrupt field",
          "[semaphore][corruption]") {
    for (field const& f : reader_fields()) {
        DYNAMIC_SECTION(f.name) {
            std::string const name = unique_name("reader");
            auto ch = ipc::create<item, polychan::ordering::block, polychan::sync::semaphore>(name, capacity);
            warm_up(ch);
            raw_segment seg{name};
            REQUIRE(seg.load64(seg.in_control(ready_head)) == 6);
            REQUIRE(seg.load64(seg.in_control(free_tail)) == 10);
            auto r = ch.reader();
            expect_corrupt_after(ch, seg, f, ready_word, [&] {
                item got;
                return r.read_for(got, 60s);
            });
        }
    }
}

TEST_CASE("semaphore in shared memory: a writer blocked on a full channel sees any corrupt field",
          "[semaphore][corruption]") {
    for (field const& f : writer_fields()) {
        DYNAMIC_SECTION(f.name) {
            std::string const name = unique_name("writer");
            auto ch = ipc::create<item, polychan::ordering::block, polychan::sync::semaphore>(name, capacity);
            warm_up(ch);
            auto w = ch.writer();
            for (std::uint64_t i = 0; i < capacity; ++i) REQUIRE(w.write(item::make(0, 10 + i)) == status::ok);
            raw_segment seg{name};
            REQUIRE(seg.load64(seg.in_control(free_head)) == 10);
            REQUIRE(seg.load64(seg.in_control(ready_tail)) == 10);
            expect_corrupt_after(ch, seg, f, free_word, [&] { return w.write_for(item::make(0, 99), 60s); });
        }
    }
}

TEST_CASE("semaphore in shared memory: an evicting writer waiting on the doorbell sees a corrupt field",
          "[semaphore][corruption]") {
    // Every slot is held by an open write transaction: a discard_old writer can evict nothing
    // and sleeps on the doorbell.
    std::vector<field> const fields{
        {"doorbell permits, count 2^40", ctl(doorbell_word), 8, set(big), "doorbell permits: count 1099511627776"},
        {"doorbell permits, count -2^40", ctl(doorbell_word), 8, set(-big), "doorbell permits: count -109951162777"},
        {"free permits, count -2^40", ctl(free_word), 8, set(-big), "free permits: count -109951162777"},
        {"header magic", hdr(&header::magic), 8, set(0x4321), "header field 'magic' changed to 0x4321"},
    };
    for (field const& f : fields) {
        DYNAMIC_SECTION(f.name) {
            std::string const name = unique_name("doorbell");
            auto ch = ipc::create<item, polychan::ordering::discard_old, polychan::sync::semaphore>(name, capacity);
            auto w = ch.writer();
            std::vector<decltype(w.begin_write())> held;
            for (std::size_t i = 0; i < capacity; ++i) {
                held.push_back(w.begin_write());
                REQUIRE(held.back());
            }
            raw_segment seg{name};
            expect_corrupt_after(ch, seg, f, doorbell_word, [&] { return w.write_for(item::make(0, 1), 60s); });
            held.clear(); // their slots go nowhere: the segment is corrupt for this process
        }
    }
}

TEST_CASE("semaphore in shared memory: a ring wait that no healthy peer would make last ends in corrupt",
          "[semaphore][corruption]") {
    std::string const name = unique_name("ring");
    auto ch = ipc::create<item, polychan::ordering::block, polychan::sync::semaphore>(name, capacity);
    warm_up(ch);
    raw_segment seg{name};
    auto w = ch.writer();
    auto r = ch.reader();
    item got;
    auto const quickly = [](auto f) {
        blocked_call call{f};
        return call.get();
    };

    SECTION("a read permit with no item behind it (the ready count raised within bounds)") {
        patch const p{seg, seg.in_control(ready_word), 8, 2}; // count 1, the ring empty
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("ready ring: 1 permits (this pop's included) stand for items, but only 0 are "
                                   "stored in the ring (head 6, tail 6"));
    }
    SECTION("a banked read permit with no item behind it") {
        patch const p{seg, seg.in_control(offsetof(control, banked_ready)), 8, 1};
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("ready ring: 1 permits (this pop's included) stand for items"));
    }
    SECTION("a write permit with no free slot behind it") {
        for (std::uint64_t i = 0; i < capacity; ++i) REQUIRE(w.write(item::make(0, i)) == status::ok);
        patch const p{seg, seg.in_control(free_word), 8, 2};
        CHECK(quickly([&] { return w.try_write(item::make(0, 9)); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("free ring: 1 permits (this pop's included) stand for items"));
    }
    SECTION("an item erased from the ready ring (its cell made to look like a push under way)") {
        REQUIRE(w.write(item::make(0, 1)) == status::ok); // ready positions 6 and 7: cells 2 and 3
        REQUIRE(w.write(item::make(0, 2)) == status::ok);
        patch const p{seg, seg.in_slot(2, offsetof(slot, ready_cell)), 8, turn(2)}; // empty for lap 1
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("ready ring: 2 permits (this pop's included) stand for items, but only 1 are "
                                   "stored in the ring (head 6, tail 8"));
    }
    SECTION("a popped index beyond the capacity") {
        REQUIRE(w.write(item::make(0, 1)) == status::ok); // ready position 6, cell 2
        std::size_t const at = seg.in_slot(2, offsetof(slot, ready_cell));
        patch const p{seg, at, 8, (seg.load64(at) & ~std::uint64_t{0xFFFF'FFFF}) | 12345};
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(), Catch::Contains("ready ring: popped slot index 12345"));
    }
    SECTION("a release into a free ring cell that no popper leaves") {
        REQUIRE(w.write(item::make(0, 1)) == status::ok); // free head 7, tail 10
        {
            auto held = r.begin_read();
            REQUIRE(held);
            // The release pushes at free position 10 (cell 2, lap 2, which must become empty:
            // turn 4). A turn of 5 says someone filled lap 2 already: the push would wait forever.
            patch const p{seg, seg.in_slot(2, offsetof(slot, free_cell)), 8, turn(5)};
            blocked_call call{[&] {
                auto gone = std::move(held); // the release runs here, on the watched thread
                return status::ok;
            }};
            CHECK(call.get() == status::ok);
        }
        CHECK_THAT(ch.local().core().corruption(), Catch::Contains("free ring: cell 2 holds turn 5"));
        CHECK(r.try_read(got) == status::corrupt);
    }
    SECTION("a release into a free ring cell that holds the lap before's item, with no slot index") {
        REQUIRE(w.write(item::make(0, 1)) == status::ok); // free head 7, tail 10
        {
            auto held = r.begin_read();
            REQUIRE(held);
            // Cell 2 of the free ring, empty for lap 2 (turn 4) until the release pushes at
            // position 10; forged to "full for lap 1" (a popper's leftover) with a bad index.
            patch const p{seg, seg.in_slot(2, offsetof(slot, free_cell)), 8, turn(3) | 0x2900'1b02u};
            blocked_call call{[&] {
                auto gone = std::move(held);
                return status::ok;
            }};
            CHECK(call.get() == status::ok);
        }
        CHECK_THAT(ch.local().core().corruption(), Catch::Contains("free ring: cell 2 holds slot index 687872770"));
        CHECK(r.try_read(got) == status::corrupt);
    }
    SECTION("a publish into a cell forged to hold the lap before's item (a popper's leftover) for ever") {
        // Ready position 6 (cell 2, lap 1) must be empty (turn 2) for the push; turn 1 with a
        // valid index is what a popper of position 2 leaves between its two stores. Nobody
        // empties it: after stall_limit the push reports it.
        patch const p{seg, seg.in_slot(2, offsetof(slot, ready_cell)), 8, turn(1) | 3};
        auto const started = std::chrono::steady_clock::now();
        CHECK(quickly([&] { return w.write(item::make(0, 1)); }) == status::corrupt);
        CHECK(std::chrono::steady_clock::now() - started >= 2s); // not before: it could have been a slow popper
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("ready ring: cell 2 has held the item of the lap before (slot index 3) for 2 s"));
    }
    SECTION("a publish into a ready ring cell that no popper leaves") {
        // The publish pushes at ready position 6 (cell 2, lap 1: must be empty, turn 2).
        patch const p{seg, seg.in_slot(2, offsetof(slot, ready_cell)), 8, turn(5)};
        CHECK(quickly([&] { return w.write(item::make(0, 1)); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(), Catch::Contains("ready ring: cell 2 holds turn 5"));
    }
    SECTION("a closed channel whose gate says a publish is still under way") {
        w.close();
        patch const p{seg, seg.in_control(offsetof(control, gate)), 8, 1 + 2 * 1000}; // closed, 1000 publishers
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK_THAT(ch.local().core().corruption(), Catch::Contains("gate: 1000 publishes under way"));
    }
    SECTION("a closed channel whose gate says one publish is under way, for ever") {
        // Within bounds: one publish under way is what a writer between the gate and its push
        // looks like. A drained reader waits for it, and no writer takes 2 s for that.
        w.close();
        patch const p{seg, seg.in_control(offsetof(control, gate)), 8, 1 + 2};
        auto const started = std::chrono::steady_clock::now();
        CHECK(quickly([&] { return r.try_read(got); }) == status::corrupt);
        CHECK(std::chrono::steady_clock::now() - started >= 2s);
        CHECK_THAT(ch.local().core().corruption(),
                   Catch::Contains("ready ring: cell 2 has stayed empty for 2 s at head position 6 (tail 6)"));
    }
    CHECK(w.try_write(item::make(0, 2)) == status::corrupt);
}

TEST_CASE("semaphore in shared memory: close() in a corrupt segment, and a closed gate nobody posted for",
          "[semaphore][corruption]") {
    std::string const name = unique_name("close");
    auto ch = ipc::create<item, polychan::ordering::block, polychan::sync::semaphore>(name, capacity);
    warm_up(ch);
    raw_segment seg{name};
    auto r = ch.reader();
    blocked_call call{[&] {
        item got;
        return r.read_for(got, 60s);
    }};
    REQUIRE(wait_enlisted(seg, ready_word));

    SECTION("close() does not post for the sleepers a corrupt word claims, and the reader still wakes") {
        // 2^40 sleepers claimed: close() must not post for them (nor for 2^22 of them).
        patch const p{seg, seg.in_control(ready_word), 8, static_cast<std::uint64_t>(-big)};
        auto const started = std::chrono::steady_clock::now();
        ch.writer().close();
        CHECK(std::chrono::steady_clock::now() - started < 500ms);
        CHECK(call.get() == status::corrupt);
        CHECK_THAT(ch.corruption(), Catch::Contains("ready permits: count -109951162777"));
    }
    SECTION("a waiter wakes on a closed gate even if close() posted nothing") {
        // As if a peer's close() had set the gate and stopped before the words: the reader,
        // asleep on its permit, finds the gate closed at its next slice and drains.
        patch const p{seg, seg.in_control(offsetof(control, gate)), 8, 1};
        CHECK(call.get() == status::closed);
        CHECK(ch.corruption() == "");
    }
}

TEST_CASE("semaphore in shared memory: heavy concurrent use never reports corrupt", "[semaphore][corruption]") {
    // Two attachments of one segment (as two processes would have), a writer and a reader on
    // each; a small capacity, so that every kind of wait happens often: permit waits in slices
    // with their checks, ring waits long enough to be checked, eviction and the doorbell.
    auto const run = [](auto ordering_tag, std::uint64_t per_writer) {
        using ordering = decltype(ordering_tag);
        std::string const name = unique_name("healthy");
        auto a = ipc::create<item, ordering, polychan::sync::semaphore>(name, 3);
        auto b = ipc::open<item, ordering, polychan::sync::semaphore>(name);
        std::vector<std::uint8_t> seen(2 * per_writer, 0);
        std::atomic<std::uint64_t> received{0}, torn{0}, bad{0}, failures{0};
        auto const reader = [&](auto& ch) {
            auto r = ch.reader();
            item got;
            while (r.read(got)) {
                if (!got.intact()) ++torn;
                std::uint64_t const k = got.writer * per_writer + got.seq;
                if (got.writer > 1 || got.seq >= per_writer) {
                    ++bad;
                } else {
                    __atomic_fetch_add(&seen[k], 1, __ATOMIC_RELAXED);
                }
                ++received;
            }
        };
        auto const writer = [&](auto& ch, std::uint64_t id) {
            auto w = ch.writer();
            for (std::uint64_t s = 0; s < per_writer; ++s)
                if (w.write(item::make(id, s)) != status::ok) ++failures;
        };
        {
            std::thread r1{[&] { reader(a); }}, r2{[&] { reader(b); }};
            std::thread w1{[&] { writer(a, 0); }}, w2{[&] { writer(b, 1); }};
            w1.join();
            w2.join();
            a.writer().close();
            r1.join();
            r2.join();
        }
        CHECK(a.local().core().corruption() == "");
        CHECK(b.local().core().corruption() == "");
        CHECK(a.local().core().intact());
        CHECK(b.local().core().intact());
        CHECK(failures == 0);
        CHECK(torn == 0);
        CHECK(bad == 0);
        std::uint64_t const discarded = a.local().discarded_count();
        CHECK(received + discarded == 2 * per_writer);
        std::uint64_t twice = 0;
        for (auto n : seen) twice += n > 1;
        CHECK(twice == 0);
        if constexpr (std::is_same_v<ordering, polychan::ordering::block>) CHECK(received == 2 * per_writer);
    };
    SECTION("block, 200k items") { run(polychan::ordering::block{}, 100'000 / POLYCHAN_TEST_SCALE); }
    SECTION("discard_old, 100k items") { run(polychan::ordering::discard_old{}, 50'000 / POLYCHAN_TEST_SCALE); }
    SECTION("always_last, 100k items") { run(polychan::ordering::always_last{}, 50'000 / POLYCHAN_TEST_SCALE); }
}
