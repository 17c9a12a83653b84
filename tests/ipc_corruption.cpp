// polychan tests — a peer that writes garbage into a segment (issue 6). Each header field and
// each index of the mutex and spsc control blocks is set out of range, one at a time, while a
// reader (or a writer) of this process is blocked: the blocked call wakes with status::corrupt
// within the integrity period, corruption() names what was wrong, and every later operation
// ends with corrupt too. Nothing crashes or reads outside the segment (the _asan flavor
// checks that), and nothing hangs: a wait that is not woken ends in `timeout`, which fails.
//
// Also: a mutex holder killed inside its critical section, with the lists half-updated. The
// next locker repairs them from the slots' crash records (robust mutex: EOWNERDEAD), and the
// channel is *repaired*, not marked corrupt: nothing published is lost or duplicated.
#include "ipc_compositions.hpp"
#include "segment_mapping.hpp"
#include "shm_listing.hpp"

#include <polychan/ipc.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ipc = polychan::ipc;
using polychan::status;
using polychan::test::ipc::item;
using block = polychan::ordering::block;
using header = polychan::storage::detail::segment_header;
using namespace std::chrono_literals;

namespace {

std::string prefix() { return "ipcc" + std::to_string(::getpid()) + "-"; }
std::string unique_name(const std::string& what) {
    static std::atomic<int> n{0};
    return prefix() + what + "-" + std::to_string(n++);
}

/// A second mapping of a channel's POSIX segment, as a hostile peer would make it.
class raw_segment {
  public:
    // The offsets are read before anything is corrupted: the header's own may be the target.
    explicit raw_segment(const std::string& name)
        : map_{name}, control_{map_.base() + map_.head().control_offset}, slots_{map_.base() +
                                                                                 map_.head().slots_offset} {}

    header& head() { return map_.head(); }
    template <class Core>
    typename Core::control& control() {
        return *reinterpret_cast<typename Core::control*>(control_);
    }
    template <class Core>
    typename Core::slot& slot(std::size_t i) {
        return reinterpret_cast<typename Core::slot*>(slots_)[i];
    }

