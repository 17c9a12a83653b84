// polychan bench, family "transactions": large messages (64 KiB, 1 MiB) filled in place by
// the producer (begin_write / commit) and used in place by the consumer (begin_read), so the
// channel adds no copy of its own. Against: the same through std::mutex+deque (the message is
// copied in and out), and the limit, one plain memcpy per message over the same footprint.
//
// Producer's fill: memset of the whole message plus its sequence number. Consumer's use: reads
// the sequence number and the last byte. Reported: bytes_per_second of messages written.
#include "compositions.hpp"
#include "peers/mutex_deque.hpp"
#include "transfer.hpp"

#include <malloc.h>

#include <cstring>
#include <memory>

namespace polychan_bench {
namespace {

constexpr std::size_t capacity = 8;

/// A message with no default member initialisers: a transaction's slot is not zeroed before
/// the producer fills it.
template <std::size_t Bytes>
struct message {
    std::uint64_t seq;
    std::byte body[Bytes - sizeof(std::uint64_t)];
};

template <class Message>
void fill(Message& m, std::uint64_t seq) {
    std::memset(m.body, static_cast<int>(seq & 0xFF), sizeof m.body);
    m.seq = seq;
}
template <class Message>
std::uint64_t use(Message const& m) {
    return m.seq + static_cast<std::uint64_t>(m.body[sizeof m.body - 1]);
}

template <class Channel>
void add_transactions(std::string const& job, std::uint64_t batch) {
    using M = typename Channel::value_type;
    bool const lossless = std::is_same_v<typename Channel::ordering_type, polychan::ordering::block>;
    add(job, composition_name<Channel>(), kind::polychan, [=](benchmark::State& state) {
        std::uint64_t sent = 0, delivered = 0;
        for (auto _ : state) {
            auto ch = make_channel<Channel>(capacity);
            std::uint64_t received = 0;
            double const secs = timed_run(
                1, 1,
                [&](int) {
                    for (std::uint64_t i = 0; i < batch; ++i) {
                        auto w = ch->begin_write();
                        if (!w) continue; // discarded by the ordering
                        fill(*w, i);
                        w.commit();
                    }
                },
                [&](int) {
                    std::uint64_t sum = 0;
                    for (;;) {
                        auto r = ch->begin_read();
                        if (!r) break; // closed and drained
                        sum += use(*r);
                        ++received;
                    }
                    benchmark::DoNotOptimize(sum);
                },
                [&] { ch->close(); });
            state.SetIterationTime(secs);
            sent += batch;
            delivered += received;
        }
        if (lossless && delivered != sent) state.SkipWithError("a lossless channel lost or duplicated messages");
        state.SetBytesProcessed(static_cast<std::int64_t>(sent * sizeof(M)));
        state.SetItemsProcessed(static_cast<std::int64_t>(sent));
        state.counters["delivered"] = sent ? static_cast<double>(delivered) / static_cast<double>(sent) : 0.0;
    });
}

/// The copying baseline: the producer fills its own message, the queue copies it in, the
/// consumer copies it out.
template <std::size_t Bytes>
void add_copying_baseline(std::string const& job, std::uint64_t batch) {
    using M = message<Bytes>;
    add(job, "std.mutex+deque (copies)", kind::peer, [=](benchmark::State& state) {
        for (auto _ : state) {
            mutex_deque<M> q{capacity};
            auto produced = std::make_unique<M>();
            auto consumed = std::make_unique<M>();
            double const secs = timed_run(
                1, 1,
                [&](int) {
                    for (std::uint64_t i = 0; i < batch; ++i) {
                        fill(*produced, i);
                        q.push(*produced);
                    }
                },
                [&](int) {
                    std::uint64_t sum = 0;
                    while (q.pop(*consumed)) sum += use(*consumed);
                    benchmark::DoNotOptimize(sum);
                },
                [&] { q.end_stream(1); });
            state.SetIterationTime(secs);
        }
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * sizeof(M)));
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    });
}

/// The limit: one memcpy per message, cycling over `capacity` source and destination messages
/// (the footprint of the channel's slots), on one thread.
template <std::size_t Bytes>
void add_memcpy_floor(std::string const& job, std::uint64_t batch) {
    add(job, "memcpy", kind::floor, [=](benchmark::State& state) {
        std::unique_ptr<std::byte[]> src{new std::byte[capacity * Bytes]};
        std::unique_ptr<std::byte[]> dst{new std::byte[capacity * Bytes]};
        std::memset(src.get(), 1, capacity * Bytes);
        std::memset(dst.get(), 2, capacity * Bytes);
        for (auto _ : state) {
            auto const t0 = clock::now();
            for (std::uint64_t i = 0; i < batch; ++i) {
                std::size_t const at = (i % capacity) * Bytes;
                std::memcpy(dst.get() + at, src.get() + at, Bytes);
                benchmark::ClobberMemory();
            }
            state.SetIterationTime(seconds_since(t0));
        }
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * Bytes));
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
    });
}

template <std::size_t Bytes>
void add_job(std::string const& job, std::uint64_t batch) {
    for_each_composition<message<Bytes>, capacity>([&]<class Channel>() { add_transactions<Channel>(job, batch); });
    add_copying_baseline<Bytes>(job, batch);
    add_memcpy_floor<Bytes>(job, batch);
}

void register_all() {
    // Channels are built per iteration: keep their large blocks in the heap instead of fresh
    // mmap()s, so every subject measures transfers, not page faults.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    add_job<64 << 10>("tx_64KiB", 512);
    add_job<1 << 20>("tx_1MiB", 64);
}

} // namespace
} // namespace polychan_bench

int main(int argc, char** argv) { return polychan_bench::run_main(argc, argv, polychan_bench::register_all); }
