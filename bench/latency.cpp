// polychan bench, family "latency": round trip of one 8-byte item over two queues (ping-pong
// between two threads), every composition against every peer, and the physical floor: two
// threads bouncing one cache line, with nothing else in the way.
#include "compositions.hpp"
#include "peers/all.hpp"
#include "transfer.hpp"

#include <new>

namespace polychan_bench {
namespace {

constexpr std::size_t capacity = 1024;
constexpr std::uint64_t round_trips = 1000;

/// One atomic on its own cache line: the pinger writes an odd value, the echo answers with the
/// next even one. Each round trip moves the line to the other core and back, nothing more.
void add_cache_line_floor(std::string const& job) {
    add(job, "cache-line ping-pong", kind::floor, [](benchmark::State& state) {
        struct alignas(64) line {
            std::atomic<std::uint64_t> value{0};
        };
        for (auto _ : state) {
            line shared;
            start_gate gate{1};
            cpu_pin here{0};
            std::thread echo{[&] {
                cpu_pin there{1};
                gate.arrive_and_wait();
                for (std::uint64_t i = 0; i < warm_up_round_trips + round_trips; ++i) {
                    for (backoff b; shared.value.load(std::memory_order_acquire) != 2 * i + 1;) b.pause();
                    shared.value.store(2 * i + 2, std::memory_order_release);
                }
            }};
            auto const bounce = [&](std::uint64_t from, std::uint64_t to) {
                for (std::uint64_t i = from; i < to; ++i) {
                    shared.value.store(2 * i + 1, std::memory_order_release);
                    for (backoff b; shared.value.load(std::memory_order_acquire) != 2 * i + 2;) b.pause();
                }
            };
            gate.open();
            bounce(0, warm_up_round_trips);
            auto const t0 = clock::now();
            bounce(warm_up_round_trips, warm_up_round_trips + round_trips);
            double const secs = seconds_since(t0);
            echo.join();
            state.SetIterationTime(secs);
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * round_trips));
    });
}

void register_all() {
    using T = item<8>;
    std::string const job = "rtt_8B";
    for_each_composition<T, capacity>([&]<class Channel>() {
        add_round_trip<channel_queue<Channel>>(job, composition_name<Channel>(), kind::polychan, round_trips, capacity);
    });
    for_each_peer([&]<class Peer>() { add_round_trip<Peer>(job, Peer::name, kind::peer, round_trips, capacity); },
                  one_to_one_peers<T>{});
    add_cache_line_floor(job);
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
