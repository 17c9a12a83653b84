// Timeouts, Go-style: what `select { case v := <-ch: ...; case <-time.After(d): ... }` does
// for one channel. write and read have _for (a duration) and _until (a time point) forms;
// when the time runs out they return polychan::status::timeout and change nothing.
//
// Usage: example_timeouts [milliseconds]     (default 50: how long each timeout is)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using polychan::status;
using steady = std::chrono::steady_clock;

int main(int argc, char** argv) {
    auto const patience = std::chrono::milliseconds(argc > 1 ? std::atoi(argv[1]) : 50);

    // 1. Waiting for a reply that never comes.
    polychan::channel<std::string> replies{1};
    std::string reply = "unchanged";
    auto const start = steady::now();
    status s = replies.read_for(reply, patience);
    auto const waited = steady::now() - start;
    std::printf("read_for on an empty channel: %s after %lld ms\n", polychan::to_string(s).data(),
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
    expect(s == status::timeout, "nothing was written, so the read times out");
    expect(waited >= patience, "a timeout never fires early");
    expect(reply == "unchanged", "a read that timed out leaves its output alone");

    // 2. A reply that arrives in time.
    std::jthread responder{[&] { replies.write("pong"); }};
    s = replies.read_for(reply, 10s); // generous: the responder writes at once
    std::printf("read_for with a responder: %s, got \"%s\"\n", polychan::to_string(s).data(), reply.c_str());
    expect(s == status::ok && reply == "pong", "the reply arrives before the timeout");
    responder.join();

    // 3. A full channel with the block ordering: a write can time out too, and then the
    //    channel still holds exactly what it held.
    polychan::channel<int> mailbox{2};
    mailbox.write(1);
    mailbox.write(2);
    s = mailbox.write_for(3, patience);
    std::printf("write_for on a full channel: %s\n", polychan::to_string(s).data());
    expect(s == status::timeout, "nobody reads, so the write times out");
    expect(mailbox.ready_size() == 2, "the channel is intact after a timed-out write");

    // 4. A deadline shared by several calls: gather whatever arrives before `until`.
    polychan::channel<int> events{16};
    for (int i = 0; i < 5; ++i) events.write(i);
    auto const until = steady::now() + patience;
    int gathered = 0, v = 0;
    while (events.read_until(v, until) == status::ok) ++gathered;
    std::printf("read_until gathered %d events before the deadline\n", gathered);
    expect(gathered == 5, "every event written before the deadline was gathered");
    expect(steady::now() >= until, "the loop ended because the deadline passed");

    std::printf("timeouts: ok\n");
}
