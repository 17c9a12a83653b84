// polychan bench, family "ipc": round trip and throughput of 8-byte items between two
// processes, against boost::interprocess::message_queue, with the in-process channel
// measured in the same run as the reference a cross-process channel should approach.
//
// The other process is this executable started again (posix_spawn, `--peer ...`): it opens
// the two queues by name, as two programs would. A fork()ed child would share every page of
// the benchmark process copy-on-write, and each first write on either side would then be a
// page fault with a TLB shoot-down on the other CPU: perf put 21% of a forked run there.
// That is fork's cost, not the channel's.
#include "compositions.hpp"
#include "peers/adapter.hpp"
#include "transfer.hpp"

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#if __has_include(<polychan/ipc.hpp>)
#include <polychan/ipc.hpp>
#define POLYCHAN_BENCH_HAVE_IPC 1
#endif

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

extern char** environ;

namespace polychan_bench {
namespace {

using T = item<8>;
constexpr std::size_t capacity = 1024;
constexpr std::uint64_t round_trips = 1000;
constexpr std::uint64_t batch = 1 << 17;
/// How long the parent waits for the peer process to attach before it calls the run failed.
constexpr auto attach_limit = std::chrono::seconds(10);

/// How a queue of either side is made: by the parent (create, and remove when done), or by
/// the peer process (open the parent's).
struct create_t {};
struct open_t {};

/// A fresh queue name, unique to this process.
std::string fresh_name() {
    static int counter = 0;
    return "polychan_bench_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
}

/// boost::interprocess::message_queue by name. It has no close(): the end of the stream is an
/// item (ends_with_items), as for every peer.
class message_queue : public ends_with_items<message_queue> {
    using queue = boost::interprocess::message_queue;

  public:
    using value_type = T;
    static constexpr std::string_view name = "boost.interprocess.message_queue";
    static constexpr std::string_view key = "message_queue";

    message_queue(create_t, std::string n)
        : name_{std::move(n)}, q_{boost::interprocess::create_only, name_.c_str(), capacity, sizeof(T)} {}
    message_queue(open_t, std::string n) : q_{boost::interprocess::open_only, n.c_str()} {}
    ~message_queue() {
        if (!name_.empty()) queue::remove(name_.c_str());
    }

    void push(T const& v) { q_.send(&v, sizeof v, 0); }
    bool pop(T& v) {
        std::size_t got = 0;
        unsigned priority = 0;
        q_.receive(&v, sizeof v, got, priority);
        check(got);
        return v.seq != end_of_stream;
    }
    /// false if nothing came within `d`.
    bool pop_for(T& v, std::chrono::milliseconds d) {
        std::size_t got = 0;
        unsigned priority = 0;
        auto const until =
            boost::posix_time::microsec_clock::universal_time() + boost::posix_time::milliseconds(d.count());
        if (!q_.timed_receive(&v, sizeof v, got, priority, until)) return false;
        check(got);
        return true;
    }

  private:
    static void check(std::size_t got) {
        if (got != sizeof(T)) throw std::runtime_error("message_queue: short message");
    }
    std::string name_; // set by the creator only, which removes the queue
    queue q_;
};

#ifdef POLYCHAN_BENCH_HAVE_IPC
/// A named polychan channel in shared memory (polychan::ipc, default `shared_memory` storage).
/// Each process takes the end it uses, on first use: the writer end for push, the reader end
/// for pop, as an application would (spsc refuses a second live writer or reader).
template <class Sync>
class named_channel {
    using handle = polychan::ipc::channel<T, polychan::ordering::block, Sync>;

  public:
    using value_type = T;
    static constexpr std::string_view key = Sync::name;

    named_channel(create_t, std::string const& n)
        : ch_{polychan::ipc::create<T, polychan::ordering::block, Sync>(n, capacity)} {}
    named_channel(open_t, std::string const& n) : ch_{polychan::ipc::open<T, polychan::ordering::block, Sync>(n)} {}

    POLYCHAN_BENCH_INLINE void push(T const& v) { writer().write(v); }
    POLYCHAN_BENCH_INLINE bool pop(T& v) { return reader().read(v); }
    bool pop_for(T& v, std::chrono::milliseconds d) { return reader().read_for(v, d) == polychan::status::ok; }
    void end_stream(int) { writer().close(); }

    static std::string subject() {
        return std::string(handle::local_channel::storage_type::name) + ".block." + std::string(Sync::name) +
               " (cross-process)";
    }

