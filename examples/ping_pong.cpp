// Go-style ping-pong: two players (threads) hit one ball back and forth over two channels.
//
//   Go:        table := make(chan *Ball); go player("ping", table); go player("pong", table)
//   polychan:  one channel per direction. A one-slot channel is the closest thing to an
//              unbuffered Go channel: a writer can be at most one item ahead of its reader.
//
// The player who makes the last hit ends the game with close(): the other player's
// range-for loop then ends on its own, the way `for b := range ch` ends in Go.
//
// Usage: example_ping_pong [rounds]     (default 10)
#include "check.hpp"

#include <polychan/channel.hpp>
#include <polychan/storage/heap_fixed.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>

struct ball {
    int hits = 0;
};

// heap_fixed<1>: one slot stored inside the channel object, no allocation at all.
using court_side = polychan::channel<ball, polychan::storage::heap_fixed<1>>;

// Returns how many times this player hit the ball.
int player(const char* name, court_side& incoming, court_side& outgoing, int rounds) {
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

int main(int argc, char** argv) {
    int const rounds = argc > 1 ? std::atoi(argv[1]) : 10;
    expect(rounds >= 1, "rounds >= 1");

    court_side to_ping, to_pong;
    auto ping = std::async(std::launch::async, player, "ping", std::ref(to_ping), std::ref(to_pong), rounds);
    auto pong = std::async(std::launch::async, player, "pong", std::ref(to_pong), std::ref(to_ping), rounds);

    to_ping.write(ball{}); // serve

    int const ping_hits = ping.get();
    int const pong_hits = pong.get();
    std::printf("ping hit %d times, pong %d times\n", ping_hits, pong_hits);

    // ping serves, so ping makes hits 1, 3, 5, ...
    expect(ping_hits + pong_hits == rounds, "every hit was counted exactly once");
    expect(ping_hits == (rounds + 1) / 2, "the players took turns");
    expect(to_ping.is_closed() && to_pong.is_closed(), "the game ended with close()");
    std::printf("ping_pong: ok\n");
}
