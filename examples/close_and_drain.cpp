// close() with Go semantics, and range-for to end workers.
//
//   - after close(), every write returns status::closed (nothing is silently dropped);
//   - readers still get every item written before close(), then see the end;
//   - every thread blocked in read() or write() wakes up.
//
// Here workers wait for jobs with range-for; main writes a batch, closes the channel and
// joins the workers: each loop ends once the channel is closed AND empty.
//
// Usage: example_close_and_drain [jobs] [workers]     (default 100 jobs, 4 workers)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

using polychan::status;

int main(int argc, char** argv) {
    int const job_count = argc > 1 ? std::atoi(argv[1]) : 100;
    int const worker_count = argc > 2 ? std::atoi(argv[2]) : 4;

    polychan::channel<int> jobs{static_cast<std::size_t>(job_count > 0 ? job_count : 1)};
    std::atomic<int> done{0};
    std::atomic<long> sum{0};

    // Write every job and close BEFORE any worker starts: what was written is still delivered.
    for (int i = 1; i <= job_count; ++i) expect(jobs.write(i) == status::ok, "a write before close succeeds");
    jobs.close();
    expect(jobs.write(-1) == status::closed, "a write after close() returns closed");
    expect(jobs.ready_size() == static_cast<std::size_t>(job_count), "close() keeps what was written");

    {
        std::vector<std::jthread> workers;
        for (int w = 0; w < worker_count; ++w)
            workers.emplace_back([&] {
                for (int j : jobs) { // drains, then ends: closed and empty
                    sum += j;
                    ++done;
                }
            });
    } // jthreads join here
    std::printf("%d workers drained %d jobs after close()\n", worker_count, done.load());
    expect(done == job_count, "every job written before close() was read once");
    expect(sum == long{job_count} * (job_count + 1) / 2, "no job was read twice");

    // close() also wakes threads that are already blocked: a reader on an empty channel...
    polychan::channel<int> idle{1};
    std::jthread blocked_reader{[&] {
        int v = 0;
        expect(!idle.read(v), "read() returns false once the channel is closed and drained");
    }};
    // ...and a writer on a full one.
    polychan::channel<int> jammed{1};
    jammed.write(0);
    std::jthread blocked_writer{
        [&] { expect(jammed.write(1) == status::closed, "a blocked write wakes with closed"); }};

    idle.close();   // the reader may already wait or may not have started: either way it ends
    jammed.close(); // same for the writer
    blocked_reader.join();
    blocked_writer.join();
    std::printf("a blocked reader and a blocked writer both woke up\n");
    std::printf("close_and_drain: ok\n");
}
