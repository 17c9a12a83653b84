// polychan bench — what every benchmark family shares: items, the spin/yield back-off, a
// start gate that releases every worker at once, and the registration that names results
// the way scripts/report_gen reads them.
//
// Naming contract with scripts/report_gen (one place, here):
//   benchmark name  = "<job>/<subject>"      e.g. "spsc_8B/heap.block.mutex"
//   label           = kind of subject:       "polychan" | "peer" | "floor" | "reference"
//   items_per_second, bytes_per_second       the measured rates (manual time)
// A job is one thing to do (move 8-byte items from one thread to another, ...); every subject
// of a job does exactly the same work, so their ratios mean something.
#pragma once

// The queue calls of every subject (channels and peers alike) are inlined into the loops that
// time them. Left to GCC, whether they were inlined depended on how much else the binary's
// one translation unit instantiated, and a call more or less per item swung a figure: heap
// spsc throughput_8B measured 78 M items/s here and 110 in a program with that job alone.
#define POLYCHAN_BENCH_INLINE [[gnu::always_inline]] inline

#include <benchmark/benchmark.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace polychan_bench {

/// An item of exactly `Bytes` bytes whose first word is a sequence number.
template <std::size_t Bytes>
struct item {
    static_assert(Bytes >= sizeof(std::uint64_t));
    std::uint64_t seq = 0;
    std::array<std::byte, Bytes - sizeof(std::uint64_t)> pad{};
};
template <>
struct item<sizeof(std::uint64_t)> {
    std::uint64_t seq = 0;
};
static_assert(sizeof(item<8>) == 8 && sizeof(item<256>) == 256);

/// Peers have no close(): one item with this sequence number per consumer ends the stream.
inline constexpr std::uint64_t end_of_stream = ~std::uint64_t{0};

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

/// How every spinning subject (peers without a blocking call, the floor) waits: a short spin,
/// then yield. Two cores are shared by more threads than that, so pure spinning would burn a
/// whole time slice while the thread it waits for is not even running.
class backoff {
  public:
    void pause() noexcept {
        if (spins_ < spin_limit) {
            ++spins_;
            cpu_relax();
        } else {
            std::this_thread::yield();
        }
    }

  private:
    static constexpr int spin_limit = 256;
    int spins_ = 0;
};

/// Puts the calling thread on the `k`-th CPU this process may use, for as long as it lives,
/// when there are at least two. Two-thread jobs (one producer and one consumer, ping-pong, the
/// floor) pin their threads to different CPUs: left alone, the scheduler sometimes stacks both
/// on one CPU and every hand-off becomes a context switch, for whichever subject it happens to
/// (seen here: repetitions 5-20x slower, at random). Oversubscribed jobs are not pinned.
class cpu_pin {
  public:
    explicit cpu_pin(int k) {
        cpu_set_t const& allowed = process_cpus();
        if (pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) != 0 || CPU_COUNT(&allowed) < 2) return;
        for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu) {
            if (!CPU_ISSET(cpu, &allowed) || seen++ != k % CPU_COUNT(&allowed)) continue;
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pinned_ = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
            break;
        }
    }
    ~cpu_pin() {
        if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
    }
    cpu_pin(const cpu_pin&) = delete;
    cpu_pin& operator=(const cpu_pin&) = delete;

    /// The CPUs the process may use, read before any thread was pinned (threads inherit their
    /// creator's pinning, so a thread's own set says nothing once the timing thread is pinned).
    static cpu_set_t const& process_cpus() {
        static cpu_set_t const cpus = [] {
            cpu_set_t set;
            CPU_ZERO(&set);
            if (sched_getaffinity(0, sizeof(set), &set) != 0) CPU_ZERO(&set);
            return set;
        }();
        return cpus;
    }

  private:
    cpu_set_t saved_{};
    bool pinned_ = false;
};

using clock = std::chrono::steady_clock;

/// Starts threads, waits until every one of them is running, then releases them together, so
/// that thread creation is not part of the measured time.
class start_gate {
  public:
    explicit start_gate(int threads) : expected_{threads} {}

    /// Called by each worker: announces it is running and waits for the release.
    void arrive_and_wait() noexcept {
        arrived_.fetch_add(1, std::memory_order_acq_rel);
        for (backoff b; !open_.load(std::memory_order_acquire);) b.pause();
    }
    /// Called by the timing thread: waits for every worker, opens the gate, returns the time.
    clock::time_point open() noexcept {
        for (backoff b; arrived_.load(std::memory_order_acquire) < expected_;) b.pause();
        auto const t0 = clock::now();
        open_.store(true, std::memory_order_release);
        return t0;
    }

  private:
    int const expected_;
    std::atomic<int> arrived_{0};
    std::atomic<bool> open_{false};
};

/// Round trips made before a round-trip job starts its clock, in every subject alike: the
/// first ones after the echo starts pay for its cold caches and TLB (a freshly started peer
/// process also for its page faults and lazy symbol binding), up to 8 us each for a new
/// process here, which is start-up, not the queue.
constexpr std::uint64_t warm_up_round_trips = 64;

inline double seconds_since(clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); }

