// polychan bench, family "ipc": round trip and throughput of 8-byte items between two
// processes (fork), against boost::interprocess::message_queue, with the in-process channel
// measured in the same run as the reference a cross-process channel should approach.
#include "compositions.hpp"
#include "peers/adapter.hpp"
#include "transfer.hpp"

#include <boost/interprocess/ipc/message_queue.hpp>

#if __has_include(<polychan/ipc.hpp>)
#include <polychan/ipc.hpp>
#define POLYCHAN_BENCH_HAVE_IPC 1
#endif

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

namespace polychan_bench {
namespace {

using T = item<8>;
constexpr std::size_t capacity = 1024;
constexpr std::uint64_t round_trips = 1000;
constexpr std::uint64_t batch = 1 << 15;

/// boost::interprocess::message_queue under a fresh name; the mapping made before fork() is
/// shared by parent and child.
struct message_queue_impl {
    using value_type = T;
    static constexpr std::string_view name = "boost.interprocess.message_queue";
    static constexpr bool multi = true;

    explicit message_queue_impl(std::size_t cap)
        : name_{fresh_name()}, q{boost::interprocess::create_only, name_.c_str(), cap, sizeof(T)} {}
    ~message_queue_impl() { boost::interprocess::message_queue::remove(name_.c_str()); }

    void push(T const& v) { q.send(&v, sizeof v, 0); }
    void pop(T& v) {
        std::size_t got = 0;
        unsigned priority = 0;
        q.receive(&v, sizeof v, got, priority);
        if (got != sizeof v) throw std::runtime_error("message_queue: short message");
    }

    static std::string fresh_name() {
        static int counter = 0;
        return "polychan_bench_mq_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    }

    std::string name_;
    boost::interprocess::message_queue q;
};
using message_queue = blocking_peer<message_queue_impl>;

/// Runs `body` in a child process, which exits with 0 when it returns and 1 if it throws.
template <class Body>
pid_t spawn(Body body) {
    pid_t const pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int rc = 0;
        try {
            body();
        } catch (...) {
            rc = 1;
        }
        ::_exit(rc); // no destructors, no atexit: the parent owns every shared object
    }
    return pid;
}
bool child_succeeded(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// Round trips with the echo in another process. The child's "ready" item starts the clock,
/// so fork() and exec-free start-up are not measured.
template <class Queue>
void add_cross_process_round_trip(std::string const& job, std::string_view subject, kind k) {
    add(job, subject, k, [](benchmark::State& state) {
        for (auto _ : state) {
            Queue ping{capacity}, pong{capacity};
            cpu_pin const pin{0}; // as the in-process jobs: the two processes on different CPUs
            pid_t const child = spawn([&] {
                cpu_pin const child_pin{1};
                pong.push(T{}); // ready
                echo(ping, pong);
            });
            T ready{};
            pong.pop(ready);
            auto const t0 = clock::now();
            bool const in_order = ping_pong(ping, pong, round_trips);
            double const secs = seconds_since(t0);
            ping.end_stream(1);
            if (!child_succeeded(child) || !in_order) state.SkipWithError("the echo process failed");
            state.SetIterationTime(secs);
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * round_trips));
    });
}

/// `batch` items to a consumer process, which answers with the count it got.
template <class Queue>
void add_cross_process_throughput(std::string const& job, std::string_view subject, kind k) {
    add(job, subject, k, [](benchmark::State& state) {
        for (auto _ : state) {
            Queue items{capacity}, back{capacity};
            cpu_pin const pin{0};
            pid_t const child = spawn([&] {
                cpu_pin const child_pin{1};
                T v{};
                back.push(v); // ready
                std::uint64_t n = 0;
                while (items.pop(v)) ++n;
                v.seq = n;
                back.push(v);
            });
            T v{};
            back.pop(v);
            auto const t0 = clock::now();
            for (std::uint64_t i = 0; i < batch; ++i) {
                v.seq = i;
                items.push(v);
            }
            items.end_stream(1);
            back.pop(v);
            double const secs = seconds_since(t0);
            if (!child_succeeded(child) || v.seq != batch) state.SkipWithError("the consumer process lost items");
            state.SetIterationTime(secs);
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * sizeof(T)));
    });
}

#ifdef POLYCHAN_BENCH_HAVE_IPC
/// A named polychan channel in shared memory (polychan::ipc, default `shared_memory`
/// storage), created by the parent under a fresh name. The child uses the mapping it
/// inherits through fork(): the same segment, the same process-shared waiting, without the
/// attach and role checks of open(), which happen once and are not what is measured here.
template <class Sync>
class ipc_channel_queue {
  public:
    using value_type = T;
    using channel_type = polychan::ipc::channel<T, polychan::ordering::block, Sync>;

    explicit ipc_channel_queue(std::size_t cap)
        : name_{"polychan_bench_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++)},
          ch_{polychan::ipc::create<T, polychan::ordering::block, Sync>(name_, cap)} {}

    void push(T const& v) { ch_.local().write(v); }
    bool pop(T& v) { return ch_.local().read(v); }
    void end_stream(int) { ch_.local().close(); }

    static std::string subject() {
        return std::string(channel_type::local_channel::storage_type::name) + ".block." + std::string(Sync::name) +
               " (cross-process)";
    }

  private:
    static inline int counter_ = 0;
    std::string name_;
    channel_type ch_;
};

template <class... Syncs>
void add_cross_process_channels(std::string const& rtt_job, std::string const& throughput_job, type_list<Syncs...>) {
    (add_cross_process_round_trip<ipc_channel_queue<Syncs>>(rtt_job, ipc_channel_queue<Syncs>::subject(),
                                                            kind::polychan),
     ...);
    (add_cross_process_throughput<ipc_channel_queue<Syncs>>(throughput_job, ipc_channel_queue<Syncs>::subject(),
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

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
