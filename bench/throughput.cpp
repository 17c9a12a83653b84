// polychan bench, family "throughput": one producer thread, one consumer thread, items of
// 8 and 256 bytes, every composition against every peer; and the CPU cost of a write and a
// read in one thread (cost_8B).
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

/// The CPU cost of a write and a read (add_cost): the heap compositions whose reads return
/// every item in order, and every peer.
void add_cost_job(std::string const& job) {
    using T = item<8>;
    constexpr std::uint64_t burst = capacity / 2;
    for_each_composition<T, capacity>([&]<class Channel>() {
        if constexpr (std::is_same_v<typename Channel::storage_type, polychan::storage::heap> &&
                      !std::is_same_v<typename Channel::ordering_type, polychan::ordering::always_last>) {
            add_cost<channel_queue<Channel>>(job, composition_name<Channel>(), kind::polychan, 1 << 16, burst,
                                             capacity);
        }
    });
    for_each_peer([&]<class Peer>() { add_cost<Peer>(job, Peer::name, kind::peer, 1 << 16, burst, capacity); },
                  one_to_one_peers<T>{});
}

void register_all() {
    add_job<8>("throughput_8B", 1 << 16);
    add_job<256>("throughput_256B", 1 << 14);
    add_cost_job("cost_8B");
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
