// polychan tests — soak: writers and readers in real processes (soak_helper, fork + exec)
// restarting at random on one named channel, and the counts must add up exactly.
//
// For each composition the test (the supervisor) creates the channel and keeps it attached
// (so restarts never find it gone), keeps N writer and M reader processes alive, and at
// random moments tells one to finish (SIGUSR1: a clean exit, the process detaches and
// reports its counts) and starts a replacement that attaches with ipc::open. spsc runs one
// writer and one reader (the old end leaves before the new one takes the role); mutex and
// semaphore run two of each, and a replacement may start before or after its predecessor
// leaves. Restarts are clean exits: a process killed between taking an item and reporting
// it would make exact counts impossible (SIGKILL recovery is tested by the ipc suite).
//
// Half the writes and reads have a 20 ms timeout, the other half wait as long as it takes, so
// a helper told to finish ends its current operation first: the soak keeps a peer running,
// so every wait ends, and a helper still running 10 s later is a wait the channel never woke.
//
// At the end the writers finish; the readers must take what is left without the help of
// close() (within 10 s); the supervisor closes the channel and the readers exit. Then, exactly:
//   sent (writes that returned ok or discarded) == received + discarded (the channel's
//   counter) + left in the channel (0 after the drain);
//   discard_new: discarded == writes that returned discarded; other orderings: none did;
//   block: nothing discarded, and every writer's items 0..ok-1 were each received;
//   every item received at most once (the ledger, soak_common.hpp), intact, never from the
//   future, per writer in order (with one reader: in publish order across all restarts);
//   no segment left behind.
//
// POLYCHAN_SOAK_SECONDS (default 45) is the total time, split evenly among the 13
// compositions; POLYCHAN_SOAK_SEED fixes the random restarts and pauses (the seed of each
// composition is printed).
#include "shm_listing.hpp"
#include "soak_common.hpp"

// ipc_process.hpp's helper_process names the ipc helper, which this suite does not run: its
// own helper is a child_process too (`process` below).
#ifndef POLYCHAN_IPC_HELPER
#define POLYCHAN_IPC_HELPER POLYCHAN_SOAK_HELPER
#endif
#include "ipc_process.hpp"

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

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <unistd.h>

namespace ipc = polychan::ipc;
using namespace std::chrono_literals;
using polychan::test::child_process;
using polychan::test::ipc::field_ll;
using polychan::test::ipc::parse_fields;
using polychan::test::ipc::segment_exists;
using polychan::test::soak::item;
using polychan::test::soak::ledger;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int compositions = 13; // the test cases below: 3 x 4 on shared_memory, 1 on System V
constexpr std::size_t capacity = 8;

/// The soak's share of time for one composition.
std::chrono::milliseconds time_per_composition() {
    double seconds = 45;
    if (char const* env = std::getenv("POLYCHAN_SOAK_SECONDS"); env != nullptr && std::atof(env) > 0)
        seconds = std::atof(env);
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000 / compositions));
}

