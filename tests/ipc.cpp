// polychan tests — named channels between real processes (the helper is fork+exec'd):
// every composition across processes, header checks on attach, reader-first start, writer
// killed and resumed, crash reclaim, names and permissions, and no segment left behind.
#include "ipc_checks.hpp"
#include "ipc_compositions.hpp"
#include "ipc_process.hpp"
#include "shm_listing.hpp"

#include <polychan/ipc.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace ipc = polychan::ipc;
using polychan::storage::shared_memory;
using polychan::storage::sysv_shared_memory;
using polychan::test::ipc::error_of;
using polychan::test::ipc::field_ll;
using polychan::test::ipc::helper_process;
using polychan::test::ipc::item;
using polychan::test::ipc::parse_fields;
using polychan::test::ipc::segment_exists;
using polychan::test::ipc::wait_for_segment;
using block = polychan::ordering::block;
using mutex = polychan::sync::mutex;

namespace {

/// Names unique to this test process (the suite runs in several flavors at once).
std::string prefix() { return "ipct" + std::to_string(::getpid()) + "-"; }
std::vector<std::string>& names_used() {
    static std::vector<std::string> names;
    return names;
}
std::string unique_name(const std::string& what) {
    static std::atomic<int> n{0};
    names_used().push_back(prefix() + what + "-" + std::to_string(n++));
    return names_used().back();
}

std::vector<std::string> helper_args(const std::string& cmd, const polychan::test::ipc::composition_names& c,
                                     const std::string& name, std::size_t capacity, std::uint64_t count) {
    return {cmd, c.storage, c.ordering, c.sync, name, std::to_string(capacity), std::to_string(count)};
}

struct other_item { // same size and alignment as item, different type
    std::uint64_t words[8];
};

} // namespace

TEST_CASE("ipc: every ordering x sync policy, writer and reader in different processes", "[ipc]") {
    constexpr std::uint64_t items = 200'000;
    for (auto const& c : polychan::test::ipc::all_compositions()) {
        DYNAMIC_SECTION(c.storage << "/" << c.ordering << "/" << c.sync) {
            std::string const name = unique_name("product");
            helper_process reader{helper_args("read", c, name, 64, items)};
            // The reader creates the segment: a writer that finished and detached before the
            // reader attached would leave it nothing to read (the last detach removes it).
            REQUIRE(wait_for_segment(c.storage, name));
            helper_process writer{helper_args("write", c, name, 64, items)};
            auto const w = parse_fields(writer.finish());
            auto const r = parse_fields(reader.finish());
            INFO("writer: exit " << writer.exit_code() << ", reader: exit " << reader.exit_code());
            REQUIRE(writer.exit_code() == 0);
            REQUIRE(reader.exit_code() == 0);
            polychan::test::ipc::check_transfer(w, r, c.ordering, items);
            CHECK_FALSE(segment_exists(c.storage, name));
        }
    }
}

TEST_CASE("ipc: a reader may start before its writer and waits for it", "[ipc]") {
    polychan::test::ipc::composition_names const c{"shared_memory", "block", "mutex"};
    std::string const name = unique_name("reader-first");
    helper_process reader{helper_args("read", c, name, 8, 1000)};
    REQUIRE(wait_for_segment(c.storage, name)); // the reader created the segment
    helper_process writer{helper_args("write", c, name, 8, 1000)};
    auto const w = parse_fields(writer.finish());
    auto const r = parse_fields(reader.finish());
    CHECK(field_ll(r, "created") == 1);
    CHECK(field_ll(w, "created") == 0);
    CHECK(field_ll(r, "received") == 1000);
    CHECK(field_ll(r, "errors") == 0);
    CHECK_FALSE(segment_exists(c.storage, name));
}

