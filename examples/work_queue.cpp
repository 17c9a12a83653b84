// Python's queue.Queue, in polychan terms. A bounded channel with the default policies
// (heap storage, block ordering, mutex sync) behaves like Queue(maxsize=N):
//
//   Python                          polychan                           "exception" becomes
//   q.put(x)                        ch.write(x)                        -
//   q.put(x, timeout=t)             ch.write_for(x, t)                 status::timeout (Full)
//   q.put_nowait(x)                 ch.try_write(x)                    status::full    (Full)
//   q.get()                         ch.read(x) / ch.read()             -
//   q.get(timeout=t)                ch.read_for(x, t)                  status::timeout (Empty)
//   q.get_nowait()                  ch.try_read(x)                     status::empty   (Empty)
//   q.qsize() q.empty() q.full()    ch.ready_size() ch.empty() ch.full()
//   q.maxsize                       ch.capacity()
//   q.shutdown()  (Python 3.13)     ch.close()                         status::closed  (ShutDown)
//
// Usage: example_work_queue [tasks] [timeout_ms]     (default 40 tasks, 20 ms)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using polychan::status;

struct task {
    int id;
    std::string payload;
};

int main(int argc, char** argv) {
    int const task_count = argc > 1 ? std::atoi(argv[1]) : 40;
    auto const timeout = std::chrono::milliseconds(argc > 2 ? std::atoi(argv[2]) : 20);

    polychan::channel<task> q{4}; // Queue(maxsize=4)

    // The non-blocking forms, on an idle queue: nothing here can wait.
    task t{0, "probe"};
    expect(q.try_read(t) == status::empty, "get_nowait() on an empty queue: empty");
    for (int i = 0; i < 4; ++i) expect(q.try_write(task{i, "fill"}) == status::ok, "put_nowait() with room: ok");
    expect(q.full() && q.ready_size() == 4 && q.capacity() == 4, "qsize() == maxsize");
    expect(q.try_write(task{4, "one too many"}) == status::full, "put_nowait() on a full queue: full");
    expect(q.write_for(task{4, "one too many"}, timeout) == status::timeout, "put(timeout=t) on a full queue: timeout");
    while (q.try_read(t) == status::ok) {
    }
    expect(q.empty(), "drained with get_nowait()");
    expect(q.read_for(t, timeout) == status::timeout, "get(timeout=t) on an empty queue: timeout");

    // Now the usual shape: one producer, two consumers, both sides using timeouts so that they
    // could do other work (or notice shutdown) while waiting.
    std::atomic<int> handled{0}, producer_waits{0}, consumer_waits{0};
    std::vector<std::jthread> consumers;
    for (int c = 0; c < 2; ++c) {
        consumers.emplace_back([&] {
            for (;;) {
                task job{0, ""};
                status const s = q.read_for(job, timeout);
                if (s == status::timeout) { // Empty: nothing yet, try again
                    ++consumer_waits;
                    continue;
                }
                if (s == status::closed) return; // ShutDown: closed and drained
                expect(job.payload == "task " + std::to_string(job.id), "a task arrives intact");
                ++handled;
            }
        });
    }
    for (int i = 0; i < task_count; ++i) {
        task job{i, "task " + std::to_string(i)};
        while (q.write_for(job, timeout) == status::timeout) ++producer_waits; // Full: retry
    }
    q.close();         // like Queue.shutdown(): consumers finish what is queued, then stop
    consumers.clear(); // joins

    std::printf("handled %d tasks (the producer waited on a full queue %d times, consumers on an empty one %d "
                "times)\n",
                handled.load(), producer_waits.load(), consumer_waits.load());
    expect(handled == task_count, "every task was handled exactly once");
    std::printf("work_queue: ok\n");
}