  private:
    POLYCHAN_BENCH_INLINE typename handle::writer_end& writer() {
        if (!writer_) writer_.emplace(ch_.writer());
        return *writer_;
    }
    POLYCHAN_BENCH_INLINE typename handle::reader_end& reader() {
        if (!reader_) reader_.emplace(ch_.reader());
        return *reader_;
    }
    handle ch_;
    std::optional<typename handle::writer_end> writer_;
    std::optional<typename handle::reader_end> reader_;
};

/// A named channel whose two ends are used by two threads of this process: the storage of
/// the cross-process figure without the second process. (Both ends then share one handle.)
template <class Sync>
class named_channel_in_process : public named_channel<Sync> {
  public:
    static constexpr bool multi = false;
    explicit named_channel_in_process(std::size_t /*capacity: the named channel's*/)
        : named_channel<Sync>{create_t{}, fresh_name()} {}
    void producer_done(int /*producer*/, int /*producers*/, int /*consumers*/) {}
    void all_producers_done() { this->end_stream(1); }
    static std::string subject() {
        std::string s = named_channel<Sync>::subject();
        return s.replace(s.find("(cross-process)"), std::string::npos, "(two threads)");
    }
};
#endif

// ---- the peer process -------------------------------------------------------------------
// bench_ipc --peer KEY JOB IN OUT: opens queue IN to read and OUT to write (KEY says which
// kind), says it is ready with one item on OUT, then does JOB until the stream ends: `echo`
// sends every item back, `consume` counts the items and sends the count back at each
// end-of-batch item. One peer serves every iteration of a repetition: a process started per
// iteration left the kernel work of each exit (freeing its stacks and mappings, with TLB
// shoot-downs to the other CPU) inside the next iterations' timing, and the cross-process
// round trip measured 1.45x the in-process one inside the report against 1.16x alone.

/// The item that ends one batch of a throughput iteration (the consumer answers with its count).
constexpr std::uint64_t end_of_batch = end_of_stream - 1;

template <class Queue>
int serve(std::string_view job, std::string const& in_name, std::string const& out_name) {
    Queue in{open_t{}, in_name}, out{open_t{}, out_name};
    T v{};
    out.push(v); // ready
    if (job == "echo") {
        while (in.pop(v)) out.push(v);
    } else {
        std::uint64_t n = 0;
        while (in.pop(v)) {
            if (v.seq != end_of_batch) {
                ++n;
                continue;
            }
            v.seq = n;
            out.push(v);
            n = 0;
        }
    }
    return 0;
}

#ifdef POLYCHAN_BENCH_HAVE_IPC
template <class... Syncs>
int serve_channel(std::string_view key, std::string_view job, std::string const& in, std::string const& out,
                  type_list<Syncs...>) {
    int rc = 2;
    ((key == Syncs::name ? (rc = serve<named_channel<Syncs>>(job, in, out), true) : false) || ...);
    return rc;
}
#endif

/// The peer's main: 0 when its job is done, 1 if it threw, 2 for a command line it does not know.
int peer_main(int argc, char** argv) {
    if (argc != 6) return 2;
    std::string_view const key = argv[2], job = argv[3];
    if (job != "echo" && job != "consume") return 2;
    // Where the in-process jobs run the same side (transfer.hpp): the echo on the second CPU,
    // the consumer of a throughput job on the first (the parent's producer takes the second).
    cpu_pin const pin{job == "consume" ? 0 : 1};
    try {
        if (key == message_queue::key) return serve<message_queue>(job, argv[4], argv[5]);
#ifdef POLYCHAN_BENCH_HAVE_IPC
        return serve_channel(key, job, argv[4], argv[5], sync_policies{});
#else
        return 2;
#endif
    } catch (std::exception const& e) {
        std::cerr << "bench_ipc --peer " << key << ": " << e.what() << '\n';
        return 1;
    }
}

/// This executable started again as the peer of `Queue` for `job`. Started before the parent
/// pins itself, so that it inherits every CPU and can take the second one.
class peer_process {
  public:
    peer_process(std::string_view key, char const* job, std::string const& in, std::string const& out) {
        std::string const k{key};
        char const* const args[] = {"bench_ipc", "--peer", k.c_str(), job, in.c_str(), out.c_str(), nullptr};
        if (::posix_spawn(&pid_, "/proc/self/exe", nullptr, nullptr, const_cast<char* const*>(args), environ) != 0)
            throw std::runtime_error("posix_spawn of the peer process failed");
    }
    peer_process(const peer_process&) = delete;
    peer_process& operator=(const peer_process&) = delete;
    ~peer_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            finished();
        }
    }
    /// Waits for the peer to exit; whether it did its job.
    bool finished() {
        int status = 0;
        bool const ok = ::waitpid(pid_, &status, 0) == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        pid_ = -1;
        return ok;
    }

  private:
    pid_t pid_ = -1;
};

