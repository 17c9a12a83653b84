// Go-style fan-out / fan-in: one channel of jobs read by several workers (fan-out), one channel
// of results written by all of them (fan-in).
//
//               +--> worker 0 --+
//   jobs -------+--> worker 1 --+------> results
//               +--> worker 2 --+
//
// Both the mutex and the semaphore sync policies take any number of readers and writers, so
// the workers simply share both channels; the pool is written once for either. Closing `jobs`
// ends the workers' range-for loops; the last worker to finish closes `results`, which ends
// the collector's loop.
//
// Usage: example_worker_pool [jobs] [workers] [mutex|semaphore]     (default 200 3 mutex)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/sync/semaphore.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

struct job {
    int id;
    int input;
};
struct result {
    int job_id;
    int worker;
    long output;
};

template <class Sync>
void run_pool(int job_count, int worker_count) {
    polychan::channel<job, polychan::storage::heap, polychan::ordering::block, Sync> jobs{8};
    polychan::channel<result, polychan::storage::heap, polychan::ordering::block, Sync> results{8};
    std::atomic<int> running{worker_count};

    std::vector<std::jthread> workers;
    for (int w = 0; w < worker_count; ++w) {
        workers.emplace_back([&, w] {
            for (job j : jobs) results.write(result{j.id, w, long{j.input} * j.input});
            if (running.fetch_sub(1) == 1) results.close(); // the last worker out closes results
        });
    }
    std::jthread producer{[&] {
        for (int i = 0; i < job_count; ++i) jobs.write(job{i, i % 100});
        jobs.close();
    }};

    std::vector<int> seen(static_cast<std::size_t>(job_count), 0);
    std::vector<int> per_worker(static_cast<std::size_t>(worker_count), 0);
    for (result const& r : results) {
        expect(r.job_id >= 0 && r.job_id < job_count, "a result belongs to a job we sent");
        expect(r.output == long{r.job_id % 100} * (r.job_id % 100), "the worker computed the right output");
        ++seen[static_cast<std::size_t>(r.job_id)];
        ++per_worker[static_cast<std::size_t>(r.worker)];
    }

    std::printf("sync::%s\n", Sync::name.data());
    for (int w = 0; w < worker_count; ++w)
        std::printf("worker %d did %d jobs\n", w, per_worker[static_cast<std::size_t>(w)]);
    for (int n : seen) expect(n == 1, "every job was done exactly once");
}

int main(int argc, char** argv) {
    int const job_count = argc > 1 ? std::atoi(argv[1]) : 200;
    int const worker_count = argc > 2 ? std::atoi(argv[2]) : 3;
    std::string_view const sync = argc > 3 ? argv[3] : "mutex";
    expect(job_count >= 0 && worker_count >= 1, "job and worker counts are sensible");

    if (sync == "mutex") {
        run_pool<polychan::sync::mutex>(job_count, worker_count);
    } else if (sync == "semaphore") {
        run_pool<polychan::sync::semaphore>(job_count, worker_count);
    } else {
        expect(false, "the sync policy is mutex or semaphore");
    }
    std::printf("worker_pool: ok\n");
}