namespace {
/// A reader process, and writers killed at random points and restarted 200 times, each
/// resuming at committed(): the reader must see every item once, in order, never torn.
void kill_and_resume_writer(std::string_view storage, std::string const& sync) {
    // Enough items that writers are still writing when the 200 kills come: the reader paces
    // them (capacity 16), and an spsc reader goes through 200 000 items in a few rounds.
    std::uint64_t const items = sync == "spsc" ? 20'000'000 : 200'000;
    polychan::test::ipc::composition_names const c{std::string{storage}, "block", sync};
    std::string const name = unique_name("resume");
    helper_process reader{helper_args("read", c, name, 16, items)};
    REQUIRE(wait_for_segment(c.storage, name));
    std::mt19937 rng{Catch::rngSeed()};
    std::uniform_int_distribution<int> delay_us{0, 1500};
    int killed_running = 0;
    long long previous_first = -1;
    int resumed_later = 0; // rounds that started after a predecessor had committed more
    for (int round = 0; round < 200; ++round) {
        helper_process writer{helper_args("resume-open", c, name, 16, items)};
        if (round % 4 == 0) {
            // killed anywhere from exec to attach to writing
            std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng) * 4));
        } else {
            // killed while writing: wait until it has attached and knows where to resume
            auto const f = parse_fields(writer.read_line());
            if (f.count("first") != 0) {
                long long const first = field_ll(f, "first");
                CHECK(first >= previous_first); // committed() never goes back
                if (first > previous_first) ++resumed_later;
                previous_first = first;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        }
        writer.kill_now();
        if (writer.killed()) ++killed_running;
    }
    helper_process last_writer{helper_args("resume", c, name, 16, items)};
    auto const w = parse_fields(last_writer.finish());
    auto const r = parse_fields(reader.finish());
    INFO("writers killed while running: " << killed_running << ", rounds resuming further on: " << resumed_later
                                          << ", last writer resumed at " << field_ll(w, "first") << ", lists rebuilt "
                                          << field_ll(r, "repairs") << " times"
                                          << ", reader: first_error " << r.at("first_error"));
    CHECK(killed_running > 100);
    if (sync == "mutex") CHECK(field_ll(r, "repairs") > 0); // spsc has no lists to repair
    CHECK(resumed_later > 50);                              // the kills really interrupted writing
    REQUIRE(last_writer.exit_code() == 0);
    CHECK(reader.exit_code() == 0);
    CHECK(field_ll(r, "received") == static_cast<long long>(items));
    CHECK(field_ll(r, "last") == static_cast<long long>(items - 1));
    CHECK(field_ll(r, "errors") == 0);
    CHECK(field_ll(r, "torn") == 0);
    CHECK_FALSE(segment_exists(c.storage, name));
}
} // namespace

TEMPLATE_TEST_CASE("ipc: a writer SIGKILLed at random points 200 times resumes with nothing lost or duplicated",
                   "[ipc]", shared_memory, sysv_shared_memory) {
    for (char const* sync : {"mutex", "spsc"}) {
        DYNAMIC_SECTION(sync) { kill_and_resume_writer(TestType::name, sync); }
    }
}

TEMPLATE_TEST_CASE("ipc: a crashed pair leaves a segment that the next create reclaims", "[ipc]", shared_memory,
                   sysv_shared_memory) {
    polychan::test::ipc::composition_names const c{std::string{TestType::name}, "block", "mutex"};
    std::string const name = unique_name("crashed");
    {
        helper_process crasher{helper_args("crash", c, name, 8, 5)};
        crasher.finish();
        REQUIRE(crasher.exit_code() == 0);
    }
    REQUIRE(segment_exists(c.storage, name)); // left behind: its owner died without detaching
    {
        auto ch = ipc::create<item, block, mutex, TestType>(name, 8);
        CHECK(ch.created());
        CHECK(ch.local().ready_size() == 0); // a new channel, not the crashed one's items
        CHECK(ch.local().free_size() == 8);
    }
    CHECK_FALSE(segment_exists(c.storage, name));

    // ipc::remove clears a left-behind segment by hand.
    {
        helper_process crasher{helper_args("crash", c, name, 8, 5)};
        crasher.finish();
    }
    REQUIRE(segment_exists(c.storage, name));
    CHECK(ipc::remove<TestType>(name));
    CHECK_FALSE(segment_exists(c.storage, name));
    CHECK_FALSE(ipc::remove<TestType>(name));
}

