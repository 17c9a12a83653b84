// polychan — POLYCHAN_HOT_PATH: a function on the per-item path (a write or read that does
// not wait), always inlined into its caller; POLYCHAN_HOT_LAMBDA, the same for a lambda;
// POLYCHAN_POLL_LAMBDA, a condition a waiter polls that is measured faster as a call.
//
// Left to GCC's heuristics, whether these were inlined depended on everything else the
// translation unit instantiated (its inlining budget is per unit): the same heap spsc round
// trip measured 164 ns in one benchmark binary and 235 ns in another, and the same heap spsc
// throughput 300 M items/s in a small program and 80-160 M in bench_throughput, in the same
// minute. So every layer from channel::write()/read() down to the core's claim, publish and
// release is forced (the orderings' claims, the claim loops and their lambdas, the read
// transaction's release, the fence's registration check). What waits (the claim loops'
// retry, a core's await) and what reports a fault stays out of line. A condition that a
// waiter polls is decided per poll, by measurement: forcing the layers above the core
// changed which polls GCC inlined, likely why an earlier attempt measured a round trip of
// 680 ns against 377 (spsc's wait_readable says which way its poll went, and why).
#pragma once

#if defined(__GNUC__)
#define POLYCHAN_HOT_PATH [[gnu::always_inline]] inline
#define POLYCHAN_HOT_LAMBDA __attribute__((always_inline))
#define POLYCHAN_POLL_LAMBDA __attribute__((noinline))
#else
#define POLYCHAN_HOT_PATH inline
#define POLYCHAN_HOT_LAMBDA
#define POLYCHAN_POLL_LAMBDA
#endif