/// Round trips with the echo in the peer process. Its "ready" item and the warm-up round
/// trips come before the clock starts, so process start-up and attaching are not measured.
template <class Queue>
void add_cross_process_round_trip(std::string const& job, std::string_view subject, kind k) {
    add(job, subject, k, [](benchmark::State& state) {
        std::string const ping_name = fresh_name(), pong_name = fresh_name();
        Queue ping{create_t{}, ping_name}, pong{create_t{}, pong_name};
        peer_process peer{Queue::key, "echo", ping_name, pong_name};
        cpu_pin const pin{0}; // as the in-process jobs: the two processes on different CPUs
        T ready{};
        if (!pong.pop_for(ready, attach_limit)) {
            state.SkipWithError("the echo process did not attach");
            return;
        }
        bool in_order = ping_pong(ping, pong, warm_up_round_trips);
        for (auto _ : state) {
            auto const t0 = clock::now();
            in_order &= ping_pong(ping, pong, round_trips);
            state.SetIterationTime(seconds_since(t0));
        }
        ping.end_stream(1);
        if (!peer.finished() || !in_order) state.SkipWithError("the echo process failed");
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * round_trips));
    });
}

/// `batch` items per iteration to a consumer process, which answers each batch with the count
/// it got.
template <class Queue>
void add_cross_process_throughput(std::string const& job, std::string_view subject, kind k) {
    add(job, subject, k, [](benchmark::State& state) {
        std::string const items_name = fresh_name(), back_name = fresh_name();
        Queue items{create_t{}, items_name}, back{create_t{}, back_name};
        peer_process peer{Queue::key, "consume", items_name, back_name};
        cpu_pin const pin{1}; // the producer's CPU in the in-process job; the consumer has the first
        T v{};
        if (!back.pop_for(v, attach_limit)) {
            state.SkipWithError("the consumer process did not attach");
            return;
        }
        bool all_arrived = true;
        for (auto _ : state) {
            auto const t0 = clock::now();
            // A fresh item per push, which stays in registers as the in-process producer's does.
            // `v` escapes (pop_for, the check below), so storing into it was one more store per
            // item on the stack, queued behind the slot stores that wait for the consumer's
            // line: shared-memory spsc measured 110-114 M items/s with it and 135-145 without
            // (two threads: 135-138). Right for small items only: with 256-byte items the
            // fresh item is 256 bytes of stores per push, and cross-process throughput halved
            // (6.5-7.2 against 13.5 M items/s, one repetition, with one item built once; far).
            for (std::uint64_t i = 0; i < batch; ++i) {
                T item{};
                item.seq = i;
                items.push(item);
            }
            v.seq = end_of_batch;
            items.push(v);
            back.pop(v);
            state.SetIterationTime(seconds_since(t0));
            all_arrived &= v.seq == batch;
        }
        items.end_stream(1);
        if (!peer.finished() || !all_arrived) state.SkipWithError("the consumer process lost items");
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * sizeof(T)));
    });
}

#ifdef POLYCHAN_BENCH_HAVE_IPC
template <class... Syncs>
void add_cross_process_channels(std::string const& rtt_job, std::string const& throughput_job, type_list<Syncs...>) {
    (add_round_trip<named_channel_in_process<Syncs>>(rtt_job, named_channel_in_process<Syncs>::subject(),
                                                     kind::polychan, round_trips, capacity),
     ...);
    (add_throughput<named_channel_in_process<Syncs>>(throughput_job, named_channel_in_process<Syncs>::subject(),
                                                     kind::polychan, true, 1, 1, batch, capacity),
     ...);
    (add_cross_process_round_trip<named_channel<Syncs>>(rtt_job, named_channel<Syncs>::subject(), kind::polychan), ...);
    (add_cross_process_throughput<named_channel<Syncs>>(throughput_job, named_channel<Syncs>::subject(),
                                                        kind::polychan),
     ...);
}
#endif

/// The in-process channel on the heap, same jobs, as the reference for cross-process figures.
template <class Sync>
void add_in_process(std::string const& rtt_job, std::string const& throughput_job) {
    using Channel = polychan::channel<T, polychan::storage::heap, polychan::ordering::block, Sync>;
    std::string const subject = composition_name<Channel>() + " (in-process)";
    add_round_trip<channel_queue<Channel>>(rtt_job, subject, kind::polychan, round_trips, capacity);
    add_throughput<channel_queue<Channel>>(throughput_job, subject, kind::polychan, true, 1, 1, batch, capacity);
}
template <class... Syncs>
void add_in_process_all(std::string const& rtt_job, std::string const& throughput_job, type_list<Syncs...>) {
    (add_in_process<Syncs>(rtt_job, throughput_job), ...);
}

void register_all() {
    std::string const rtt_job = "ipc_rtt_8B", throughput_job = "ipc_throughput_8B";
    add_cross_process_round_trip<message_queue>(rtt_job, message_queue::name, kind::peer);
    add_cross_process_throughput<message_queue>(throughput_job, message_queue::name, kind::peer);
    add_in_process_all(rtt_job, throughput_job, sync_policies{});
#ifdef POLYCHAN_BENCH_HAVE_IPC
    add_cross_process_channels(rtt_job, throughput_job, sync_policies{});
#endif
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--peer") == 0) return polychan_bench::peer_main(argc, argv);
    return polychan_bench::run_main(argc, argv, polychan_bench::register_all);
}
