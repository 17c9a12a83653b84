// Conformance, many threads: FIFO per writer, no loss or duplication, always_last never goes
// back in time, and close() wakes every blocked reader and writer.
#include "support.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

using namespace polychan;
using namespace polychan::test;

namespace {

/// An item tagged with its writer and that writer's sequence number.
constexpr std::uint64_t tag(std::uint32_t writer, std::uint32_t seq) { return (std::uint64_t{writer} << 32) | seq; }
constexpr std::uint32_t writer_of(std::uint64_t item) { return static_cast<std::uint32_t>(item >> 32); }
constexpr std::uint32_t seq_of(std::uint64_t item) { return static_cast<std::uint32_t>(item); }

struct writer_tally {
    std::uint64_t ok = 0;
    std::uint64_t discarded = 0;
    std::uint64_t other = 0;
    void count(status s) {
        if (s == status::ok) {
            ++ok;
        } else if (s == status::discarded) {
            ++discarded;
        } else {
            ++other;
        }
    }
};

} // namespace

// Writers alternate between write() and write transactions; readers use read() -> optional
// alternating with read transactions, read(T&), and range-for. Every reader must see each
// writer's items in increasing order, no item twice, and every item must be either read or
// counted as discarded.
TEMPLATE_LIST_TEST_CASE("many writers and readers: per-writer FIFO, no loss, no duplication", "[concurrency]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    constexpr int writers = TestType::writers(4);
    constexpr int readers = TestType::readers(4);
    constexpr std::uint32_t per_writer = 200'000 / test_scale / writers;
    constexpr std::uint64_t total = std::uint64_t{per_writer} * writers;

    channel_for<TestType, std::uint64_t, 16> ch;
    std::vector<writer_tally> tallies(writers);
    std::vector<std::vector<std::uint64_t>> got(readers);

    std::vector<std::thread> reader_threads;
    for (int r = 0; r < readers; ++r) {
        reader_threads.emplace_back([&ch, &mine = got[static_cast<std::size_t>(r)], r] {
            switch (r % 3) {
            case 0: // alternates read() -> optional and read transactions (also with one reader)
                for (bool transaction = false;; transaction = !transaction) {
                    if (transaction) {
                        auto t = ch.begin_read();
                        if (!t) break;
                        mine.push_back(*t);
                    } else {
                        auto v = ch.read();
                        if (!v) break;
                        mine.push_back(*v);
                    }
                }
                break;
            case 1: {
                std::uint64_t v = 0;
                while (ch.read(v)) mine.push_back(v);
                break;
            }
            default:
                for (std::uint64_t v : ch) mine.push_back(v);
                break;
            }
        });
    }
    std::vector<std::thread> writer_threads;
    for (int w = 0; w < writers; ++w) {
        writer_threads.emplace_back([&ch, &tally = tallies[static_cast<std::size_t>(w)], w] {
            auto const id = static_cast<std::uint32_t>(w);
            for (std::uint32_t seq = 0; seq < per_writer; ++seq) {
                if ((seq + static_cast<std::uint32_t>(w)) % 2 == 0) { // alternate write() and transactions
                    tally.count(ch.write(tag(id, seq)));
                } else if (auto t = ch.begin_write(tag(id, seq)); t) {
                    tally.count(t.commit());
                } else {
                    tally.count(t.status());
                }
            }
        });
    }
    for (auto& t : writer_threads) t.join();
    ch.close();
    for (auto& t : reader_threads) t.join();

    writer_tally sum;
    for (auto const& t : tallies) {
        sum.ok += t.ok;
        sum.discarded += t.discarded;
        sum.other += t.other;
    }
    CHECK(sum.other == 0);
    CHECK(sum.ok + sum.discarded == total);

    std::vector<std::uint8_t> seen(total, 0);
    std::uint64_t reads = 0, duplicates = 0, out_of_order = 0, foreign = 0;
    for (auto const& mine : got) {
        std::vector<std::int64_t> last(writers, -1);
        for (std::uint64_t item : mine) {
            std::uint32_t const w = writer_of(item), seq = seq_of(item);
            if (w >= static_cast<std::uint32_t>(writers) || seq >= per_writer) {
                ++foreign;
                continue;
            }
            if (static_cast<std::int64_t>(seq) <= last[w]) ++out_of_order;
            last[w] = seq;
            if (seen[std::size_t{w} * per_writer + seq]++ != 0) ++duplicates;
            ++reads;
        }
    }
    CHECK(foreign == 0);
    CHECK(duplicates == 0);
    CHECK(out_of_order == 0);
    // Every item written is read or counted as discarded (by a writer or by an eviction).
    CHECK(reads + ch.discarded_count() == total);
    if constexpr (uses<TestType, ordering::discard_new>) CHECK(ch.discarded_count() == sum.discarded);
    if constexpr (uses<TestType, ordering::block> || (TestType::unbounded && !uses<TestType, ordering::always_last>)) {
        CHECK(reads == total); // nothing may be lost
        CHECK(ch.discarded_count() == 0);
    }
    CHECK(ch.ready_size() == 0);
}

