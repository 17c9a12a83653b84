// A "latest value" feed: a sensor publishes readings faster than the display can show them.
// With ordering::always_last the sensor never waits, and each read returns the NEWEST reading;
// the older ones are dropped and counted. A reader therefore never sees a reading older than
// one it has already seen, and never works through a backlog of stale values.
//
// Usage: example_sensor_latest [readings] [sensor_period_us] [display_period_us]
//        (default 400 readings, one every 50 us, shown every 500 us)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/storage/heap_fixed.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

struct reading {
    std::uint64_t sequence; // 1, 2, 3, ... in the order the sensor took them
    double celsius;
};

// One slot inline is all a latest-value channel needs.
using latest = polychan::channel<reading, polychan::storage::heap_fixed<1>, polychan::ordering::always_last>;

int main(int argc, char** argv) {
    std::uint64_t const total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400;
    auto const sensor_period = std::chrono::microseconds(argc > 2 ? std::atoi(argv[2]) : 50);
    auto const display_period = std::chrono::microseconds(argc > 3 ? std::atoi(argv[3]) : 500);

    latest feed;
    std::jthread sensor{[&] {
        for (std::uint64_t i = 1; i <= total; ++i) {
            feed.write(reading{i, 20.0 + static_cast<double>(i % 50) / 10.0}); // never blocks
            std::this_thread::sleep_for(sensor_period);
        }
        feed.close();
    }};

    std::uint64_t shown = 0, last_seen = 0;
    for (reading const& r : feed) { // the display: slower than the sensor
        expect(r.sequence > last_seen, "a newer reading never comes before an older one");
        if (shown < 8)
            std::printf("display: reading #%llu = %.1f C\n", static_cast<unsigned long long>(r.sequence), r.celsius);
        last_seen = r.sequence;
        ++shown;
        std::this_thread::sleep_for(display_period);
    }
    sensor.join();

    std::printf("sensor took %llu readings, the display showed %llu, %llu were superseded\n",
                static_cast<unsigned long long>(total), static_cast<unsigned long long>(shown),
                static_cast<unsigned long long>(feed.discarded_count()));
    expect(last_seen == total, "the display ends on the newest reading");
    expect(shown + feed.discarded_count() == total, "every reading was either shown or counted as discarded");
    std::printf("sensor_latest: ok\n");
}
