// polychan — POLYCHAN_HOT_PATH: a small function on the per-item path of a lock-free core,
// always inlined into its caller.
//
// Left to GCC's heuristics, whether these were inlined depended on everything else the
// translation unit instantiated (its inlining budget is per unit): the same heap spsc round
// trip measured 164 ns in one benchmark binary and 235 ns in another, in the same run. Forcing
// the layers above the core too (channel::put/take, the claim loops, the read transaction's
// release) was tried and measured worse: the spsc round trip went from 377 to 680 ns.
#pragma once

#if defined(__GNUC__)
#define POLYCHAN_HOT_PATH [[gnu::always_inline]] inline
#else
#define POLYCHAN_HOT_PATH inline
#endif
