// The classic producer/consumer, between two processes over a shared-memory channel.
//
// The producer makes a Product{id, value} (sequential id, random value) every 0.5 to 1.5 s;
// the consumer takes one every 1.0 to 3.0 s. The consumer is the slower one, so the channel
// fills up, and the ordering policy decides what happens then:
//   block        the producer waits for room (nothing is lost)
//   discard_new  the new product is dropped      discard_old  the oldest waiting one is dropped
//   always_last  the consumer always takes the newest product; older ones are dropped
//
//   example_producer_consumer demo     [options]   create the channel, run both processes, check
//   example_producer_consumer producer [options]   (what `demo` starts; needs the channel to exist)
//   example_producer_consumer consumer [options]
//
// options: --ordering block|discard_new|discard_old|always_last   (default block)
//          --sync mutex|semaphore|spsc                            (default mutex)
//          --scale X      multiplies every interval: 0.01 runs 100x faster    (default 1)
//          --count N      products to make                                      (default 10)
//          --capacity N   slots in the channel                                  (default 4)
//          --name NAME    channel name (demo default: products-<pid>)
#include "check.hpp"

#include <polychan/ipc.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

// Trivially copyable, so it can live in shared memory.
struct Product {
    std::uint64_t id;
    double value;
};

struct settings {
    std::string role, ordering = "block", sync = "mutex", name;
    double scale = 1.0;
    std::uint64_t count = 10;
    std::size_t capacity = 4;

    // The command line that starts this program as `for_role` with these settings.
    std::vector<std::string> as_args(const std::string& for_role) const {
        std::vector<std::string> args{for_role, "--ordering", ordering, "--sync", sync, "--name", name};
        for (auto const& [flag, value] :
             {std::pair{"--scale", std::to_string(scale)}, std::pair{"--count", std::to_string(count)},
              std::pair{"--capacity", std::to_string(capacity)}}) {
            args.push_back(flag);
            args.push_back(value);
        }
        return args;
    }
};

// Sleeps a random time in [low, high] seconds, times the scale.
void pause(std::mt19937_64& rng, double low, double high, double scale) {
    std::uniform_real_distribution<double> seconds{low, high};
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds(rng) * scale));
}

template <class Ordering, class Sync>
int produce(const settings& s) {
    auto ch = polychan::ipc::open<Product, Ordering, Sync>(s.name, s.capacity);
    auto out = ch.writer();
    std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> value{0.0, 100.0};

    for (std::uint64_t id = 1; id <= s.count; ++id) {
        Product const p{id, value(rng)};
        polychan::status const st = out.write(p); // block: waits while the channel is full
        std::printf("producer: made #%llu (%.2f): %s, %llu dropped so far\n", static_cast<unsigned long long>(id),
                    p.value, polychan::to_string(st).data(), static_cast<unsigned long long>(out.discarded_count()));
        pause(rng, 0.5, 1.5, s.scale);
    }
    out.close(); // the consumer takes what is left, then sees the end
    std::printf("producer: made %llu products, closed the channel\n", static_cast<unsigned long long>(s.count));
    return 0;
}

template <class Ordering, class Sync>
int consume(const settings& s) {
    auto ch = polychan::ipc::open<Product, Ordering, Sync>(s.name, s.capacity);
    auto in = ch.reader();
    std::mt19937_64 rng{std::random_device{}()};

    std::uint64_t taken = 0, last_id = 0;
    for (Product const& p : in) { // until the producer has closed and the channel is drained
        std::printf("consumer: took #%llu (%.2f)\n", static_cast<unsigned long long>(p.id), p.value);
        expect(p.id > last_id, "products arrive in the order they were made, each once");
        last_id = p.id;
        ++taken;
        pause(rng, 1.0, 3.0, s.scale);
    }
    std::uint64_t const dropped = in.discarded_count();
    std::printf("consumer: took %llu, %llu dropped by %s\n", static_cast<unsigned long long>(taken),
                static_cast<unsigned long long>(dropped), Ordering::name.data());
    expect(taken + dropped == s.count, "every product was either taken or counted as dropped");
    if constexpr (std::is_same_v<Ordering, polychan::ordering::block>) expect(dropped == 0, "block loses nothing");
    return 0;
}