/// The seed of one composition's run: POLYCHAN_SOAK_SEED, or a fresh one.
std::uint64_t seed_for(const std::string& what) {
    if (char const* env = std::getenv("POLYCHAN_SOAK_SEED"); env != nullptr && *env != '\0')
        return std::strtoull(env, nullptr, 10) ^ std::hash<std::string>{}(what);
    return (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

std::string prefix() { return "soak" + std::to_string(::getpid()) + "-"; }

/// The soak helper (tests/soak_helper.cpp) running as a process; every wait on it has a deadline.
class process : public child_process {
  public:
    explicit process(const std::vector<std::string>& args) : child_process{POLYCHAN_SOAK_HELPER, args} {}
};

/// One writer's report.
struct writer_counts {
    std::uint64_t ok = 0, dropped = 0, attempts = 0;
};

/// What the supervisor collects over one composition's run.
struct tally {
    std::map<std::uint32_t, writer_counts> writers; // by writer id
    std::uint64_t sent_ok = 0, dropped = 0, received = 0, writer_timeouts = 0, reader_timeouts = 0, abandoned = 0,
                  write_transactions = 0, read_transactions = 0, writer_late = 0, reader_late = 0;
    long long writer_worst_ms = 0, reader_worst_ms = 0;
    int writer_runs = 0, reader_runs = 0;
    std::vector<std::string> failures; // helpers that exited badly, with their output

    void add(bool writer, std::uint32_t id, const std::string& out, const process& p, bool final_reader) {
        auto const f = parse_fields(out);
        bool good = p.exit_code() == 0 && !p.hung() && field_ll(f, "errors") == 0;
        if (writer) {
            ++writer_runs;
            writer_counts c{static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "ok"))),
                            static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "dropped"))),
                            static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "attempts")))};
            good = good && field_ll(f, "ok") >= 0 && c.ok + c.dropped == c.attempts;
            writers[id] = c;
            sent_ok += c.ok;
            dropped += c.dropped;
            writer_timeouts += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "timeouts")));
            writer_late += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "late")));
            writer_worst_ms = std::max(writer_worst_ms, field_ll(f, "worst_ms"));
            abandoned += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "abandoned")));
            write_transactions += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "transactions")));
        } else {
            ++reader_runs;
            good = good && field_ll(f, "received") >= 0;
            if (final_reader) good = good && field_ll(f, "drained") == 1; // it read until closed and drained
            received += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "received")));
            reader_late += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "late")));
            reader_worst_ms = std::max(reader_worst_ms, field_ll(f, "worst_ms"));
            reader_timeouts += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "timeouts")));
            read_transactions += static_cast<std::uint64_t>(std::max(0LL, field_ll(f, "transactions")));
        }
        if (!good) {
            failures.push_back(
                std::string{writer ? "writer " : "reader "} + std::to_string(id) + " exit " +
                std::to_string(p.exit_code()) +
                (p.hung() ? " (killed: still running 10 s after it was told to finish or the channel was closed)"
                          : "") +
                ": " + out);
        }
    }
};

