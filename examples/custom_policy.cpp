// Writing your own policy, and composing it with the built-in ones.
//
// 1. An ordering, `patient_drop<GraceMs>`: a write to a full channel waits up to GraceMs for
//    room, then drops the item and counts it (between `block`, which waits forever, and
//    `discard_new`, which never waits). It is built from the claim loops every built-in
//    ordering is made of (polychan/ordering/detail/claim_loops.hpp), so it works with every
//    sync policy unchanged.
// 2. A storage, `counting_heap`: the heap storage with a mutex that counts how often a lock
//    was taken and how often it was contended, to see whether a channel is a bottleneck.
//    A storage decides which blocking primitives the sync policy uses in its memory.
//
// Usage: example_custom_policy [messages]     (default 2000)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/ordering/detail/claim_loops.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/heap_fixed.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <thread>

using polychan::status;

// ---- 1. a custom ordering --------------------------------------------------------------
template <int GraceMs>
struct patient_drop {
    static constexpr std::string_view name = "patient_drop";

    template <class Core>
    static auto claim_write(Core& core, polychan::deadline d) {
        auto const grace = polychan::deadline::after(std::chrono::milliseconds(GraceMs));
        bool const caller_gives_up_first = d.is_poll() || (!d.is_forever() && d.when() < grace.when());
        auto c = polychan::ordering::detail::claim_write_waiting(core, caller_gives_up_first ? d : grace);
        if (!caller_gives_up_first && c.result == status::timeout) { // our grace ran out: drop
            core.count_discarded();
            c.result = status::discarded;
        }
        return c;
    }
    template <class Core>
    static auto claim_read(Core& core, polychan::deadline d) {
        return polychan::ordering::detail::claim_read_oldest(core, d); // FIFO
    }
};
static_assert(polychan::ordering_policy<patient_drop<10>>);

// ---- 2. a custom storage ---------------------------------------------------------------
class counting_mutex {
  public:
    void lock() {
        if (!inner_.try_lock()) {
            contended.fetch_add(1, std::memory_order_relaxed);
            inner_.lock();
        }
        taken.fetch_add(1, std::memory_order_relaxed);
    }
    bool try_lock() {
        bool const got = inner_.try_lock();
        if (got) taken.fetch_add(1, std::memory_order_relaxed);
        return got;
    }
    void unlock() { inner_.unlock(); }

    static inline std::atomic<std::uint64_t> taken{0}, contended{0}; // statistics only

  private:
    std::mutex inner_;
};

struct counting_heap : polychan::storage::heap { // same memory as heap: slots allocated once
    static constexpr std::string_view name = "counting_heap";
    using mutex_type = counting_mutex;
    using condition_type = std::condition_variable_any; // waits with any lockable mutex
};
static_assert(polychan::storage_policy<counting_heap>);

int main(int argc, char** argv) {
    int const messages = argc > 1 ? std::atoi(argv[1]) : 2000;

    // patient_drop with the default storage and sync: nobody reads, so the third write
    // waits out its 20 ms grace and is dropped.
    polychan::channel<int, polychan::storage::heap, patient_drop<20>> impatient{2};
    impatient.write(1);
    impatient.write(2);
    auto const start = std::chrono::steady_clock::now();
    expect(impatient.write(3) == status::discarded, "a full patient_drop channel drops after its grace");
    expect(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(20), "it waited its grace first");
    expect(impatient.discarded_count() == 1 && impatient.ready_size() == 2, "the drop is counted, the rest kept");
    expect(impatient.try_write(4) == status::full, "try_write never waits: full, like block");

    // patient_drop in a fixed-size channel: a reader frees room well within the grace.
    polychan::channel<int, polychan::storage::heap_fixed<1>, patient_drop<5000>> patient;
    patient.write(1);
    std::jthread reader{[&] {
        int v = 0;
        patient.read(v);
    }};
    expect(patient.write(2) == status::ok, "room appears within the grace, so nothing is dropped");
    reader.join();

    // counting_heap composed with the built-in discard_old ordering and mutex sync.
    polychan::channel<int, counting_heap, polychan::ordering::discard_old> counted{8};
    std::jthread producer{[&] {
        for (int i = 0; i < messages; ++i) counted.write(i);
        counted.close();
    }};
    std::uint64_t received = 0;
    for ([[maybe_unused]] int v : counted) ++received;
    producer.join();
    std::printf("counting_heap: %llu lock acquisitions, %llu contended; received %llu, evicted %llu\n",
                static_cast<unsigned long long>(counting_mutex::taken.load()),
                static_cast<unsigned long long>(counting_mutex::contended.load()),
                static_cast<unsigned long long>(received), static_cast<unsigned long long>(counted.discarded_count()));
    expect(counting_mutex::taken > 0, "the sync policy locked the storage's mutex");
    expect(received + counted.discarded_count() == std::uint64_t(messages), "discard_old: each item read or evicted");

    std::printf("custom_policy: ok\n");
}