// One writer counts up; readers must never see a value below one they have already seen,
// and the newest value is never lost.
TEMPLATE_LIST_TEST_CASE("always_last: a concurrent reader never gets an older item after a newer one",
                        "[concurrency][always_last]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    if constexpr (uses<TestType, ordering::always_last>) {
        constexpr int readers = TestType::readers(3);
        constexpr std::uint64_t items = 100'000 / test_scale;
        channel_for<TestType, std::uint64_t, 4> ch;
        std::vector<std::vector<std::uint64_t>> got(readers);
        std::vector<std::thread> threads;
        for (int r = 0; r < readers; ++r) {
            threads.emplace_back([&ch, &mine = got[static_cast<std::size_t>(r)]] {
                while (auto v = ch.read()) mine.push_back(*v);
            });
        }
        std::uint64_t not_ok = 0;
        for (std::uint64_t i = 0; i < items; ++i) not_ok += ch.write(i) != status::ok;
        ch.close();
        for (auto& t : threads) t.join();

        CHECK(not_ok == 0);
        std::uint64_t reads = 0, backwards = 0;
        bool newest_read = false;
        std::vector<std::uint8_t> seen(items, 0);
        std::uint64_t duplicates = 0;
        for (auto const& mine : got) {
            for (std::size_t i = 0; i < mine.size(); ++i) {
                if (i > 0 && mine[i] <= mine[i - 1]) ++backwards;
                if (mine[i] < items && seen[mine[i]]++ != 0) ++duplicates;
                newest_read = newest_read || mine[i] == items - 1;
            }
            reads += mine.size();
        }
        CHECK(backwards == 0);
        CHECK(duplicates == 0);
        CHECK(newest_read);
        CHECK(reads + ch.discarded_count() == items);
    }
}

TEMPLATE_LIST_TEST_CASE("close wakes every blocked reader", "[concurrency][close]", all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr int readers = TestType::readers(8);
    channel_for<TestType, counted, 4> ch;
    std::atomic<int> woke_empty{0};
    std::vector<std::thread> threads;
    for (int r = 0; r < readers; ++r) {
        threads.emplace_back([&] {
            if (!ch.read()) woke_empty.fetch_add(1);
        });
    }
    let_threads_block();
    ch.close();
    for (auto& t : threads) t.join();
    CHECK(woke_empty.load() == readers);
}

TEMPLATE_LIST_TEST_CASE("close wakes every blocked writer and drops nothing already written", "[concurrency][close]",
                        all_compositions) {
    POLYCHAN_NAME_COMPOSITION();
    lifetime_check lifetimes;
    constexpr std::size_t n = 4;
    constexpr int writers = TestType::writers(8);
    channel_for<TestType, counted, n> ch;

    constexpr bool full_blocks = writers_wait_when_full<TestType>;
    if constexpr (full_blocks || writers_wait_when_all_held<TestType>) {
        auto held = occupy_every_slot<TestType>(ch, n);

        std::vector<status> results(writers, status::ok);
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w) {
            threads.emplace_back([&ch, &result = results[static_cast<std::size_t>(w)], w] {
                counted item{100 + w};
                result = ch.write(item);
            });
        }
        let_threads_block();
        ch.close();
        for (auto& t : threads) t.join();
        for (status s : results) CHECK(s == status::closed);

        if constexpr (full_blocks) {
            // The items written before close are still there, in order; then closed.
            CHECK(ch.ready_size() == n);
            for (std::size_t i = 0; i < n; ++i) {
                auto v = ch.read();
                REQUIRE(v);
                CHECK(v->value() == static_cast<int>(i));
            }
        } else {
            for (auto& t : held) CHECK(t.commit() == status::closed); // Go: nothing delivered after close
        }
        CHECK_FALSE(ch.read());
        CHECK(ch.discarded_count() == 0);
    }
}