/// One composition's soak: `writers` writer and `readers` reader processes, restarted at random.
template <class St, class O, class S>
void soak(int n_writers, int n_readers) {
    std::string const what = std::string{St::name} + "/" + std::string{O::name} + "/" + std::string{S::name};
    std::string const name = prefix() + std::string{O::name} + "-" + std::string{S::name} + "-" + std::string{St::name};
    auto const duration = time_per_composition();
    std::uint64_t const seed = seed_for(what);
    INFO("composition " << what << ", " << n_writers << " writers x " << n_readers << " readers, " << duration.count()
                        << " ms, seed " << seed << " (POLYCHAN_SOAK_SEED)");
    std::mt19937_64 rng{seed};
    bool const single = S::single_writer; // spsc: one writer and one reader at a time

    // Stop requests reach a helper only once it handles them: it starts with SIGUSR1 blocked.
    sigset_t usr1;
    ::sigemptyset(&usr1);
    ::sigaddset(&usr1, SIGUSR1);
    ::pthread_sigmask(SIG_BLOCK, &usr1, nullptr);

    // Writer ids are never reused: one per 4 ms of soak is more than restarts (>= 5 ms apart)
    // and writers that filled their 2^21 items of the ledger and left can use up.
    auto const max_writers = static_cast<std::uint32_t>(duration.count() / 4 + 64);
    ledger const book = ledger::create(max_writers, std::uint64_t{1} << 21);
    std::optional<ipc::channel<item, O, S, St>> ch{ipc::create<item, O, S, St>(name, capacity)};

    struct worker {
        std::unique_ptr<process> p;
        bool writer;
        std::uint32_t id;
    };
    std::uint32_t next_writer = 0, next_reader = 0;
    tally t;

    auto spawn = [&](bool writer) {
        std::uint32_t const id = writer ? next_writer++ : next_reader++;
        std::vector<std::string> args{
            writer ? "write" : "read", std::string{St::name},     std::string{O::name}, std::string{S::name}, name,
            std::to_string(capacity),  std::to_string(book.fd()), std::to_string(id),   std::to_string(rng())};
        if (!writer) args.push_back(n_readers == 1 ? "1" : "0");
        worker w{std::make_unique<process>(args), writer, id};
        auto const line = w.p->read_line(20s);
        if (line != "attached=1") {
            std::string const rest = w.p->finish(5s);
            FAIL((writer ? "writer " : "reader ") << id << " did not attach (exit " << w.p->exit_code()
                                                  << "): " << line.value_or("<nothing>") << " " << rest);
        }
        return w;
    };
    // A helper stops after its current operation, which waits at most until its peers move.
    auto retire = [&](worker& w) {
        w.p->stop();
        std::string const out = w.p->finish(10s);
        t.add(w.writer, w.id, out, *w.p, false);
        w.p.reset();
    };
    auto ids_left = [&] { return next_writer + static_cast<std::uint32_t>(n_writers) < max_writers; };

    std::vector<worker> workers;
    for (int i = 0; i < n_readers; ++i) workers.push_back(spawn(false));
    for (int i = 0; i < n_writers; ++i) workers.push_back(spawn(true));

    auto const end = clock_type::now() + duration;
    std::uniform_int_distribution<int> pause_ms{5, 60};
    std::uniform_int_distribution<std::size_t> pick{0, workers.size() - 1};
    while (clock_type::now() < end && ids_left()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
        // Replace whoever left by itself: a writer whose share of the ledger is full, or a
        // helper that failed (its report says why).
        for (auto& w : workers) {
            if (!w.p->exited()) continue;
            retire(w);
            w = spawn(w.writer);
        }
        worker& old = workers[pick(rng)];
        if (single || rng() % 2 == 0) { // the old one leaves first (spsc: its role must be free)
            retire(old);
            old = spawn(old.writer);
        } else { // the replacement attaches while the old one still runs
            worker fresh = spawn(old.writer);
            retire(old);
            old = std::move(fresh);
        }
    }

    // The end: writers finish, the channel is closed, readers drain it and exit by themselves.
    for (auto& w : workers)
        if (w.writer) w.p->stop();
    for (auto& w : workers)
        if (w.writer) retire(w);
    // Liveness: with the writers gone, the readers (half their reads wait forever) must still
    // take everything that is left, before anyone closes the channel.
    auto const drain_limit = clock_type::now() + 10s;
    while (ch->local().ready_size() != 0 && clock_type::now() < drain_limit) std::this_thread::sleep_for(1ms);
    std::uint64_t const left_before_close = ch->local().ready_size();
    ch->local().close();
    for (auto& w : workers) {
        if (w.writer) continue;
        std::string const out = w.p->finish(10s);
        t.add(false, w.id, out, *w.p, true);
        w.p.reset();
    }
    std::uint64_t const left = ch->local().ready_size();
    std::uint64_t const discarded = ch->local().discarded_count();

    // The ledger: what readers ticked off, per writer.
    std::uint64_t ticked = 0;
    std::vector<std::string> writer_problems;
    for (auto const& [id, c] : t.writers) {
        std::uint64_t const got = book.count(id, c.attempts);
        ticked += got;
        bool const bad = got > c.ok || (O::name == polychan::ordering::block::name && got != c.ok);
        if (bad && writer_problems.size() < 10)
            writer_problems.push_back("writer " + std::to_string(id) + ": ok " + std::to_string(c.ok) + ", dropped " +
                                      std::to_string(c.dropped) + ", received " + std::to_string(got));
    }

    std::uint64_t const sent = t.sent_ok + t.dropped;
    std::ostringstream summary;
    summary << "soak " << what << " " << n_writers << "x" << n_readers << " " << duration.count() << " ms seed " << seed
            << ": writer runs " << t.writer_runs << ", reader runs " << t.reader_runs << "; sent " << sent << " (ok "
            << t.sent_ok << ", returned discarded " << t.dropped << "), received " << t.received
            << ", discarded (counter) " << discarded << ", left " << left << ", ticked off in the ledger " << ticked
            << "; write timeouts " << t.writer_timeouts << ", abandoned write transactions " << t.abandoned
            << ", write/read transactions " << t.write_transactions << "/" << t.read_transactions << ", read timeouts "
            << t.reader_timeouts << "; timed writes/reads over 100 ms " << t.writer_late << "/" << t.reader_late
            << " (longest " << t.writer_worst_ms << "/" << t.reader_worst_ms << " ms)"
            << "; left when the writers had gone and the readers had had 10 s: " << left_before_close;
    std::cout << summary.str() << std::endl;
    std::string problems;
    for (auto const& f : t.failures) problems += "\nhelper failed: " + f;
    for (auto const& p : writer_problems) problems += "\n" + p;
    INFO(summary.str() << problems);

    CHECK(t.failures.empty());
    CHECK(writer_problems.empty());
    CHECK(t.writer_runs > n_writers); // restarts did happen
    CHECK(t.reader_runs > n_readers);
    CHECK(t.received > 0);
    // The accounting: every item sent was received, discarded, or is still in the channel.
    CHECK(sent == t.received + discarded + left);
    CHECK(left_before_close == 0); // the readers took everything without the help of close()
    CHECK(left == 0);              // the last readers drained it
    CHECK(ticked == t.received);   // every received item ticked off once (duplicates: the helpers' errors)
    if (O::name == polychan::ordering::discard_new::name) {
        CHECK(discarded == t.dropped); // only incoming items are dropped, each reported to its writer
    } else {
        CHECK(t.dropped == 0);
    }
    if (O::name == polychan::ordering::block::name) {
        CHECK(discarded == 0);
        CHECK(t.received == t.sent_ok);
    }

    ch.reset(); // the last attachment: the segment goes
    CHECK_FALSE(segment_exists(St::name, name));
}

