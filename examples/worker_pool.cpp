// Go-style fan-out / fan-in: one channel of jobs read by several workers (fan-out), one channel
// of results written by all of them (fan-in).
//
//               +--> worker 0 --+
//   jobs -------+--> worker 1 --+------> results
//               +--> worker 2 --+
//
// A channel with the mutex sync policy takes any number of readers and writers, so the
// workers simply share both channels. Closing `jobs` ends the workers' range-for loops; the
// last worker to finish closes `results`, which ends the collector's loop.
//
// Usage: example_worker_pool [jobs] [workers]     (default 200 jobs, 3 workers)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
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

int main(int argc, char** argv) {
    int const job_count = argc > 1 ? std::atoi(argv[1]) : 200;
    int const worker_count = argc > 2 ? std::atoi(argv[2]) : 3;
    expect(job_count >= 0 && worker_count >= 1, "job and worker counts are sensible");

    polychan::channel<job> jobs{8};
    polychan::channel<result> results{8};
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

    for (int w = 0; w < worker_count; ++w) std::printf("worker %d did %d jobs\n", w, per_worker[std::size_t(w)]);
    for (int n : seen) expect(n == 1, "every job was done exactly once");
    std::printf("worker_pool: ok\n");
}
