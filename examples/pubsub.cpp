// Pub/sub fan-out: one publisher, one channel per subscriber. With ordering::discard_old a
// full subscription evicts its oldest item instead of making the publisher wait, so a slow
// (here: stuck) subscriber loses old items but never stalls the publisher or the others.
//
//                 +--> [64 slots] --> fast subscriber A   (keeps up: gets all or nearly all)
//   publisher ----+--> [64 slots] --> fast subscriber B
//                 +--> [ 4 slots] --> stuck subscriber    (gets the newest 4, the rest counted)
//
// Usage: example_pubsub [events] [publish_period_us]     (default 1000 events, one every 20 us)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/ordering/discard_old.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

using polychan::status;

struct event {
    std::uint64_t sequence; // 1, 2, 3, ...
};
using subscription = polychan::channel<event, polychan::storage::heap, polychan::ordering::discard_old>;

struct subscriber_log {
    std::uint64_t received = 0;
    std::uint64_t last = 0;
};

// Reads until the subscription is closed; checks that events come in publish order.
void consume(subscription& in, subscriber_log& log) {
    for (event const& e : in) {
        expect(e.sequence > log.last, "events arrive in publish order, each at most once");
        log.last = e.sequence;
        ++log.received;
    }
}

int main(int argc, char** argv) {
    std::uint64_t const events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;
    auto const publish_period = std::chrono::microseconds(argc > 2 ? std::atoi(argv[2]) : 20);
    expect(events > 4, "more events than the stuck subscriber has slots");

    // A vector of unique_ptr: a channel is not movable (threads hold references to it).
    std::vector<std::unique_ptr<subscription>> subscriptions;
    subscriptions.push_back(std::make_unique<subscription>(64));
    subscriptions.push_back(std::make_unique<subscription>(64));
    subscriptions.push_back(std::make_unique<subscription>(4));
    subscription& stuck = *subscriptions.back();

    std::vector<subscriber_log> logs(subscriptions.size());
    std::latch publisher_done{1};
    {
        std::vector<std::jthread> subscribers;
        subscribers.emplace_back([&] { consume(*subscriptions[0], logs[0]); });
        subscribers.emplace_back([&] { consume(*subscriptions[1], logs[1]); });
        subscribers.emplace_back([&] {
            publisher_done.wait(); // stuck until the publisher has finished
            consume(stuck, logs[2]);
        });

        for (std::uint64_t i = 1; i <= events; ++i) {
            for (auto& s : subscriptions) {
                expect(s->write(event{i}) == status::ok, "a discard_old write never waits and never fails");
            }
            std::this_thread::sleep_for(publish_period);
        }
        // Reaching this line at all is the point: the stuck subscriber has not read a single
        // event, yet the publisher has published every one. With ordering::block it would now
        // be waiting for room in the stuck subscription forever.
        std::printf("published %llu events while one subscriber was stuck\n", static_cast<unsigned long long>(events));
        expect(stuck.ready_size() == 4, "the stuck subscription holds its newest 4 events");
        for (auto& s : subscriptions) s->close();
        publisher_done.count_down();
    } // subscribers drain and join here

    for (std::size_t s = 0; s < subscriptions.size(); ++s) {
        std::uint64_t const dropped = subscriptions[s]->discarded_count();
        std::printf("subscriber %zu: received %llu, dropped %llu, last event %llu\n", s,
                    static_cast<unsigned long long>(logs[s].received), static_cast<unsigned long long>(dropped),
                    static_cast<unsigned long long>(logs[s].last));
        expect(logs[s].received + dropped == events, "every event was either received or counted as dropped");
        expect(logs[s].last == events, "every subscriber ends on the newest event");
    }
    expect(logs[2].received == 4 && stuck.discarded_count() == events - 4,
           "the stuck subscriber got exactly the newest 4 events");

    // The same situation with ordering::block: a full subscription pushes back on the writer.
    polychan::channel<event> blocking{4};
    for (std::uint64_t i = 1; i <= 4; ++i) blocking.write(event{i});
    expect(blocking.try_write(event{5}) == status::full, "with block, a full subscription makes the writer wait");
    std::printf("pubsub: ok\n");
}