// Starts this program again as `role`, with the same settings; -1 if that fails.
pid_t start(const settings& s, const std::string& role) {
    std::vector<std::string> args = s.as_args(role);
    args.insert(args.begin(), "example_producer_consumer");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) return -1;
    return pid;
}

template <class Ordering, class Sync>
int demo(const settings& s) {
    // The demo creates the channel and holds it open, so it exists before either process
    // attaches and lives until both are done (the last process to detach removes it).
    auto ch = polychan::ipc::create<Product, Ordering, Sync>(s.name, s.capacity);
    std::printf("demo: channel '%s', %zu slots, %s / %s, intervals x%g\n", s.name.c_str(), ch.capacity(),
                Ordering::name.data(), Sync::name.data(), s.scale);
    std::fflush(stdout); // before the children write to the same stdout

    pid_t const consumer = start(s, "consumer");
    pid_t const producer = consumer > 0 ? start(s, "producer") : -1;
    bool all_ok = consumer > 0 && producer > 0;
    if (!all_ok && consumer > 0) kill(consumer, SIGTERM);
    for (int running = (consumer > 0) + (producer > 0); running > 0; --running) {
        int status = 0;
        pid_t const pid = wait(&status);
        bool const ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        char const* const who = pid == producer ? "producer" : "consumer";
        if (ok)
            std::printf("demo: the %s succeeded\n", who);
        else if (WIFSIGNALED(status))
            std::printf("demo: the %s FAILED: killed by signal %d\n", who, WTERMSIG(status));
        else
            std::printf("demo: the %s FAILED: exit status %d\n", who, WEXITSTATUS(status));
        // A failed process leaves the other one waiting forever (for room, or for products).
        if (!ok && all_ok) kill(pid == producer ? consumer : producer, SIGTERM);
        all_ok = all_ok && ok;
    }
    if (!all_ok) return 1; // returning (not exit()) detaches from the channel
    std::printf("producer_consumer: ok\n");
    return 0;
}

template <class Ordering, class Sync>
int run(const settings& s) {
    if (s.role == "producer") return produce<Ordering, Sync>(s);
    if (s.role == "consumer") return consume<Ordering, Sync>(s);
    return demo<Ordering, Sync>(s);
}

template <class Ordering>
int with_sync(const settings& s) {
    if (s.sync == "mutex") return run<Ordering, polychan::sync::mutex>(s);
    if (s.sync == "semaphore") return run<Ordering, polychan::sync::semaphore>(s);
    if (s.sync == "spsc") return run<Ordering, polychan::sync::spsc>(s);
    std::fprintf(stderr, "unknown --sync %s\n", s.sync.c_str());
    return 2;
}

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // one line at a time, also into a pipe
    settings s;
    s.role = argc > 1 ? argv[1] : "demo";
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view const flag = argv[i];
        char const* value = argv[i + 1];
        if (flag == "--ordering")
            s.ordering = value;
        else if (flag == "--sync")
            s.sync = value;
        else if (flag == "--scale")
            s.scale = std::strtod(value, nullptr);
        else if (flag == "--count")
            s.count = std::strtoull(value, nullptr, 10);
        else if (flag == "--capacity")
            s.capacity = std::strtoull(value, nullptr, 10);
        else if (flag == "--name")
            s.name = value;
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (s.role != "demo" && s.role != "producer" && s.role != "consumer") {
        std::fprintf(stderr,
                     "usage: %s demo|producer|consumer [--ordering O] [--sync S] [--scale X] [--count N] "
                     "[--capacity N] [--name NAME]\n",
                     argv[0]);
        return 2;
    }
    if (s.name.empty()) s.name = "products-" + std::to_string(getpid());

    try {
        if (s.ordering == "block") return with_sync<polychan::ordering::block>(s);
        if (s.ordering == "discard_new") return with_sync<polychan::ordering::discard_new>(s);
        if (s.ordering == "discard_old") return with_sync<polychan::ordering::discard_old>(s);
        if (s.ordering == "always_last") return with_sync<polychan::ordering::always_last>(s);
        std::fprintf(stderr, "unknown --ordering %s\n", s.ordering.c_str());
        return 2;
    } catch (const polychan::ipc::error& e) { // a bad name, a mismatched channel, no permission...
        std::fprintf(stderr, "%s: %s\n", s.role.c_str(), e.what());
        return 1;
    }
}
