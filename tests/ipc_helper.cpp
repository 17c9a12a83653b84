// polychan tests — the helper process the ipc tests fork and exec: one end of a named
// channel, driven from the command line, reporting what it saw on stdout.
//
//   ipc_helper write  STORAGE ORDERING SYNC NAME CAPACITY COUNT  writes items 0..COUNT-1, closes
//   ipc_helper resume STORAGE ORDERING SYNC NAME CAPACITY COUNT  continues at committed(), closes
//                                                                (a writer restarted after a crash)
//   ipc_helper resume-open ...                                   the same without closing
//   ipc_helper read   STORAGE ORDERING SYNC NAME CAPACITY COUNT  reads until closed and checks order,
//                                                                loss, duplication and torn items
//   ipc_helper crash  STORAGE ORDERING SYNC NAME CAPACITY COUNT  creates, takes both ends, writes
//                                                                COUNT items, dies without detaching
//   ipc_helper hold   STORAGE ORDERING SYNC NAME CAPACITY COUNT  attaches, says "attached", sleeps
//
// Every end uses open_or_create, so either may start first. For the anonymous storage
// (STORAGE memfd) NAME says where the segment comes from instead: create@FD creates it and
// sends it over the inherited UNIX socket FD, receive@FD receives it from there.
// Output is one line of key=value pairs; the exit status is 0 when the helper saw nothing wrong.
#include "ipc_compositions.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using polychan::test::ipc::item;

struct args {
    std::string command, storage, ordering, sync, name;
    std::size_t capacity = 0;
    std::uint64_t count = 0;
};

template <class St, class O, class S>
using channel_t = polychan::ipc::channel<item, O, S, St>;

/// This process's attachment: a named channel opened or created (`fresh`: created), or an
/// anonymous one created and sent, or received, over the socket NAME names.
template <class St, class O, class S>
channel_t<St, O, S> attach(const args& a, bool fresh) {
    if constexpr (polychan::ipc::anonymous_storage<St>) {
        auto const at = a.name.find('@');
        int const socket = at == std::string::npos ? -1 : std::atoi(a.name.c_str() + at + 1);
        if (a.name.starts_with("create@")) {
            auto ch = polychan::ipc::create_anonymous<item, O, S>("helper", a.capacity);
            ch.send_to(socket);
            return ch;
        }
        return polychan::ipc::receive<item, O, S>(socket, a.capacity);
    } else if (fresh) {
        return polychan::ipc::create<item, O, S, St>(a.name, a.capacity);
    } else {
        return polychan::ipc::open_or_create<item, O, S, St>(a.name, a.capacity);
    }
}

template <class St, class O, class S>
int write(const args& a, bool resume, bool close) {
    auto ch = attach<St, O, S>(a, false);
    auto w = ch.writer();
    std::uint64_t first = 0;
    if (resume) {
        if constexpr (requires { w.committed(); }) {
            first = w.committed();
        } else {
            std::printf("error=resume-unsupported-by-%s\n", std::string{S::name}.c_str());
            return 1;
        }
    }
    if (!close) { // a writer the test will kill: tell it where writing starts
        std::printf("attached=1 first=%llu\n", static_cast<unsigned long long>(first));
        std::fflush(stdout);
    }
    std::uint64_t ok = 0, dropped = 0;
    for (std::uint64_t i = first; i < a.count; ++i) {
        polychan::status const st = w.write(item::make(i));
        if (st == polychan::status::ok) {
            ++ok;
        } else if (st == polychan::status::discarded) {
            ++dropped;
        } else {
            std::printf("error=write-status-%s at=%llu\n", std::string{polychan::to_string(st)}.c_str(),
                        static_cast<unsigned long long>(i));
            return 1;
        }
    }
    if (close) w.close();
    std::printf("first=%llu written=%llu dropped=%llu created=%d\n", static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(ok), static_cast<unsigned long long>(dropped), ch.created() ? 1 : 0);
    return 0;
}