  private:
    polychan::test::segment_mapping map_;
    std::byte* control_ = nullptr;
    std::byte* slots_ = nullptr;
};

template <class Sync>
using channel_of = ipc::channel<item, block, Sync>;
template <class Sync>
using core_of = typename channel_of<Sync>::local_channel::core_type;

/// One thing a hostile peer does to the segment, and the words corruption() must then contain.
struct corruption {
    std::string what;   // the section's name
    std::string expect; // in corruption()
    std::function<void(raw_segment&)> apply;
};

constexpr std::size_t capacity = 4;
constexpr std::uint64_t warm_up = 6; // items written and read first: the ring has wrapped

/// The header fields, each set to a value no attached process expects.
std::vector<corruption> header_corruptions() {
    return {
        {"magic", "header field 'magic'", [](raw_segment& s) { s.head().magic = 0x0BADBADBADBADBADull; }},
        {"layout version", "header field 'layout version'", [](raw_segment& s) { s.head().layout_version = 99; }},
        {"state", "header field 'state'", [](raw_segment& s) { s.head().state.store(7); }},
        {"segment size", "header field 'segment size'", [](raw_segment& s) { s.head().segment_size *= 1000; }},
        {"capacity", "header field 'capacity'", [](raw_segment& s) { s.head().capacity = 1ull << 40; }},
        {"slot size", "header field 'slot size'", [](raw_segment& s) { s.head().slot_size = 1; }},
        {"slot alignment", "header field 'slot alignment'", [](raw_segment& s) { s.head().slot_align = 3; }},
        {"control size", "header field 'control block size'", [](raw_segment& s) { s.head().control_size = 0; }},
        {"control offset", "header field 'control block offset'",
         [](raw_segment& s) { s.head().control_offset = ~0ull; }},
        {"slots offset", "header field 'slots offset'", [](raw_segment& s) { s.head().slots_offset = 1ull << 50; }},
        {"item type", "header field 'item type'", [](raw_segment& s) { s.head().type_hash ^= 1; }},
        {"item size", "header field 'item size'", [](raw_segment& s) { s.head().type_size = 1ull << 62; }},
        {"sync policy", "header field 'sync policy'", [](raw_segment& s) { s.head().sync.assign("semaphore"); }},
        {"ordering", "header field 'ordering policy'", [](raw_segment& s) { s.head().ordering.assign("??"); }},
        {"channel name", "header field 'channel name'", [](raw_segment& s) { s.head().channel_name.assign("x"); }},
    };
}

/// The mutex core's indices and counts (the channel is empty: 4 free slots, none ready).
std::vector<corruption> mutex_corruptions() {
    using core = core_of<polychan::sync::mutex>;
    auto ctl = [](raw_segment& s) -> core::control& { return s.control<core>(); };
    return {
        {"free list head", "free list head out of bounds", [=](raw_segment& s) { ctl(s).free.head = 0x7777'0000u; }},
        {"ready list head", "ready list head out of bounds", [=](raw_segment& s) { ctl(s).ready.head = 5000; }},
        {"ready list tail", "ready list tail out of bounds", [=](raw_segment& s) { ctl(s).ready.tail = 0xFFFF'FFF0u; }},
        {"free list tail", "free list tail out of bounds", [=](raw_segment& s) { ctl(s).free.tail = 0xFFFF'FFF0u; }},
        {"free list tail link", "the free list's tail links on to",
         [=](raw_segment& s) { s.slot<core>(ctl(s).free.tail).next = ctl(s).free.head; }},
        {"free count", "free count beyond the capacity", [=](raw_segment& s) { ctl(s).free.count = 1000; }},
        {"ready count", "ready list ends and count disagree", [=](raw_segment& s) { ctl(s).ready.count = 1; }},
        {"free slot link", "a free slot links out of bounds",
         [=](raw_segment& s) { s.slot<core>(ctl(s).free.head).next = 0x5555; }},
        {"free slot record", "the free list's head slot is not free",
         [=](raw_segment& s) { s.slot<core>(ctl(s).free.head).record.state = 9; }},
    };
}

/// The spsc core's counters (the reader waits at position warm_up; tail and frontier are there too).
std::vector<corruption> spsc_corruptions() {
    using core = core_of<polychan::sync::spsc>;
    auto ctl = [](raw_segment& s) -> core::control& { return s.control<core>(); };
    return {
        {"tail", "tail more than the capacity ahead of head",
         [=](raw_segment& s) { ctl(s).tail.store(warm_up + 1000); }},
        {"head beyond", "reader: head past tail", [=](raw_segment& s) { ctl(s).head.store(40 << 1); }},
        {"head behind", "frontier past head", [=](raw_segment& s) { ctl(s).head.store(2 << 1); }},
        {"frontier", "frontier past head", [=](raw_segment& s) { ctl(s).frontier.store(1000); }},
        {"published", "the head's slot holds another position",
         [=](raw_segment& s) { s.slot<core>(warm_up % capacity).published.store(12345); }},
        {"held", "reader holds more slots than there are", [=](raw_segment& s) { ctl(s).held = 1000; }},
        {"took until", "reader's last take outside frontier .. head", [=](raw_segment& s) { ctl(s).took_until = 99; }},
    };
}

/// A channel whose ring has wrapped once, emptied again.
template <class Sync>
channel_of<Sync> warmed_up(const std::string& name) {
    auto ch = ipc::create<item, block, Sync>(name, capacity);
    auto w = ch.writer();
    auto r = ch.reader();
    for (std::uint64_t i = 0; i < warm_up; ++i) {
        REQUIRE(w.write(item::make(i)) == status::ok);
        item got{};
        REQUIRE(r.read_for(got, 1s) == status::ok);
        REQUIRE(got.seq == i);
    }
    return ch;
}

/// Runs `blocked` (a call that blocks) on a thread, applies `c` once it is asleep, and
/// returns the status the call ended with.
template <class Blocked>
status corrupt_while_blocked(const std::string& name, const corruption& c, Blocked blocked) {
    std::atomic<bool> returned{false};
    status st = status::ok;
    std::thread t{[&] {
        st = blocked();
        returned = true;
    }};
    std::this_thread::sleep_for(150ms); // well past the spin: asleep in the kernel
    CHECK_FALSE(returned.load());
    {
        raw_segment raw{name};
        c.apply(raw);
    }
    auto const start = std::chrono::steady_clock::now();
    t.join();
    auto const waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    INFO("woke " << waited.count() << " ms after the corruption");
    CHECK(waited < 5s);
    return st;
}

template <class Sync>
void blocked_reader_wakes_corrupt(const corruption& c) {
    std::string const name = unique_name("r");
    auto ch = warmed_up<Sync>(name);
    auto r = ch.reader();
    auto w = ch.writer();
    status const st = corrupt_while_blocked(name, c, [&] {
        item got{};
        return r.read_for(got, 10s);
    });
    CHECK(st == status::corrupt);
    INFO("corruption(): " << ch.corruption());
    CHECK_THAT(ch.corruption(), Catch::Contains(c.expect));
    // Sticky for this process: both ends report it from now on.
    item got{};
    CHECK(r.try_read(got) == status::corrupt);
    CHECK(w.try_write(item::make(99)) == status::corrupt);
}

template <class Sync>
void blocked_writer_wakes_corrupt(const corruption& c) {
    std::string const name = unique_name("w");
    auto ch = warmed_up<Sync>(name);
    auto w = ch.writer();
    for (std::uint64_t i = 0; i < capacity; ++i) REQUIRE(w.write(item::make(100 + i)) == status::ok);
    status const st = corrupt_while_blocked(name, c, [&] { return w.write_for(item::make(200), 10s); });
    CHECK(st == status::corrupt);
    INFO("corruption(): " << ch.corruption());
    CHECK_THAT(ch.corruption(), Catch::Contains(c.expect));
}

bool no_segment_of_this_process() { return polychan::test::shm_names_starting_with("polychan." + prefix()).empty(); }

} // namespace

TEMPLATE_TEST_CASE("ipc corruption: each header field set wrong while a reader is blocked: it wakes with corrupt",
                   "[ipc][corruption]", polychan::sync::mutex, polychan::sync::spsc) {
    for (corruption const& c : header_corruptions()) {
        DYNAMIC_SECTION(c.what) { blocked_reader_wakes_corrupt<TestType>(c); }
    }
}

TEST_CASE("ipc corruption: mutex: each list index and count out of range while a reader is blocked",
          "[ipc][corruption]") {
    for (corruption const& c : mutex_corruptions()) {
        DYNAMIC_SECTION(c.what) { blocked_reader_wakes_corrupt<polychan::sync::mutex>(c); }
    }
}

TEST_CASE("ipc corruption: spsc: each counter out of range while a reader is blocked", "[ipc][corruption]") {
    for (corruption const& c : spsc_corruptions()) {
        DYNAMIC_SECTION(c.what) { blocked_reader_wakes_corrupt<polychan::sync::spsc>(c); }
    }
}

TEST_CASE("ipc corruption: a writer blocked on a full channel wakes with corrupt too", "[ipc][corruption]") {
    using mutex_core = core_of<polychan::sync::mutex>;
    using spsc_core = core_of<polychan::sync::spsc>;
    SECTION("mutex: free count") {
        blocked_writer_wakes_corrupt<polychan::sync::mutex>(
            {"", "free count beyond the capacity", [](raw_segment& s) { s.control<mutex_core>().free.count = 77; }});
    }
    SECTION("mutex: header") { blocked_writer_wakes_corrupt<polychan::sync::mutex>(header_corruptions()[0]); }
    SECTION("spsc: head past tail") {
        blocked_writer_wakes_corrupt<polychan::sync::spsc>(
            {"", "head past tail", [](raw_segment& s) { s.control<spsc_core>().head.store(500 << 1); }});
    }
    SECTION("spsc: tail") {
        blocked_writer_wakes_corrupt<polychan::sync::spsc>(
            {"", "tail more than the capacity ahead of head",
             [](raw_segment& s) { s.control<spsc_core>().tail.store(1ull << 60); }});
    }
    SECTION("spsc: header") { blocked_writer_wakes_corrupt<polychan::sync::spsc>(header_corruptions()[4]); }
}

TEST_CASE("ipc corruption: spsc: a write claim this process did not make, and flags that are not 0 or 1",
          "[ipc][corruption]") {
    using core = core_of<polychan::sync::spsc>;
    std::string const name = unique_name("flags");
    auto ch = warmed_up<polychan::sync::spsc>(name);
    auto w = ch.writer();
    auto r = ch.reader();
    {
        raw_segment raw{name};
        // Neither is a bool in the segment: any byte there is a defined value (not UB).
        raw.control<core>().closed.store(0x5A);
    }
    CHECK(ch.local().is_closed());
    item got{};
    CHECK(r.try_read(got) == status::closed);
    {
        raw_segment raw{name};
        raw.control<core>().closed.store(0);
        raw.control<core>().claimed.store(0xFFFF'FFFFu);
    }
    CHECK(w.try_write(item::make(1)) == status::corrupt);
    CHECK_THAT(ch.corruption(), Catch::Contains("a write claim is open that this process did not make"));
}

TEST_CASE("ipc corruption: a pid out of range in the owner table is a dead owner, not a process group",
          "[ipc][corruption]") {
    // kill(0, 0) and kill(-n, 0) ask about process groups and succeed: such a record must
    // not keep a segment alive for ever.
    CHECK_FALSE(polychan::storage::detail::process_alive(0));
    CHECK_FALSE(polychan::storage::detail::process_alive(0xFFFF'FFFFu));
    CHECK_FALSE(polychan::storage::detail::process_alive(0x8000'0000u));
    CHECK(polychan::storage::detail::process_alive(static_cast<std::uint32_t>(::getpid())));
}

TEST_CASE("ipc corruption: a mutex holder killed inside its critical section: the next locker repairs",
          "[ipc][corruption]") {
    using core = core_of<polychan::sync::mutex>;
    std::string const name = unique_name("holder");
    auto ch = ipc::create<item, block, polychan::sync::mutex>(name, 8);
    auto w = ch.writer();
    auto r = ch.reader();
    for (std::uint64_t i = 0; i < 3; ++i) REQUIRE(w.write(item::make(i)) == status::ok);
    REQUIRE(ch.local().core().repairs() == 0);

    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t const child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The holder: takes the channel's robust mutex and dies in the middle of moving the
        // lists (the heads already point nowhere, the counts are off).
        raw_segment raw{name};
        core::control& c = raw.control<core>();
        c.lock.lock();
        c.ready.head = 0x7777'0000u;
        c.ready.count = 12345;
        c.free.head = core::nil;
        char const byte = 1;
        if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
        for (;;) ::pause(); // SIGKILLed here, holding the mutex
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);

    // A reader blocks on the held mutex; the holder dies; the reader gets the lock
    // (EOWNERDEAD), the lists are rebuilt, and it reads on.
    std::vector<std::uint64_t> got_seq; // filled by the thread, checked after join
    int torn = 0;
    std::thread reader{[&] {
        for (int k = 0; k < 4; ++k) {
            item got{};
            if (r.read_for(got, 10s) != status::ok) break;
            if (!got.intact()) ++torn;
            got_seq.push_back(got.seq);
        }
    }};
    std::this_thread::sleep_for(100ms);
    REQUIRE(::kill(child, SIGKILL) == 0);
    int wstatus = 0;
    REQUIRE(::waitpid(child, &wstatus, 0) == child);
    REQUIRE(WIFSIGNALED(wstatus));
    REQUIRE(w.write(item::make(3)) == status::ok);
    reader.join();

    // Repaired, not marked corrupt: the robust mutex said a holder died, so the lists are
    // an index to rebuild from the slots' records, not evidence of a hostile peer.
    CHECK(got_seq == std::vector<std::uint64_t>{0, 1, 2, 3});
    CHECK(torn == 0);
    CHECK(ch.local().core().repairs() == 1);
    CHECK(ch.corruption().empty());
    CHECK(ch.local().free_size() == 8);
    CHECK(ch.local().ready_size() == 0);
}

TEST_CASE("ipc corruption: a healthy channel is never reported corrupt", "[ipc][corruption]") {
    // The checks must not fail a sound segment under load: one writer and one reader
    // thread, a small ring that is always full or empty, many sleeps and checks.
    auto run = [](auto sync) {
        using Sync = decltype(sync);
        std::string const name = unique_name("healthy");
        auto ch = ipc::create<item, block, Sync>(name, 2);
        constexpr std::uint64_t items = 100'000;
        std::uint64_t received = 0, out_of_order = 0; // counted by the thread, checked below
        std::thread reader{[&] {
            auto r = ch.reader();
            item got{};
            while (r.read(got)) {
                if (got.seq != received || !got.intact()) ++out_of_order;
                ++received;
                if (received % 10'000 == 0) std::this_thread::sleep_for(60ms); // the writer sleeps, checks
            }
        }};
        {
            auto w = ch.writer();
            for (std::uint64_t i = 0; i < items; ++i) {
                REQUIRE(w.write(item::make(i)) == status::ok);
                if (i % 10'000 == 0) std::this_thread::sleep_for(60ms); // the reader sleeps, checks
            }
            w.close();
        }
        reader.join();
        CHECK(received == items);
        CHECK(out_of_order == 0);
        CHECK(ch.corruption().empty());
    };
    SECTION("mutex") { run(polychan::sync::mutex{}); }
    SECTION("spsc") { run(polychan::sync::spsc{}); }
}

TEST_CASE("ipc corruption: no segment of this suite is left in /dev/shm", "[ipc][corruption]") {
    CHECK(no_segment_of_this_process());
}