TEMPLATE_TEST_CASE("ipc: a segment a live process uses is never reclaimed", "[ipc]", shared_memory,
                   sysv_shared_memory) {
    polychan::test::ipc::composition_names const c{std::string{TestType::name}, "block", "mutex"};
    std::string const name = unique_name("live");
    helper_process holder{helper_args("hold", c, name, 8, 0)};
    REQUIRE(parse_fields(holder.read_line()).count("attached") == 1);
    std::string const msg = error_of([&] { ipc::create<item, block, mutex, TestType>(name, 8); });
    CHECK_THAT(msg, Catch::Contains("already exists and is in use by pid " + std::to_string(holder.pid())));
    {
        auto ch = ipc::open_or_create<item, block, mutex, TestType>(name, 8); // opens it, does not reclaim it
        CHECK_FALSE(ch.created());
    }
    CHECK(segment_exists(c.storage, name)); // the holder still owns it
    holder.kill_now();
    {
        auto ch = ipc::open_or_create<item, block, mutex, TestType>(name, 8); // abandoned: reclaimed, created afresh
        CHECK(ch.created());
    }
    CHECK_FALSE(segment_exists(c.storage, name));
}

TEST_CASE("ipc: open checks every header field and names it", "[ipc]") {
    std::string const name = unique_name("fields");
    ipc::options tagged;
    tagged.type_tag = "item-v1";
    auto ch = ipc::create<item>(name, 8);

    SECTION("item type") {
        auto const msg = error_of([&] { ipc::open<other_item>(name); });
        CHECK_THAT(msg, Catch::Contains("item type differs") && Catch::Contains("item (hash") &&
                            Catch::Contains("other_item (hash"));
    }
    SECTION("item size") {
        auto const msg = error_of([&] { ipc::open<std::uint32_t>(name); });
        CHECK_THAT(msg, Catch::Contains("item size differs: the segment has 64, this process expects 4"));
    }
    SECTION("type tag") {
        auto const msg = error_of([&] { ipc::open<item>(name, tagged); });
        CHECK_THAT(msg, Catch::Contains("item type differs") && Catch::Contains("tag 'item-v1'"));
    }
    SECTION("capacity") {
        auto const msg = error_of([&] { ipc::open<item>(name, 16); });
        CHECK_THAT(msg, Catch::Contains("capacity differs: the segment has 8, this process expects 16"));
        auto const msg2 = error_of([&] { ipc::open_or_create<item>(name, 4); });
        CHECK_THAT(msg2, Catch::Contains("capacity differs: the segment has 8, this process expects 4"));
    }
    SECTION("ordering policy") {
        auto const msg = error_of([&] { ipc::open<item, polychan::ordering::discard_old>(name); });
        CHECK_THAT(msg, Catch::Contains("ordering policy differs: the segment has 'block', this process expects "
                                        "'discard_old'"));
    }
    SECTION("magic and layout version, corrupted in place") {
        int const fd = ::open(("/dev/shm/polychan." + name).c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        void* p = ::mmap(nullptr, sizeof(polychan::storage::detail::segment_header), PROT_READ | PROT_WRITE, MAP_SHARED,
                         fd, 0);
        ::close(fd);
        REQUIRE(p != MAP_FAILED);
        auto* h = static_cast<polychan::storage::detail::segment_header*>(p);
        h->layout_version = 99; // no version this process knows
        CHECK_THAT(error_of([&] { ipc::open<item>(name); }),
                   Catch::Contains("layout version differs: the segment has 99, this process expects " +
                                   std::to_string(polychan::storage::detail::segment_header::current_layout_version)));
        h->layout_version = polychan::storage::detail::segment_header::current_layout_version;
        h->magic = 0x1234;
        CHECK_THAT(error_of([&] { ipc::open<item>(name); }),
                   Catch::Contains("magic differs: the segment has '0x1234'"));
        h->magic = polychan::storage::detail::segment_header::magic_value;
        ::munmap(p, sizeof(polychan::storage::detail::segment_header));
    }
    SECTION("a channel that does not exist") {
        CHECK_THAT(error_of([&] { ipc::open<item>(name + "-none"); }), Catch::Contains("no such channel"));
    }
    // the original still works after all the refused attaches
    auto w = ch.writer();
    auto r = ch.reader();
    REQUIRE(w.write(item::make(7)) == polychan::status::ok);
    item got{};
    REQUIRE(r.try_read(got) == polychan::status::ok);
    CHECK(got.seq == 7);
    CHECK(got.intact());
}

TEST_CASE("ipc: channel names are validated", "[ipc]") {
    for (std::string const& bad : {std::string{}, std::string{"a/b"}, std::string{".hidden"}, std::string{"-opt"},
                                   std::string{"with space"}, std::string{"caf\xc3\xa9"}, std::string(201, 'x')}) {
        INFO("name: '" << bad << "'");
        CHECK_THAT(error_of([&] { ipc::create<item>(bad, 4); }), Catch::Contains("invalid channel name"));
        CHECK_THAT(error_of([&] { ipc::open<item>(bad); }), Catch::Contains("invalid channel name"));
    }
    CHECK_THAT(error_of([&] { ipc::create<item>(std::string(201, 'x'), 4); }),
               Catch::Contains("it has 201 characters, at most 200"));
    std::string const good = unique_name("Good_name.v2");
    CHECK_NOTHROW(ipc::create<item>(good, 4));
    CHECK_THAT(error_of([&] { ipc::create<item>(unique_name("zero"), 0); }), Catch::Contains("capacity of at least 1"));
}

TEST_CASE("ipc: segments are created 0600 by default and other users' segments are refused", "[ipc]") {
    std::string const name = unique_name("perm");
    auto mode_of = [](const std::string& n) {
        struct ::stat st {};
        ::stat(("/dev/shm/polychan." + n).c_str(), &st);
        return st.st_mode & 0777;
    };
    {
        auto ch = ipc::create<item>(name, 4);
        CHECK(mode_of(name) == 0600);
    }
    ipc::options group;
    group.mode = 0660;
    auto ch = ipc::create<item>(name, 4, group);
    CHECK(mode_of(name) == 0660);
    if (::geteuid() != 0) {
        WARN("not root: cannot hand a segment to another user; the owner check is not exercised");
        return;
    }
    REQUIRE(::chown(("/dev/shm/polychan." + name).c_str(), 65534, 65534) == 0);
    CHECK_THAT(error_of([&] { ipc::open<item>(name); }),
               Catch::Contains("the segment is owned by uid 65534, this process runs as uid 0"));
    ipc::options trusting;
    trusting.allow_other_owner = true;
    CHECK_NOTHROW(ipc::open<item>(name, trusting));
}

TEST_CASE("ipc: the mutex policy accepts several writer and reader ends", "[ipc]") {
    std::string const name = unique_name("many");
    auto a = ipc::create<item>(name, 8);
    auto b = ipc::open<item>(name);
    auto w1 = a.writer();
    auto w2 = b.writer();
    auto r1 = a.reader();
    auto r2 = b.reader();
    REQUIRE(w1.write(item::make(1)) == polychan::status::ok);
    REQUIRE(w2.write(item::make(2)) == polychan::status::ok);
    item x{}, y{};
    REQUIRE(r2.try_read(x) == polychan::status::ok);
    REQUIRE(r1.try_read(y) == polychan::status::ok);
    CHECK(x.seq == 1);
    CHECK(y.seq == 2);
    CHECK(w1.committed() == 2);
}

TEMPLATE_TEST_CASE("ipc: spsc refuses a second live writer or reader, and takes over a dead one's role", "[ipc]",
                   shared_memory, sysv_shared_memory) {
    using spsc = polychan::sync::spsc;
    std::string const name = unique_name("spsc-roles");
    auto a = ipc::create<item, block, spsc, TestType>(name, 8);
    auto b = ipc::open<item, block, spsc, TestType>(name);
    std::string const me = "pid " + std::to_string(::getpid());
    {
        auto w = a.writer();
        auto r = a.reader();
        CHECK_THAT(error_of([&] { b.writer(); }), Catch::Contains("the writer role is taken by " + me +
                                                                  " and the 'spsc' sync policy allows only one"));
        CHECK_THAT(error_of([&] { b.reader(); }), Catch::Contains("the reader role is taken by " + me +
                                                                  " and the 'spsc' sync policy allows only one"));
        REQUIRE(w.write(item::make(3)) == polychan::status::ok);
    }
    // Both ends are gone: the roles are free again, and the item is still there.
    auto w = b.writer();
    auto r = b.reader();
    item got{};
    REQUIRE(r.try_read(got) == polychan::status::ok);
    CHECK(got.seq == 3);

    // A role held by a process that died is taken over.
    std::string const other = unique_name("spsc-dead");
    polychan::test::ipc::composition_names const c{std::string{TestType::name}, "block", "spsc"};
    {
        helper_process crasher{helper_args("crash", c, other, 8, 2)};
        crasher.finish();
    }
    auto reopened = ipc::open<item, block, spsc, TestType>(other);
    CHECK_NOTHROW(reopened.writer());
}

// In shared memory one read() leaves its spsc claim out of the reader's count of held slots
// while no read transaction is held (sync/spsc.hpp, uncounted_one_op_reads). Beside a held
// transaction it must count itself, or its release would hand the transaction's slot back to
// the writer; and a reader that dies inside read() must leave its slot to whoever takes over.
TEMPLATE_TEST_CASE("ipc: spsc read() beside a held read transaction, and a reader that died inside read()", "[ipc]",
                   shared_memory, sysv_shared_memory) {
    using polychan::status;
    std::string const name = unique_name("oneop");
    auto ch = ipc::create<std::uint64_t, block, polychan::sync::spsc, TestType>(name, 4);
    auto w = ch.writer();
    auto r = ch.reader();
    auto& local = ch.local();
    for (std::uint64_t i = 1; i <= 3; ++i) REQUIRE(w.write(i) == status::ok);
    {
        auto held = r.begin_read();
        REQUIRE(held);
        CHECK(*held == 1);
        std::uint64_t v = 0;
        REQUIRE(r.read(v));
        CHECK(v == 2);
        CHECK(local.free_size() == 2); // 1 held, 3 ready
        CHECK(w.try_write(std::uint64_t{4}) == status::ok);
        CHECK(w.try_write(std::uint64_t{5}) == status::full); // 5 would go into the held slot of 1
        CHECK(*held == 1);
    }
    std::uint64_t v = 0;
    for (std::uint64_t e : {3, 4}) {
        REQUIRE(r.read(v));
        CHECK(v == e);
    }
    CHECK(local.free_size() == 4);

    REQUIRE(w.write(std::uint64_t{6}) == status::ok);
    auto& core = local.core();
    auto const claimed = core.try_claim_read(polychan::one_op); // a reader inside read() ...
    REQUIRE(claimed.ok());
    CHECK(core.payload(claimed.ticket).get() == 6);
    core.take_over_side(false); // ... dies: the next reader takes its side over
    CHECK(local.free_size() == 4);
    CHECK(local.ready_size() == 0);
    for (std::uint64_t i = 7; i <= 10; ++i) REQUIRE(w.try_write(i) == status::ok); // every slot again
    for (std::uint64_t e = 7; e <= 10; ++e) {
        REQUIRE(r.read(v));
        CHECK(v == e);
    }
}

TEST_CASE("ipc: the last end to detach removes the segment", "[ipc]") {
    std::string const name = unique_name("last");
    std::optional<ipc::channel<item>> a{ipc::create<item>(name, 4)};
    auto w = a->writer(); // an end keeps the attachment alive after its handle is gone
    std::optional<ipc::channel<item>> b{ipc::open<item>(name)};
    a.reset();
    CHECK(segment_exists("shared_memory", name));
    b.reset();
    CHECK(segment_exists("shared_memory", name));
    { auto gone = std::move(w); }
    CHECK_FALSE(segment_exists("shared_memory", name));
}

// Declared last: Catch2 runs test cases in declaration order.
TEST_CASE("ipc: no segment of this suite is left in /dev/shm or System V", "[ipc]") {
    std::string const mine = "polychan." + prefix();
    std::vector<std::string> left = polychan::test::shm_names_starting_with(mine);
    for (auto const& n : names_used())
        if (segment_exists("sysv_shared_memory", n)) left.push_back("System V segment of " + n);
    INFO("left behind: " << left.size());
    for (auto const& l : left) INFO(l);
    CHECK(left.empty());
}