using shared_memory = polychan::storage::shared_memory;
using sysv_shared_memory = polychan::storage::sysv_shared_memory;
using block = polychan::ordering::block;
using discard_new = polychan::ordering::discard_new;
using discard_old = polychan::ordering::discard_old;
using always_last = polychan::ordering::always_last;

} // namespace

TEMPLATE_TEST_CASE("soak: mutex, 2 writers x 2 readers restarting at random, counts add up exactly", "[soak]", block,
                   discard_new, discard_old, always_last) {
    soak<shared_memory, TestType, polychan::sync::mutex>(2, 2);
}

TEMPLATE_TEST_CASE("soak: spsc, 1 writer x 1 reader restarting at random, counts add up exactly", "[soak]", block,
                   discard_new, discard_old, always_last) {
    soak<shared_memory, TestType, polychan::sync::spsc>(1, 1);
}

TEMPLATE_TEST_CASE("soak: semaphore, 2 writers x 2 readers restarting at random, counts add up exactly", "[soak]",
                   block, discard_new, discard_old, always_last) {
    soak<shared_memory, TestType, polychan::sync::semaphore>(2, 2);
}

TEST_CASE("soak: semaphore over System V shared memory, discard_old, counts add up exactly", "[soak]") {
    soak<sysv_shared_memory, discard_old, polychan::sync::semaphore>(2, 2);
}

// Declared last: Catch2 runs test cases in declaration order.
TEST_CASE("soak: no segment of this suite is left in /dev/shm", "[soak]") {
    std::string const mine = "polychan." + prefix();
    std::vector<std::string> left = polychan::test::shm_names_starting_with(mine);
    std::string names;
    for (auto const& l : left) names += " " + l;
    INFO("left behind:" << names);
    CHECK(left.empty());
}