template <class St, class O, class S>
int read(const args& a) {
    auto ch = attach<St, O, S>(a, false);
    auto r = ch.reader();
    // block delivers every item in order; the other orderings may drop items but never
    // reorder, duplicate or tear one.
    bool const exact = O::name == polychan::ordering::block::name;
    std::uint64_t received = 0, errors = 0, torn = 0;
    std::uint64_t expected = 0; // next seq (exact) or least acceptable seq (increasing)
    std::uint64_t last = ~0ull;
    std::string first_error;
    item it{};
    while (r.read(it)) {
        ++received;
        if (!it.intact()) {
            ++torn;
            ++errors;
            if (first_error.empty()) first_error = "torn@" + std::to_string(received - 1);
            continue;
        }
        bool const good = exact ? it.seq == expected : it.seq >= expected;
        if (!good) {
            ++errors;
            if (first_error.empty())
                first_error = "seq" + std::to_string(it.seq) + "-expected" + std::to_string(expected);
        }
        expected = it.seq + 1;
        last = it.seq;
        if (a.count != 0 && it.seq >= a.count) {
            ++errors;
            if (first_error.empty()) first_error = "seq-out-of-range" + std::to_string(it.seq);
        }
    }
    unsigned long long repairs = 0;
    if constexpr (requires { ch.local().core().repairs(); }) repairs = ch.local().core().repairs();
    std::printf("received=%llu discarded=%llu last=%lld errors=%llu torn=%llu created=%d repairs=%llu "
                "first_error=%s\n",
                static_cast<unsigned long long>(received), static_cast<unsigned long long>(r.discarded_count()),
                last == ~0ull ? -1LL : static_cast<long long>(last), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(torn), ch.created() ? 1 : 0, repairs,
                first_error.empty() ? "none" : first_error.c_str());
    return errors == 0 ? 0 : 1;
}

/// A crashed pair in one process: both ends attached, items in flight, no detach.
template <class St, class O, class S>
int crash(const args& a) {
    auto ch = attach<St, O, S>(a, true);
    auto w = ch.writer();
    auto r = ch.reader();
    for (std::uint64_t i = 0; i < a.count; ++i) w.try_write(item::make(i));
    auto held = r.try_begin_read(); // dies holding a slot, too
    std::printf("crashing=1\n");
    std::fflush(stdout);
    std::_Exit(0); // no destructors: the segment keeps this process as its owner
}

template <class St, class O, class S>
int hold(const args& a) {
    auto ch = attach<St, O, S>(a, false);
    std::printf("attached=1 created=%d\n", ch.created() ? 1 : 0);
    std::fflush(stdout);
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 8) {
        std::fprintf(stderr,
                     "usage: %s write|resume|resume-open|read|crash|hold STORAGE ORDERING SYNC NAME CAPACITY COUNT\n",
                     argv[0]);
        return 2;
    }
    args a{argv[1],
           argv[2],
           argv[3],
           argv[4],
           argv[5],
           std::strtoull(argv[6], nullptr, 10),
           std::strtoull(argv[7], nullptr, 10)};
    int rc = 2;
    try {
        bool const known = polychan::test::ipc::with_composition<polychan::test::ipc::all_storages>(
            a.storage, a.ordering, a.sync, [&]<class St, class O, class S>() {
                if (a.command == "write")
                    rc = write<St, O, S>(a, false, true);
                else if (a.command == "resume")
                    rc = write<St, O, S>(a, true, true);
                else if (a.command == "resume-open")
                    rc = write<St, O, S>(a, true, false);
                else if (a.command == "read")
                    rc = read<St, O, S>(a);
                else if (a.command == "crash")
                    rc = crash<St, O, S>(a);
                else if (a.command == "hold")
                    rc = hold<St, O, S>(a);
                else
                    std::fprintf(stderr, "unknown command %s\n", a.command.c_str());
            });
        if (!known) std::fprintf(stderr, "unknown composition %s/%s/%s\n", argv[2], argv[3], argv[4]);
    } catch (const std::exception& e) {
        std::printf("error=exception what=%s\n", e.what());
        rc = 3;
    }
    std::fflush(stdout);
    return rc;
}
