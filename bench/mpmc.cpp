// polychan bench, family "mpmc": 2 producers x 2 consumers and 4 x 4 on 8-byte items, for the
// compositions whose sync policy allows several readers and writers, against the MPMC peers.
// On a 2-core machine 4 x 4 is oversubscribed on purpose: that is where waiting strategies show.
#include "compositions.hpp"
#include "peers/all.hpp"
#include "transfer.hpp"

namespace polychan_bench {
namespace {

constexpr std::size_t capacity = 1024;

void add_job(std::string const& job, int parties, std::uint64_t batch) {
    using T = item<8>;
    for_each_composition<T, capacity>([&]<class Channel>() {
        if constexpr (multi_party<Channel>) {
            bool const lossless = std::is_same_v<typename Channel::ordering_type, polychan::ordering::block>;
            add_throughput<channel_queue<Channel>>(job, composition_name<Channel>(), kind::polychan, lossless, parties,
                                                   parties, batch, capacity);
        }
    });
    for_each_peer(
        [&]<class Peer>() {
            add_throughput<Peer>(job, Peer::name, kind::peer, true, parties, parties, batch, capacity);
        },
        many_to_many_peers<T>{});
}

void register_all() {
    add_job("mpmc_2x2_8B", 2, 1 << 16);
    add_job("mpmc_4x4_8B", 4, 1 << 16);
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
