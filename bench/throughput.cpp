// polychan bench, family "throughput": one producer thread, one consumer thread, items of
// 8 and 256 bytes, every composition against every peer.
#include "compositions.hpp"
#include "peers/all.hpp"
#include "transfer.hpp"

namespace polychan_bench {
namespace {

constexpr std::size_t capacity = 1024;

template <std::size_t Bytes>
void add_job(std::string const& job, std::uint64_t batch) {
    using T = item<Bytes>;
    for_each_composition<T, capacity>([&]<class Channel>() {
        bool const lossless = std::is_same_v<typename Channel::ordering_type, polychan::ordering::block>;
        add_throughput<channel_queue<Channel>>(job, composition_name<Channel>(), kind::polychan, lossless, 1, 1, batch,
                                               capacity);
    });
    for_each_peer([&]<class Peer>() { add_throughput<Peer>(job, Peer::name, kind::peer, true, 1, 1, batch, capacity); },
                  one_to_one_peers<T>{});
}

void register_all() {
    add_job<8>("throughput_8B", 1 << 16);
    add_job<256>("throughput_256B", 1 << 14);
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
