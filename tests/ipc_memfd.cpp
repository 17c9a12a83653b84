// polychan tests — anonymous (memfd) channels between real processes: the segment is created
// by one helper process, sent over a UNIX socket (SCM_RIGHTS) to this one, which passes it
// on to another helper without attaching; every ordering x sync policy across processes;
// hostile and broken peers (garbage messages, descriptors that are not memfds, memfds too
// small, unsealed or with a wrong header) get a clear ipc::error and leak nothing; and no
// name, descriptor or mapping is left behind.
#include "ipc_checks.hpp"
#include "ipc_compositions.hpp"
#include "ipc_process.hpp"
#include "shm_listing.hpp"

#include <polychan/ipc.hpp>
#include <polychan/ipc/fd_passing.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ipc = polychan::ipc;
using namespace polychan::test::ipc; // item, helper_process, parse_fields, check_transfer, error_of, ...
using namespace std::chrono_literals;
using polychan::storage::detail::segment_header;
using block = polychan::ordering::block;

namespace {

/// Labels unique to this test process (the suite runs in several flavors at once).
std::string prefix() { return "ipcm" + std::to_string(::getpid()) + "-"; }
std::string unique_label(const std::string& what) {
    static std::atomic<int> n{0};
    return prefix() + what + "-" + std::to_string(n++);
}

/// A connected pair of UNIX stream sockets: `mine` stays in this process (close-on-exec),
/// `theirs` is for a peer (a helper process inherits it, see spawn).
struct socket_pair {
    ipc::unique_fd mine, theirs;
    explicit socket_pair(int type = SOCK_STREAM) {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0);
        mine.reset(sv[0]);
        theirs.reset(sv[1]);
    }
};

/// Starts the helper with `cmd` on composition `c`, its channel coming from `how`@<its end
/// of `sp`> ("create": it creates the channel and sends it; "receive": it receives it).
/// That end is inherited by the helper and closed here, so the helper's exit is a hang-up.
std::unique_ptr<helper_process> spawn(const std::string& cmd, const composition_names& c, const std::string& how,
                                      socket_pair& sp, std::size_t capacity, std::uint64_t count) {
    REQUIRE(::fcntl(sp.theirs.get(), F_SETFD, 0) == 0); // not close-on-exec: the helper gets it
    auto h = std::make_unique<helper_process>(
        std::vector<std::string>{cmd, c.storage, c.ordering, c.sync, how + "@" + std::to_string(sp.theirs.get()),
                                 std::to_string(capacity), std::to_string(count)});
    sp.theirs.reset();
    return h;
}

/// Sends `n` raw bytes and descriptors `fds` as one message: what a broken or hostile peer does.
void send_raw(int socket, const void* bytes, std::size_t n, const std::vector<int>& fds = {}) {
    iovec iov{const_cast<void*>(bytes), n};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    std::vector<char> control(CMSG_SPACE(fds.size() * sizeof(int)));
    if (!fds.empty()) {
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
        std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    }
    REQUIRE(::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(n));
}

/// A memfd named `name` of `size` bytes (MFD_ALLOW_SEALING unless `sealable` is false).
ipc::unique_fd make_memfd(const std::string& name, std::size_t size, bool sealable = true) {
    ipc::unique_fd fd{::memfd_create(name.c_str(), MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0U))};
    REQUIRE(fd);
    REQUIRE(::ftruncate(fd.get(), static_cast<off_t>(size)) == 0);
    return fd;
}

/// The first `n` bytes of the file `fd`.
std::vector<unsigned char> bytes_of(int fd, std::size_t n) {
    std::vector<unsigned char> out(n);
    REQUIRE(::pread(fd, out.data(), n, 0) == static_cast<ssize_t>(n));
    return out;
}

/// The header of a segment, in a mapping of its descriptor that can be edited.
struct header_view {
    explicit header_view(int fd) {
        p = ::mmap(nullptr, sizeof(segment_header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(p != MAP_FAILED);
    }
    ~header_view() { ::munmap(p, sizeof(segment_header)); }
    header_view(const header_view&) = delete;
    header_view& operator=(const header_view&) = delete;
    segment_header& operator*() const { return *static_cast<segment_header*>(p); }
    segment_header* operator->() const { return static_cast<segment_header*>(p); }
    void* p;
};

/// Descriptors open in this process.
std::size_t open_fds() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ++n;
        ::closedir(d);
    }
    return n - 1; // the directory's own descriptor
}

