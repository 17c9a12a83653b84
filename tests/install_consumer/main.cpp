// Uses the installed headers the way a user would: compose channels, pass items between
// threads, check what arrives. Exit status 0 only if everything arrived as promised.
#include <polychan/polychan.hpp>

#include <cstdio>
#include <string>
#include <thread>

int main() {
    // A bounded, back-pressured channel between two threads.
    polychan::channel<std::string, polychan::storage::heap_fixed<4>, polychan::ordering::block, polychan::sync::mutex>
        ch;
    std::thread producer{[&] {
        for (int i = 0; i < 100; ++i) ch.write(std::to_string(i));
        ch.close();
    }};
    int expected = 0;
    bool in_order = true;
    for (std::string const& s : ch) in_order = in_order && s == std::to_string(expected++);
    producer.join();

    // A "latest value" channel keeps only the newest item.
    polychan::channel<int, polychan::storage::heap, polychan::ordering::always_last> latest{2};
    for (int i = 0; i < 10; ++i) latest.write(i);
    auto newest = latest.read();

    bool const ok = in_order && expected == 100 && newest && *newest == 9;
    std::printf("install consumer: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
