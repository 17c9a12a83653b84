// polychan tests — the helper process the soak test (soak.cpp) forks and execs: one writer
// or one reader of a named channel, which it attaches to with ipc::open, running until the
// soak tells it to finish (SIGUSR1) or, for a reader, until the channel is closed and drained.
//
//   soak_helper write STORAGE ORDERING SYNC NAME CAPACITY LEDGER_FD ID SEED
//       writes items (ID, 0), (ID, 1), ... as fast as it can, with random pauses, each write
//       at random a write or a write transaction (now and then one abandoned without commit),
//       with a 20 ms timeout or waiting as long as it takes
//   soak_helper read  STORAGE ORDERING SYNC NAME CAPACITY LEDGER_FD ID SEED SINGLE
//       reads, each read at random a read or a read transaction, with a 20 ms timeout or
//       waiting as long as it takes, with random pauses; ticks every item off in the ledger
//       and checks it: intact, not from the future, never twice, and per writer in increasing
//       order (SINGLE=1, the only reader: also across reader restarts and writers, and with
//       ordering block without gaps)
//
// SIGUSR1 arrives blocked (the soak blocks it before forking) until the handler is in place,
// so a stop request is never lost nor fatal. It is seen after the current operation: one
// that waits forever ends when the other side moves (the soak always keeps a peer running)
// or at close, so a helper that never finishes has a channel that failed to wake it.
// Prints "attached=1" once attached, then at the end one line of key=value counts; the exit
// status is 0 when the helper saw nothing wrong.
#include "soak_common.hpp"

#include <polychan/ipc.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/shared_memory.hpp>
#include <polychan/storage/sysv_shared_memory.hpp>
#include <polychan/sync/mutex.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <sys/prctl.h>
#include <unistd.h>