/// Runs `producers` + `consumers` threads released together; the last producer to finish calls
/// `end_stream()` (a channel is closed there). Returns the seconds from the release until the
/// last consumer finished, as that consumer saw it: thread exits and joins are not the queue's
/// work, and an empty run of this function (both sides doing nothing) measured 28-43 us, 11%
/// of a tx_64KiB iteration, when the time was taken after the joins on the calling thread.
template <class Produce, class Consume, class EndStream>
double timed_run(int producers, int consumers, Produce produce, Consume consume, EndStream end_stream) {
    start_gate gate{producers + consumers};
    bool const one_to_one = producers == 1 && consumers == 1;
    std::atomic<int> producing{producers};
    std::vector<clock::time_point> finished(static_cast<std::size_t>(consumers));
    std::vector<std::thread> prod, cons;
    for (int i = 0; i < consumers; ++i)
        cons.emplace_back([&, i] {
            std::optional<cpu_pin> pin;
            if (one_to_one) pin.emplace(0);
            gate.arrive_and_wait();
            consume(i);
            finished[static_cast<std::size_t>(i)] = clock::now();
        });
    for (int i = 0; i < producers; ++i)
        prod.emplace_back([&, i] {
            std::optional<cpu_pin> pin;
            if (one_to_one) pin.emplace(1);
            gate.arrive_and_wait();
            produce(i);
            if (producing.fetch_sub(1, std::memory_order_acq_rel) == 1) end_stream();
        });
    auto const t0 = gate.open();
    for (auto& t : prod) t.join();
    for (auto& t : cons) t.join();
    return std::chrono::duration<double>(*std::max_element(finished.begin(), finished.end()) - t0).count();
}

/// Two threads on two CPUs bounce values through cache lines, `round_trips` times after
/// `warm_up_round_trips`: the pinger writes an odd value into its line, the echo answers with
/// the next even one into `separate_lines ? its own line : the same line`. Returns the seconds
/// the timed round trips took.
///
///   one line (the floor of a hand-off)     two lines (the least a round trip over two queues moves)
///   pinger: line = 2i+1 ... wait 2i+2      pinger: out = 2i+1 ... wait back == 2i+2
///   echo:   wait 2i+1 ... line = 2i+2      echo:   wait out == 2i+1 ... back = 2i+2
///
/// With one line, each side writes the line it has just read, while it still holds it: a round
/// trip moves the line twice. With two, each side writes a line the other side is watching, so
/// each store first takes the line away from the watcher, which then fetches it back.
inline double bounce_lines(std::uint64_t round_trips, bool separate_lines) {
    struct alignas(64) line {
        std::atomic<std::uint64_t> value{0};
    };
    line out, own_back;
    line& back = separate_lines ? own_back : out;
    start_gate gate{1};
    cpu_pin here{0};
    std::thread echo{[&] {
        cpu_pin there{1};
        gate.arrive_and_wait();
        for (std::uint64_t i = 0; i < warm_up_round_trips + round_trips; ++i) {
            for (backoff b; out.value.load(std::memory_order_acquire) != 2 * i + 1;) b.pause();
            back.value.store(2 * i + 2, std::memory_order_release);
        }
    }};
    auto const bounce = [&](std::uint64_t from, std::uint64_t to) {
        for (std::uint64_t i = from; i < to; ++i) {
            out.value.store(2 * i + 1, std::memory_order_release);
            for (backoff b; back.value.load(std::memory_order_acquire) != 2 * i + 2;) b.pause();
        }
    };
    gate.open();
    bounce(0, warm_up_round_trips);
    auto const t0 = clock::now();
    bounce(warm_up_round_trips, warm_up_round_trips + round_trips);
    double const secs = seconds_since(t0);
    echo.join();
    return secs;
}
/// The physical floor of a hand-off: one cache line bounced between the two CPUs, nothing more.
inline double bounce_cache_line(std::uint64_t round_trips) { return bounce_lines(round_trips, false); }

/// The counter every result carries: the cache-line round trip (ns) measured right after it
/// (measured before, it made the heap spsc round trip that followed 25% slower: 450-480 against
/// 370-380 ns, three A/B runs; not the heap layout, padding the channels' allocations changed nothing).
/// This VM's two CPUs sit sometimes on near cores (~70 ns) and sometimes on far ones (~450 ns),
/// and it moves between the two within minutes, in the middle of a family. Every subject's
/// figure depends on which, so scripts/report_gen groups repetitions by this value and compares
/// subjects only within a group.
inline constexpr char const* placement_counter = "line_rtt_ns";
inline constexpr std::uint64_t placement_round_trips = 200;

/// What kind of subject a result belongs to; the report colours and compares by it.
/// A reference is a measured figure shown beside the others for context, neither a peer
/// (never the best peer) nor the floor that goals are checked against.
enum class kind { polychan, peer, floor, reference };

constexpr std::string_view to_string(kind k) {
    switch (k) {
    case kind::polychan:
        return "polychan";
    case kind::peer:
        return "peer";
    case kind::floor:
        return "floor";
    case kind::reference:
        return "reference";
    }
    return "?";
}

/// Registers `run(state)` as "<job>/<subject>", timed manually (each iteration reports its own
/// seconds through SetIterationTime), with the placement counter measured before it.
inline benchmark::internal::Benchmark* add(std::string const& job, std::string_view subject, kind k,
                                           std::function<void(benchmark::State&)> run) {
    std::string const name = job + "/" + std::string(subject);
    auto* b = benchmark::RegisterBenchmark(name.c_str(), [run = std::move(run), k](benchmark::State& state) {
        state.SetLabel(std::string(to_string(k)));
        run(state);
        state.counters[placement_counter] = bounce_cache_line(placement_round_trips) * 1e9 / placement_round_trips;
    });
    b->UseManualTime()->Unit(benchmark::kMicrosecond);
    return b;
}

/// main() of every family: registers, then hands the command line to Google Benchmark.
inline int run_main(int argc, char** argv, void (*register_all)()) {
    cpu_pin::process_cpus(); // before any pinning
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // namespace polychan_bench