/// What this process still holds of polychan memfds: descriptors and mappings.
std::vector<std::string> polychan_memfds_held() {
    std::vector<std::string> held;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d)) {
            char target[512];
            std::string const link = std::string{"/proc/self/fd/"} + e->d_name;
            ssize_t const n = ::readlink(link.c_str(), target, sizeof target - 1);
            if (n > 0 && std::string_view{target, static_cast<std::size_t>(n)}.starts_with("/memfd:polychan."))
                held.push_back("fd " + std::string{e->d_name} + " -> " +
                               std::string{target, static_cast<std::size_t>(n)});
        }
        ::closedir(d);
    }
    std::ifstream maps{"/proc/self/maps"};
    for (std::string line; std::getline(maps, line);)
        if (line.find("/memfd:polychan.") != std::string::npos) held.push_back("mapping " + line);
    return held;
}

/// A pid that is certainly dead: a child that exited and was reaped.
std::uint32_t dead_pid() {
    pid_t const child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return static_cast<std::uint32_t>(child);
}

} // namespace

TEST_CASE("ipc memfd: every ordering x sync policy, writer and reader in different processes, the segment passed "
          "over sockets",
          "[ipc][memfd]") {
    constexpr std::uint64_t items = 200'000;
    for (auto const& c : all_compositions<anonymous_storages>()) {
        DYNAMIC_SECTION(c.storage << "/" << c.ordering << "/" << c.sync) {
            // The reader creates the segment and sends it here; this process passes it on to
            // the writer without ever attaching (it only holds the descriptor for a moment).
            socket_pair to_reader, to_writer;
            auto reader = spawn("read", c, "create", to_reader, 64, items);
            ipc::unique_fd segment = ipc::receive_fd(to_reader.mine.get(), 20s);
            auto writer = spawn("write", c, "receive", to_writer, 64, items);
            ipc::send_fd(to_writer.mine.get(), segment.get());
            segment.reset();
            auto const w = parse_fields(writer->finish());
            auto const r = parse_fields(reader->finish());
            INFO("writer: exit " << writer->exit_code() << ", reader: exit " << reader->exit_code());
            REQUIRE(writer->exit_code() == 0);
            REQUIRE(reader->exit_code() == 0);
            CHECK(field_ll(r, "created") == 1);
            CHECK(field_ll(w, "created") == 0);
            check_transfer(w, r, c.ordering, items);
        }
    }
    CHECK(polychan_memfds_held().empty());
}

TEST_CASE("ipc memfd: a crashed creator's segment lives on in the process that holds it, items recovered",
          "[ipc][memfd]") {
    composition_names const c{"memfd", "block", "mutex"};
    socket_pair sp;
    // The helper creates the channel, sends it, writes 5 items, dies holding a read slot of
    // item 0 and without detaching.
    auto crasher = spawn("crash", c, "create", sp, 8, 5);
    ipc::unique_fd segment = ipc::receive_fd(sp.mine.get(), 20s);
    crasher->finish();
    REQUIRE(crasher->exit_code() == 0);
    {
        auto ch = ipc::adopt<item>(segment.get(), 8); // its only recorded owner is dead: recovered
        segment.reset();                              // the attachment holds its own descriptor
        CHECK_FALSE(ch.created());
        auto r = ch.reader();
        // Item 0 was being read by the dead process: lost (at most once for a dying reader).
        for (std::uint64_t i = 1; i < 5; ++i) {
            item got{};
            REQUIRE(r.try_read(got) == polychan::status::ok);
            CHECK(got.seq == i);
            CHECK(got.intact());
        }
        item none{};
        CHECK(r.try_read(none) == polychan::status::empty);
        CHECK(ch.local().free_size() == 8); // the dead reader's slot came back
    }
    // Nothing to reclaim or remove by hand: the last holder let go, the kernel freed it.
    CHECK(polychan_memfds_held().empty());
}