namespace {

using polychan::test::soak::item;
using polychan::test::soak::ledger;
using namespace std::chrono_literals;

std::atomic<bool> stop_requested{false};
extern "C" void on_stop(int) { stop_requested.store(true, std::memory_order_relaxed); }
bool stopping() { return stop_requested.load(std::memory_order_relaxed); }

struct args {
    std::string command, storage, ordering, sync, name;
    std::size_t capacity = 0;
    int ledger_fd = -1;
    std::uint32_t id = 0;
    std::uint64_t seed = 0;
    bool single = false;
};

using storages = std::tuple<polychan::storage::shared_memory, polychan::storage::sysv_shared_memory>;
using orderings = std::tuple<polychan::ordering::block, polychan::ordering::discard_new,
                             polychan::ordering::discard_old, polychan::ordering::always_last>;
using syncs = std::tuple<polychan::sync::mutex, polychan::sync::spsc, polychan::sync::semaphore>;

/// Calls f.template operator()<St, O, S>() for the composition with these names; false if none.
template <class F>
bool with_composition(const args& a, F&& f) {
    bool found = false;
    auto one = [&]<class St, class O, class S>() {
        if (!found && St::name == a.storage && O::name == a.ordering && S::name == a.sync) {
            found = true;
            f.template operator()<St, O, S>();
        }
    };
    [&]<class... St>(std::tuple<St...>*) {
        (
            [&]<class St1>() {
                [&]<class... O>(std::tuple<O...>*) {
                    (
                        [&]<class O1>() {
                            [&]<class... S>(std::tuple<S...>*) {
                                (one.template operator()<St1, O1, S>(), ...);
                            }(static_cast<syncs*>(nullptr));
                        }.template operator()<O>(),
                        ...);
                }(static_cast<orderings*>(nullptr));
            }.template operator()<St>(),
            ...);
    }(static_cast<storages*>(nullptr));
    return found;
}

/// The first thing that went wrong, kept for the report.
struct first_error {
    std::string what;
    std::uint64_t count = 0;
    void add(const std::string& w) {
        if (count++ == 0) what = w;
    }
    const char* c_str() const { return what.empty() ? "none" : what.c_str(); }
};

/// How often this process pauses, and for how long at most: each process draws its own, so
/// that fast and slow writers and readers meet (a full channel, an empty one, both in turn).
struct tempo {
    std::uint64_t every;  // one operation in `every` (1 to 1024) is followed by a pause
    std::uint64_t max_us; // of up to this many microseconds (1 to 2000)
    explicit tempo(std::mt19937_64& rng) : every{std::uint64_t{1} << (rng() % 11)}, max_us{1 + rng() % 2000} {}
    /// Pauses after this operation (`r`: its random draw) if it is one in `every`.
    bool pause(std::uint64_t r) const {
        if ((r >> 20) % every != 0) return false;
        std::this_thread::sleep_for(std::chrono::microseconds((r >> 32) % max_us));
        return true;
    }
};

using clock_type = std::chrono::steady_clock;

/// Timed operations (20 ms deadlines) that returned late: how many took over 100 ms, and the
/// longest (reported, not judged: a loaded machine delays a process too).
struct lateness {
    std::uint64_t over_100ms = 0;
    double worst_ms = 0;
    void add(clock_type::duration d) {
        double const ms = std::chrono::duration<double, std::milli>(d).count();
        if (ms > 100) ++over_100ms;
        worst_ms = std::max(worst_ms, ms);
    }
};

void announce_attached() {
    std::printf("attached=1\n");
    std::fflush(stdout);
}

template <class St, class O, class S>
int write(const args& a) {
    ledger const book = ledger::attach(a.ledger_fd);
    auto ch = polychan::ipc::open<item, O, S, St>(a.name, a.capacity);
    auto w = ch.writer();
    announce_attached();
    std::mt19937_64 rng{a.seed};
    tempo const pace{rng};
    std::uint64_t seq = 0, ok = 0, dropped = 0, timeouts = 0, abandoned = 0, transactions = 0, pauses = 0;
    lateness late;
    first_error err;
    auto attempted = book.attempted(a.id);
    while (!stopping()) {
        if (seq >= book.bits_per_writer()) break; // its share of the ledger is full: leave (the soak replaces it)
        attempted.store(seq + 1, std::memory_order_release); // before the item can be seen
        std::uint64_t const r = rng();
        bool const timed = r % 4 < 2; // half the writes wait forever: a stop request waits for room
        auto const started = clock_type::now();
        polychan::status st;
        if (r % 2 == 0) {
            st = timed ? w.write_for(item::make(a.id, seq), 20ms) : w.write(item::make(a.id, seq));
        } else {
            ++transactions;
            auto t = timed ? w.begin_write_for(20ms, item::make(a.id, seq)) : w.begin_write(item::make(a.id, seq));
            if (!t) {
                st = t.status();
            } else if ((r >> 8) % 64 == 0) {
                ++abandoned; // dropped uncommitted: its slot goes back, the item is written again
                continue;
            } else {
                st = t.commit();
            }
        }
        if (timed) late.add(clock_type::now() - started);
        switch (st) {
        case polychan::status::ok:
            ++ok;
            ++seq;
            break;
        case polychan::status::discarded: // discard_new: the item is dropped and counted
            ++dropped;
            ++seq;
            break;
        case polychan::status::timeout: // nothing was written: the same item again
            ++timeouts;
            break;
        default:
            err.add("write-status-" + std::string{polychan::to_string(st)} + "@" + std::to_string(seq));
            break;
        }
        if (err.count != 0) break;
        if (pace.pause(r)) ++pauses; // now and then let the channel drain
    }
    std::printf("role=writer id=%u ok=%llu dropped=%llu attempts=%llu timeouts=%llu abandoned=%llu "
                "transactions=%llu pauses=%llu late=%llu worst_ms=%.0f errors=%llu first_error=%s\n",
                a.id, static_cast<unsigned long long>(ok), static_cast<unsigned long long>(dropped),
                static_cast<unsigned long long>(seq), static_cast<unsigned long long>(timeouts),
                static_cast<unsigned long long>(abandoned), static_cast<unsigned long long>(transactions),
                static_cast<unsigned long long>(pauses), static_cast<unsigned long long>(late.over_100ms),
                late.worst_ms, static_cast<unsigned long long>(err.count), err.c_str());
    return err.count == 0 ? 0 : 1;
}

template <class St, class O, class S>
int read(const args& a) {
    ledger const book = ledger::attach(a.ledger_fd);
    auto ch = polychan::ipc::open<item, O, S, St>(a.name, a.capacity);
    auto r = ch.reader();
    announce_attached();
    bool const fifo_exact = O::name == polychan::ordering::block::name && a.single;
    std::mt19937_64 rng{a.seed};
    tempo const pace{rng};
    std::uint64_t received = 0, duplicates = 0, future = 0, misordered = 0, torn = 0, timeouts = 0, transactions = 0,
                  pauses = 0;
    bool drained = false;
    lateness late;
    first_error err;
    std::unordered_map<std::uint64_t, std::uint64_t> next_seq; // per writer: the least acceptable seq
    auto take = [&](const item& it) {
        ++received;
        auto where = [&] { return "(" + std::to_string(it.writer) + "," + std::to_string(it.seq) + ")"; };
        if (!it.intact() || it.writer >= book.max_writers() || it.seq >= book.bits_per_writer()) {
            ++torn;
            err.add("torn" + where());
            return;
        }
        auto const w = static_cast<std::uint32_t>(it.writer);
        if (it.seq >= book.attempted(w).load(std::memory_order_acquire)) {
            ++future;
            err.add("future" + where());
        }
        if (!book.mark(w, it.seq)) {
            ++duplicates;
            err.add("duplicate" + where());
        }
        auto [at, fresh] = next_seq.try_emplace(it.writer, 0);
        if (!fresh && it.seq < at->second) {
            ++misordered;
            err.add("order" + where() + "-after-seq" + std::to_string(at->second - 1));
        }
        at->second = it.seq + 1;
        if (a.single) { // the only reader: items come in publish order, across writers and reader restarts
            std::uint64_t const k = ledger::key(it.writer, it.seq);
            std::uint64_t const before = book.last_key().load(std::memory_order_relaxed);
            bool good = k > before;
            if (fifo_exact) { // nothing is ever dropped: the next item of the same writer, or a new writer's first
                bool const same_writer = before != 0 && ((before - 1) >> 32) == it.writer;
                good = same_writer ? k == before + 1 : (k > before && it.seq == 0);
            }
            if (!good) {
                ++misordered;
                err.add("order" + where() + "-after-key" + std::to_string(before));
            }
            book.last_key().store(k, std::memory_order_relaxed);
        }
    };
    while (!stopping()) {
        std::uint64_t const x = rng();
        bool const timed = x % 4 < 2; // half the reads wait forever: a stop request waits for an item
        auto const started = clock_type::now();
        polychan::status st;
        if (x % 2 == 0) {
            item it{};
            if (timed)
                st = r.read_for(it, 20ms);
            else
                st = r.read(it) ? polychan::status::ok : polychan::status::closed;
            if (st == polychan::status::ok) take(it);
        } else {
            ++transactions;
            auto t = timed ? r.begin_read_for(20ms) : r.begin_read();
            st = t.status();
            if (t) take(*t);
        }
        if (timed) late.add(clock_type::now() - started);
        if (st == polychan::status::closed) {
            drained = true;
            break;
        }
        if (st == polychan::status::timeout) {
            ++timeouts;
        } else if (st != polychan::status::ok) {
            err.add("read-status-" + std::string{polychan::to_string(st)});
            break;
        }
        if (pace.pause(x)) ++pauses; // now and then let the channel fill up
    }
    std::printf(
        "role=reader id=%u received=%llu drained=%d duplicates=%llu future=%llu misordered=%llu "
        "torn=%llu timeouts=%llu transactions=%llu pauses=%llu late=%llu worst_ms=%.0f writers_seen=%zu errors=%llu "
        "first_error=%s\n",
        a.id, static_cast<unsigned long long>(received), drained ? 1 : 0, static_cast<unsigned long long>(duplicates),
        static_cast<unsigned long long>(future), static_cast<unsigned long long>(misordered),
        static_cast<unsigned long long>(torn), static_cast<unsigned long long>(timeouts),
        static_cast<unsigned long long>(transactions), static_cast<unsigned long long>(pauses),
        static_cast<unsigned long long>(late.over_100ms), late.worst_ms, next_seq.size(),
        static_cast<unsigned long long>(err.count), err.c_str());
    return err.count == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    // Stop requests: the handler first, then unblock (a request sent before now is pending).
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGUSR1, &sa, nullptr);
    sigset_t usr1;
    ::sigemptyset(&usr1);
    ::sigaddset(&usr1, SIGUSR1);
    ::sigprocmask(SIG_UNBLOCK, &usr1, nullptr);
    // Never outlive the soak (a test killed by its timeout must not leave helpers running).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) return 4;

    if (argc < 10 || argc > 11) {
        std::fprintf(stderr, "usage: %s write|read STORAGE ORDERING SYNC NAME CAPACITY LEDGER_FD ID SEED [SINGLE]\n",
                     argv[0]);
        return 2;
    }
    args a;
    a.command = argv[1];
    a.storage = argv[2];
    a.ordering = argv[3];
    a.sync = argv[4];
    a.name = argv[5];
    a.capacity = std::strtoull(argv[6], nullptr, 10);
    a.ledger_fd = std::atoi(argv[7]);
    a.id = static_cast<std::uint32_t>(std::strtoul(argv[8], nullptr, 10));
    a.seed = std::strtoull(argv[9], nullptr, 10);
    a.single = argc == 11 && std::strcmp(argv[10], "1") == 0;
    int rc = 2;
    try {
        bool const known = with_composition(a, [&]<class St, class O, class S>() {
            if (a.command == "write")
                rc = write<St, O, S>(a);
            else if (a.command == "read")
                rc = read<St, O, S>(a);
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
