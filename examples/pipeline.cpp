// Go-style pipeline: generate -> square -> sum, each stage a thread, stages joined by channels.
//
//   generate --numbers--> square --squares--> sum
//
// Every stage reads its input with range-for until that channel is closed and drained, then
// closes its own output: closing the first channel shuts the whole pipeline down in order,
// and nothing in flight is lost.
//
// Usage: example_pipeline [count]     (default 1000)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

using number_channel = polychan::channel<std::uint64_t>; // heap storage, block ordering, mutex sync

// A middle stage: applies `f` to every item of `in` and writes the result to `out`.
template <class F>
void stage(number_channel& in, number_channel& out, F f) {
    for (std::uint64_t v : in) out.write(f(v));
    out.close(); // our input is exhausted, so is our output
}

int main(int argc, char** argv) {
    std::uint64_t const count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;

    number_channel numbers{16}, squares{16}; // small buffers: back-pressure keeps stages in step

    std::jthread generate{[&] {
        for (std::uint64_t i = 1; i <= count; ++i) numbers.write(i);
        numbers.close();
    }};
    std::jthread square{[&] { stage(numbers, squares, [](std::uint64_t v) { return v * v; }); }};

    std::uint64_t sum = 0, received = 0;
    for (std::uint64_t v : squares) { // the last stage runs on the main thread
        sum += v;
        ++received;
    }

    std::printf("sum of the squares of 1..%llu = %llu\n", static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(sum));
    expect(received == count, "every number made it through the pipeline");
    expect(sum == count * (count + 1) * (2 * count + 1) / 6, "the sum is n(n+1)(2n+1)/6");
    std::printf("pipeline: ok\n");
}