TEST_CASE("ipc memfd: fd passing refuses broken and hostile peers with a clear error and leaks no descriptor",
          "[ipc][memfd]") {
    std::size_t const fds_before = open_fds();
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    ipc::unique_fd const pipe_r{pipe_fds[0]}, pipe_w{pipe_fds[1]};
    socket_pair sp;
    int const s = sp.mine.get();
    std::string const on = "fd passing over socket " + std::to_string(s) + ": ";

    SECTION("not a socket") {
        CHECK_THAT(error_of([&] { ipc::receive_fd(pipe_r.get()); }),
                   Catch::Contains("over socket " + std::to_string(pipe_r.get()) + ": it is not a socket"));
        CHECK_THAT(error_of([&] { ipc::send_fd(pipe_w.get(), pipe_r.get()); }), Catch::Contains("it is not a socket"));
        CHECK_THAT(error_of([&] { ipc::receive<item>(pipe_r.get()); }), Catch::Contains("it is not a socket"));
    }
    SECTION("not an open descriptor, not a UNIX socket") {
        CHECK_THAT(error_of([&] { ipc::receive_fd(1000000); }), Catch::Contains("it is not an open file descriptor"));
        ipc::unique_fd const udp{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
        REQUIRE(udp);
        CHECK_THAT(error_of([&] { ipc::receive_fd(udp.get()); }), Catch::Contains("it is not a UNIX domain socket"));
        CHECK_THAT(error_of([&] { ipc::send_fd(s, -1); }), Catch::Contains("no descriptor to send"));
        CHECK_THAT(error_of([&] { ipc::send_fd(s, 1000000); }), Catch::Contains("fd 1000000 to send is not open"));
    }
    SECTION("the peer closed the socket") {
        sp.theirs.reset();
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }),
                   Catch::Contains(on + "the peer closed the socket before sending a descriptor"));
        CHECK_THAT(error_of([&] { ipc::send_fd(s, pipe_r.get()); }), Catch::Contains("the peer closed the socket"));
    }
    SECTION("the peer closed it in the middle of a message") {
        send_raw(sp.theirs.get(), "POL", 3);
        sp.theirs.reset();
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }),
                   Catch::Contains("the peer closed the socket after 3 bytes of a 16-byte message"));
    }
    SECTION("the peer sends nothing") {
        CHECK_THAT(error_of([&] { ipc::receive_fd(s, 50ms); }), Catch::Contains("nothing arrived within 50 ms"));
    }
    SECTION("garbage without a descriptor") {
        char const garbage[16] = "GET / HTTP/1.1\n";
        send_raw(sp.theirs.get(), garbage, sizeof garbage);
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }),
                   Catch::Contains(on + "wrong magic: the message starts with 0x") &&
                       Catch::Contains("a polychan descriptor message with 0x444648435"));
    }
    SECTION("garbage with descriptors: refused, and the descriptors are closed") {
        char const garbage[16] = {1, 2, 3};
        send_raw(sp.theirs.get(), garbage, sizeof garbage, {pipe_r.get(), pipe_w.get()});
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }), Catch::Contains("wrong magic"));
    }
    SECTION("the right header, but no descriptor") {
        ipc::detail::fd_message const m{};
        send_raw(sp.theirs.get(), &m, sizeof m);
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }), Catch::Contains(on + "no descriptor in the message"));
    }
    SECTION("the right header with two descriptors, or with too many to count") {
        ipc::detail::fd_message const m{};
        send_raw(sp.theirs.get(), &m, sizeof m, {pipe_r.get(), pipe_w.get()});
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }),
                   Catch::Contains("the message carried 2 descriptors (and says 1), expected 1"));
        std::vector<int> const many(9, pipe_r.get());
        send_raw(sp.theirs.get(), &m, sizeof m, many);
        CHECK_THAT(error_of([&] { ipc::receive_fd(s); }), Catch::Contains("control data truncated"));
    }
    SECTION("a datagram of the wrong size") {
        socket_pair dg{SOCK_SEQPACKET};
        char const big[40] = {};
        send_raw(dg.theirs.get(), big, sizeof big, {pipe_r.get()});
        CHECK_THAT(error_of([&] { ipc::receive_fd(dg.mine.get()); }),
                   Catch::Contains("a message of more than 16 bytes, expected 16"));
        send_raw(dg.theirs.get(), big, 5);
        CHECK_THAT(error_of([&] { ipc::receive_fd(dg.mine.get()); }),
                   Catch::Contains("a message of 5 bytes, expected 16"));
    }
    SECTION("a good message goes through, on stream and packet sockets") {
        ipc::send_fd(sp.theirs.get(), pipe_w.get());
        ipc::unique_fd const got = ipc::receive_fd(s);
        REQUIRE(got);
        CHECK((::fcntl(got.get(), F_GETFD) & FD_CLOEXEC) != 0);
        REQUIRE(::write(got.get(), "x", 1) == 1); // the same pipe
        char c = 0;
        REQUIRE(::read(pipe_r.get(), &c, 1) == 1);
        CHECK(c == 'x');
        socket_pair dg{SOCK_SEQPACKET};
        ipc::send_fd(dg.theirs.get(), pipe_w.get());
        CHECK(ipc::receive_fd(dg.mine.get(), 1s));
    }
    // Drain whatever a section left queued, then count: every refused descriptor was closed.
    sp.theirs.reset();
    while (true) {
        char buf[64];
        if (::recv(s, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
    }
    CHECK(open_fds() == fds_before + 3); // the pipe's two ends and our socket
}

TEST_CASE("ipc memfd: a descriptor that is not a polychan memfd is refused before it is mapped", "[ipc][memfd]") {
    std::size_t const fds_before = open_fds();
    socket_pair sp;
    auto received = [&](int fd) { // sent over the socket as a peer would, then adopted
        ipc::send_fd(sp.theirs.get(), fd);
        return error_of([&] { ipc::receive<item>(sp.mine.get()); });
    };
    std::string const over = "cannot adopt the descriptor received over socket " + std::to_string(sp.mine.get());

    SECTION("a pipe, a socket, a directory") {
        int p[2];
        REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
        ipc::unique_fd const r{p[0]}, w{p[1]};
        CHECK_THAT(received(r.get()), Catch::Contains(over + ": it is not a memfd: it is a pipe"));
        CHECK_THAT(received(sp.theirs.get()), Catch::Contains("it is not a memfd: it is a socket"));
        ipc::unique_fd const dir{::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
        CHECK_THAT(received(dir.get()), Catch::Contains("it is not a memfd: it is a directory"));
        CHECK_THAT(error_of([&] { ipc::adopt<item>(r.get()); }),
                   Catch::Contains("cannot adopt fd " + std::to_string(r.get()) + ": it is not a memfd: it is a pipe"));
        CHECK_THAT(error_of([&] { ipc::adopt<item>(-1); }),
                   Catch::Contains("cannot adopt fd -1: it is not an open file descriptor"));
    }
    SECTION("a regular file, and a POSIX shared-memory object") {
        char path[] = "/tmp/polychan-memfd-test-XXXXXX";
        ipc::unique_fd const file{::mkstemp(path)};
        REQUIRE(file);
        ::unlink(path);
        REQUIRE(::ftruncate(file.get(), 4096) == 0);
        CHECK_THAT(received(file.get()), Catch::Contains("it is not a memfd"));
        std::string const shm = "/polychan." + unique_label("shm");
        ipc::unique_fd const obj{::shm_open(shm.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600)};
        REQUIRE(obj);
        ::shm_unlink(shm.c_str());
        REQUIRE(::ftruncate(obj.get(), 4096) == 0);
        CHECK_THAT(received(obj.get()), Catch::Contains("it is not a memfd: it is the file '/dev/shm" + shm));
    }
    SECTION("a memfd polychan did not create") {
        auto const fd = make_memfd("someone-else", 1 << 16);
        CHECK_THAT(received(fd.get()), Catch::Contains("it is a memfd named 'someone-else', not a polychan channel"));
        auto const bad_label = make_memfd("polychan.a/b", 1 << 16);
        CHECK_THAT(received(bad_label.get()), Catch::Contains("its name is not that of a polychan channel"));
    }
    SECTION("a memfd that cannot be sealed against shrinking") {
        auto const fd = make_memfd("polychan." + unique_label("unsealable"), 1 << 16, false);
        CHECK_THAT(received(fd.get()), Catch::Contains("is not sealed against shrinking and growing") &&
                                           Catch::Contains("a peer could truncate it"));
        auto const sealed_shut = make_memfd("polychan." + unique_label("sealed-shut"), 1 << 16);
        REQUIRE(::fcntl(sealed_shut.get(), F_ADD_SEALS, F_SEAL_SEAL) == 0);
        CHECK_THAT(received(sealed_shut.get()), Catch::Contains("is not sealed against shrinking and growing"));
    }
    SECTION("a memfd sealed against writing") {
        auto const fd = make_memfd("polychan." + unique_label("read-only"), 1 << 16);
        REQUIRE(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0);
        CHECK_THAT(received(fd.get()), Catch::Contains("the memfd is sealed against writing"));
    }
    SECTION("a memfd smaller than a segment header: sealed first, then refused by its size") {
        for (std::size_t size : {std::size_t{0}, std::size_t{16}, sizeof(segment_header) - 1}) {
            auto const fd = make_memfd("polychan." + unique_label("small"), size);
            CHECK_THAT(received(fd.get()),
                       Catch::Contains("the memfd has " + std::to_string(size) + " bytes, less than the " +
                                       std::to_string(sizeof(segment_header)) + "-byte segment header"));
            CHECK((::fcntl(fd.get(), F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW));
        }
    }
    SECTION("a memfd full of garbage") {
        auto const fd = make_memfd("polychan." + unique_label("garbage"), 1 << 16);
        std::vector<unsigned char> junk(1 << 16);
        for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<unsigned char>(i * 131 + 7);
        REQUIRE(::pwrite(fd.get(), junk.data(), junk.size(), 0) == static_cast<ssize_t>(junk.size()));
        CHECK_THAT(received(fd.get()), Catch::Contains("magic differs: the segment has '0x"));
    }
    CHECK(polychan_memfds_held().empty());
    CHECK(open_fds() == fds_before + 2); // our socket pair
}

TEST_CASE("ipc memfd: adopt runs every check of open and names the field", "[ipc][memfd]") {
    std::size_t const fds_before = open_fds();
    std::string const label = unique_label("fields");
    std::optional<ipc::anonymous_channel<item>> ch{ipc::create_anonymous<item>(label, 8)};
    int const fd = ch->fd();
    std::string const at = "cannot attach to channel '" + label + "': ";

    SECTION("item type, size, capacity, policies") {
        CHECK_THAT(error_of([&] { ipc::adopt<std::uint32_t>(fd); }),
                   Catch::Contains(at + "item size differs: the segment has 64, this process expects 4"));
        struct other_item {
            std::uint64_t words[8];
        };
        CHECK_THAT(error_of([&] { ipc::adopt<other_item>(fd); }),
                   Catch::Contains("item type differs") && Catch::Contains("other_item (hash"));
        CHECK_THAT(error_of([&] { ipc::adopt<item>(fd, 16); }),
                   Catch::Contains(at + "capacity differs: the segment has 8, this process expects 16"));
        CHECK_THAT(error_of([&] { ipc::adopt<item, polychan::ordering::discard_old>(fd); }),
                   Catch::Contains("ordering policy differs: the segment has 'block', this process expects "
                                   "'discard_old'"));
        CHECK_THAT(error_of([&] { ipc::adopt<item, block, polychan::sync::semaphore>(fd); }),
                   Catch::Contains("sync policy differs: the segment has 'mutex', this process expects 'semaphore'"));
        ipc::options tagged;
        tagged.type_tag = "item-v1";
        CHECK_THAT(error_of([&] { ipc::adopt<item>(fd, tagged); }), Catch::Contains("tag 'item-v1'"));
    }
    SECTION("magic and layout version, corrupted in place") {
        header_view h{fd};
        h->layout_version = 99; // no version this process knows
        CHECK_THAT(error_of([&] { ipc::adopt<item>(fd); }),
                   Catch::Contains(at + "layout version differs: the segment has 99, this process expects " +
                                   std::to_string(polychan::storage::detail::segment_header::current_layout_version)));
        h->layout_version = segment_header::current_layout_version;
        h->magic = 0x1234;
        CHECK_THAT(error_of([&] { ipc::adopt<item>(fd); }), Catch::Contains("magic differs: the segment has '0x1234'"));
        h->magic = segment_header::magic_value;
    }
    SECTION("a header that claims more memory than the memfd has") {
        // A valid header copied into a memfd of the same label, a little larger than the header.
        auto const copy = make_memfd("polychan." + label, sizeof(segment_header) + 64);
        auto const header = bytes_of(fd, sizeof(segment_header));
        REQUIRE(::pwrite(copy.get(), header.data(), header.size(), 0) == static_cast<ssize_t>(header.size()));
        struct ::stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        CHECK_THAT(error_of([&] { ipc::adopt<item>(copy.get()); }),
                   Catch::Contains(at + "segment size differs: the segment has " + std::to_string(st.st_size) +
                                   ", this process expects " + std::to_string(sizeof(segment_header) + 64)));
    }
    SECTION("a header whose recorded capacity does not fit the memfd") {
        auto const copy = make_memfd("polychan." + label, 0);
        struct ::stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        auto const all = bytes_of(fd, static_cast<std::size_t>(st.st_size));
        REQUIRE(::pwrite(copy.get(), all.data(), all.size(), 0) == static_cast<ssize_t>(all.size()));
        header_view h{copy.get()};
        h->capacity = 1'000'000; // the segment size field still matches the memfd
        CHECK_THAT(error_of([&] { ipc::adopt<item>(copy.get()); }),
                   Catch::Contains("segment size for the capacity differs"));
    }
    SECTION("a creator that died while initialising it, or is taking too long") {
        auto const copy = make_memfd("polychan." + label, sizeof(segment_header));
        auto const header = bytes_of(fd, sizeof(segment_header));
        REQUIRE(::pwrite(copy.get(), header.data(), header.size(), 0) == static_cast<ssize_t>(header.size()));
        header_view h{copy.get()};
        h->state.store(0); // initialising
        h->creator.pid = dead_pid();
        CHECK_THAT(error_of([&] { ipc::adopt<item>(copy.get()); }),
                   Catch::Contains("its creator (pid " + std::to_string(h->creator.pid) + ") died while initialising"));
        h->creator = polychan::storage::detail::process_record{static_cast<std::uint32_t>(::getpid()), 0, 0};
        ipc::options quick;
        quick.attach_timeout = 50ms;
        CHECK_THAT(error_of([&] { ipc::adopt<item>(copy.get(), quick); }),
                   Catch::Contains("still being initialised by pid " + std::to_string(::getpid()) + " after 50 ms"));
    }
    SECTION("a channel every process has left") {
        socket_pair sp;
        ipc::send_fd(sp.theirs.get(), fd); // in flight: the socket holds the memfd open
        ch.reset();                        // its only process detaches: marked removed
        CHECK_THAT(error_of([&] { ipc::receive<item>(sp.mine.get()); }),
                   Catch::Contains("had detached from it before this one attached: it is gone"));
    }
    SECTION("the good one attaches, and shares the items") {
        auto peer = ipc::adopt<item>(fd, 8);
        CHECK(peer.name() == label);
        CHECK_FALSE(peer.created());
        CHECK(peer.fd() != fd);
        REQUIRE(ch->writer().write(item::make(42)) == polychan::status::ok);
        item got{};
        REQUIRE(peer.reader().try_read(got) == polychan::status::ok);
        CHECK(got.seq == 42);
        CHECK(got.intact());
    }
    ch.reset();
    CHECK(polychan_memfds_held().empty());
    CHECK(open_fds() == fds_before);
}

TEST_CASE("ipc memfd: the segment is sealed, private to its user and close-on-exec", "[ipc][memfd]") {
    ipc::options group;
    group.mode = 0640;
    auto ch = ipc::create_anonymous<item>(unique_label("sealed"), 4, group);
    int const fd = ch.fd();
    int const seals = ::fcntl(fd, F_GET_SEALS);
    CHECK((seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
    CHECK(::ftruncate(fd, 0) != 0); // nobody can shrink it under a mapping
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    struct ::stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(ipc::create_anonymous<item>(8).name() == "anonymous");
    CHECK_THAT(error_of([&] { ipc::create_anonymous<item>("a/b", 4); }), Catch::Contains("invalid channel name"));
    CHECK_THAT(error_of([&] { ipc::create_anonymous<item>(0); }), Catch::Contains("capacity of at least 1"));
}

TEST_CASE("ipc memfd: spsc refuses a second live writer or reader across attachments", "[ipc][memfd]") {
    using spsc = polychan::sync::spsc;
    auto a = ipc::create_anonymous<item, block, spsc>(unique_label("spsc-roles"), 8);
    auto b = ipc::adopt<item, block, spsc>(a.fd());
    std::string const me = "pid " + std::to_string(::getpid());
    {
        auto w = a.writer();
        auto r = a.reader();
        CHECK_THAT(error_of([&] { b.writer(); }), Catch::Contains("the writer role is taken by " + me));
        CHECK_THAT(error_of([&] { b.reader(); }), Catch::Contains("the reader role is taken by " + me));
        REQUIRE(w.write(item::make(3)) == polychan::status::ok);
    }
    auto r = b.reader();
    item got{};
    REQUIRE(r.try_read(got) == polychan::status::ok);
    CHECK(got.seq == 3);
}

// Declared last: Catch2 runs test cases in declaration order.
TEST_CASE("ipc memfd: nothing of this suite is left: no name in /dev/shm, no descriptor, no mapping", "[ipc][memfd]") {
    std::vector<std::string> left = polychan_memfds_held();
    std::string const mine = "polychan." + prefix();
    for (std::string const& n : polychan::test::shm_names_starting_with(""))
        if (n.starts_with(mine) || n.find("helper") != std::string::npos) left.push_back("/dev/shm/" + n);
    INFO("left behind: " << left.size());
    for (auto const& l : left) INFO(l);
    CHECK(left.empty());
}
