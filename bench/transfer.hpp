// polychan bench — the two jobs every subject runs: moving a batch of items from producers to
// consumers (throughput) and bouncing one item over two queues (round trip).
#pragma once

#include "harness.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace polychan_bench {

/// `batch` items per iteration from `producers` threads to `consumers` threads. Reported:
/// items_per_second of items written; `delivered` the fraction the consumers got (below 1
/// only for orderings that drop items by design). A lossless subject that loses an item is
/// an error, not a figure.
template <class Queue>
void add_throughput(std::string const& job, std::string_view subject, kind k, bool lossless, int producers,
                    int consumers, std::uint64_t batch, std::size_t capacity) {
    add(job, subject, k, [=](benchmark::State& state) {
        using value_type = typename Queue::value_type;
        std::uint64_t const per_producer = batch / static_cast<std::uint64_t>(producers);
        std::uint64_t sent = 0;
        std::uint64_t delivered = 0;
        for (auto _ : state) {
            Queue q{capacity};
            std::atomic<std::uint64_t> received{0};
            double const secs = timed_run(
                producers, consumers,
                [&](int p) {
                    value_type v{};
                    for (std::uint64_t i = 0; i < per_producer; ++i) {
                        v.seq = static_cast<std::uint64_t>(p) * per_producer + i;
                        q.push(v);
                    }
                    q.producer_done(p, producers, consumers);
                },
                [&](int) {
                    value_type v{};
                    std::uint64_t n = 0, sum = 0;
                    while (q.pop(v)) {
                        ++n;
                        sum += v.seq;
                    }
                    benchmark::DoNotOptimize(sum);
                    received.fetch_add(n, std::memory_order_relaxed);
                },
                [&] { q.all_producers_done(); });
            state.SetIterationTime(secs);
            sent += per_producer * static_cast<std::uint64_t>(producers);
            delivered += received.load();
        }
        if (lossless && delivered != sent) state.SkipWithError("a lossless subject lost or duplicated items");
        state.SetItemsProcessed(static_cast<std::int64_t>(sent));
        state.SetBytesProcessed(static_cast<std::int64_t>(sent * sizeof(value_type)));
        state.counters["delivered"] = sent ? static_cast<double>(delivered) / static_cast<double>(sent) : 0.0;
    });
}

/// The echo side of a round trip: sends back every item until the stream ends.
template <class Queue>
void echo(Queue& ping, Queue& pong) {
    typename Queue::value_type v{};
    while (ping.pop(v)) pong.push(v);
}

/// The timed side: `n` round trips, item i out on `ping` and back on `pong`. False if an item
/// came back as another one.
template <class Queue>
bool ping_pong(Queue& ping, Queue& pong, std::uint64_t n) {
    typename Queue::value_type v{};
    bool in_order = true;
    for (std::uint64_t i = 0; i < n; ++i) {
        v.seq = i;
        ping.push(v);
        pong.pop(v);
        in_order &= v.seq == i;
    }
    return in_order;
}

/// `round_trips` ping-pongs per iteration: this thread writes into `ping`, an echo thread
/// reads it and writes it back into `pong`. items_per_second counts round trips.
template <class Queue>
void add_round_trip(std::string const& job, std::string_view subject, kind k, std::uint64_t round_trips,
                    std::size_t capacity) {
    add(job, subject, k, [=](benchmark::State& state) {
        for (auto _ : state) {
            Queue ping{capacity}, pong{capacity};
            start_gate gate{1};
            cpu_pin here{0};
            std::thread echoing{[&] {
                cpu_pin there{1};
                gate.arrive_and_wait();
                echo(ping, pong);
            }};
            gate.open();
            bool in_order = ping_pong(ping, pong, warm_up_round_trips);
            auto const t0 = clock::now();
            in_order &= ping_pong(ping, pong, round_trips);
            double const secs = seconds_since(t0);
            ping.end_stream(1);
            echoing.join();
            state.SetIterationTime(secs);
            if (!in_order) state.SkipWithError("a round trip came back with another item");
        }
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * round_trips));
    });
}

/// One thread writes `burst` items, then reads them back, until `items` have gone through; per
/// iteration. No other thread runs and no cache line moves between cores: what is left is the
/// CPU time of a write and a read, which is what decides throughput once a hand-off between
/// cores is cheap (on this VM the cache-line round trip is sometimes 70 ns, sometimes 450 ns;
/// this figure does not depend on which).
template <class Queue>
void add_cost(std::string const& job, std::string_view subject, kind k, std::uint64_t items, std::uint64_t burst,
              std::size_t capacity) {
    add(job, subject, k, [=](benchmark::State& state) {
        bool in_order = true;
        cpu_pin here{0};
        for (auto _ : state) {
            Queue q{capacity};
            typename Queue::value_type v{};
            auto const t0 = clock::now();
            for (std::uint64_t done = 0; done < items; done += burst) {
                for (std::uint64_t i = 0; i < burst; ++i) {
                    v.seq = done + i;
                    q.push(v);
                }
                for (std::uint64_t i = 0; i < burst; ++i) in_order &= q.pop(v) && v.seq == done + i;
            }
            state.SetIterationTime(seconds_since(t0));
        }
        if (!in_order) state.SkipWithError("an item came back missing or out of order");
        state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
    });
}

} // namespace polychan_bench
