// polychan bench, family "latency": round trip of one 8-byte item over two queues (ping-pong
// between two threads), every composition against every peer, and the physical floor: two
// threads bouncing one cache line, with nothing else in the way. Beside it, for context, the
// same bounce through two lines, one per direction: what any round trip over two queues moves.
#include "compositions.hpp"
#include "peers/all.hpp"
#include "transfer.hpp"

namespace polychan_bench {
namespace {

constexpr std::size_t capacity = 1024;
constexpr std::uint64_t round_trips = 1000;

/// The floor: one cache line bounced between the two CPUs (harness.hpp), nothing else.
void add_cache_line_floor(std::string const& job) {
    add(job, "cache-line ping-pong", kind::floor, [](benchmark::State& state) {
        for (auto _ : state) state.SetIterationTime(bounce_cache_line(round_trips));
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * round_trips));
    });
}

/// The reference: two cache lines, one per direction (harness.hpp, bounce_lines). On near
/// cores it took 1.3-1.6x the one-line floor here (ten rounds, median 1.5x), since each store
/// must first take its line from the side watching it; the report shows it beside the floor.
void add_two_line_reference(std::string const& job) {
    add(job, "two-line ping-pong", kind::reference, [](benchmark::State& state) {
        for (auto _ : state) state.SetIterationTime(bounce_lines(round_trips, true));
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
    add_two_line_reference(job);
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
