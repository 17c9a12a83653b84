// Go-style ping-pong: two players (threads) hit one ball back and forth over two channels.
//
//   Go:        table := make(chan *Ball); go player("ping", table); go player("pong", table)
//   polychan:  one channel per direction. A one-slot channel is the closest thing to an
//              unbuffered Go channel: a writer can be at most one item ahead of its reader.
//
// The player who makes the last hit ends the game with close(): the other player's
// range-for loop then ends on its own, the way `for b := range ch` ends in Go.
//
// Each channel has exactly one writer and one reader at a time, so besides the default mutex
// sync policy the lock-free `spsc` policy fits too (and `semaphore`): pick one on the command line.
//
// Usage: example_ping_pong [rounds] [mutex|spsc|semaphore]     (default 10 mutex)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/storage/heap_fixed.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <string_view>

struct ball {
    int hits = 0;
};

// heap_fixed<1>: one slot stored inside the channel object, no allocation at all.
template <class Sync>
using court_side = polychan::channel<ball, polychan::storage::heap_fixed<1>, polychan::ordering::block, Sync>;

// Returns how many times this player hit the ball.
template <class Sync>
int player(const char* name, court_side<Sync>& incoming, court_side<Sync>& outgoing, int rounds) {
    int my_hits = 0;
    for (ball b : incoming) { // ends when `incoming` is closed and drained
        ++b.hits;
        ++my_hits;
        if (rounds <= 20) std::printf("%s %d\n", name, b.hits);
        if (b.hits == rounds) { // last hit: game over for both players
            outgoing.close();
            incoming.close();
            break;
        }
        outgoing.write(b);
    }
    return my_hits;
}

template <class Sync>
void play(int rounds) {
    court_side<Sync> to_ping, to_pong;
    to_ping.write(ball{}); // serve, before the players start

    auto ping = std::async(std::launch::async, player<Sync>, "ping", std::ref(to_ping), std::ref(to_pong), rounds);
    auto pong = std::async(std::launch::async, player<Sync>, "pong", std::ref(to_pong), std::ref(to_ping), rounds);
    int const ping_hits = ping.get();
    int const pong_hits = pong.get();
    std::printf("sync::%s: ping hit %d times, pong %d times\n", Sync::name.data(), ping_hits, pong_hits);

    // ping gets the serve, so ping makes hits 1, 3, 5, ...
    expect(ping_hits + pong_hits == rounds, "every hit was counted exactly once");
    expect(ping_hits == (rounds + 1) / 2, "the players took turns");
    expect(to_ping.is_closed() && to_pong.is_closed(), "the game ended with close()");
}

int main(int argc, char** argv) {
    int const rounds = argc > 1 ? std::atoi(argv[1]) : 10;
    std::string_view const sync = argc > 2 ? argv[2] : "mutex";
    expect(rounds >= 1, "rounds >= 1");

    if (sync == "mutex") {
        play<polychan::sync::mutex>(rounds);
    } else if (sync == "spsc") {
        play<polychan::sync::spsc>(rounds);
    } else if (sync == "semaphore") {
        play<polychan::sync::semaphore>(rounds);
    } else {
        expect(false, "the sync policy is mutex, spsc or semaphore");
    }
    std::printf("ping_pong: ok\n");
}
