// polychan — the claim loops every ordering is made of, written once against the sync protocol.
#pragma once

#include <polychan/claim.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/hot_path.hpp>

namespace polychan::ordering::detail {

/// retry_until after a first attempt that would block: wait for a change and try again.
template <class TryOnce, class Wait>
[[gnu::noinline]] auto retry_after_wait(deadline d, TryOnce try_once, Wait wait) {
    for (;;) {
        if (!wait(d)) {
            auto c = try_once(); // the state may have changed right at the deadline
            if (c.result == status::full || c.result == status::empty) c.result = status::timeout;
            return c;
        }
        auto c = try_once();
        if (c.result != status::full && c.result != status::empty) return c;
    }
}

/// Try, and while the attempt would block (`full`/`empty`), wait for a change and try again,
/// until `d` says stop. Spurious wake-ups cost one more attempt, never a wrong result.
/// The first attempt is inlined into the channel's call and the waiting loop is not: with both
/// in one function, every item paid for the loop's saved registers and stack frame (measured:
/// bench_throughput cost_8B).
template <class TryOnce, class Wait>
POLYCHAN_HOT_PATH auto retry_until(deadline d, TryOnce try_once, Wait wait) {
    auto c = try_once();
    if ((c.result != status::full && c.result != status::empty) || d.is_poll()) [[likely]]
        return c;
    return retry_after_wait(d, try_once, wait);
}

/// On full, wait for a free slot (back-pressure).
template <class Core>
POLYCHAN_HOT_PATH auto claim_write_waiting(Core& core, deadline d) {
    return retry_until(
        d, [&]() POLYCHAN_HOT_LAMBDA { return core.try_claim_write(); },
        [&](deadline dd) POLYCHAN_HOT_LAMBDA { return core.wait_writable(dd, wake_on::free_slot); });
}

/// On full, drop the incoming item and count it.
template <class Core>
POLYCHAN_HOT_PATH auto claim_write_or_drop(Core& core) {
    auto c = core.try_claim_write();
    if (c.result == status::full) {
        core.count_discarded();
        c.result = status::discarded;
    }
    return c;
}

/// On full, evict the oldest ready item and count it. Waits only when every slot is held
/// by an unfinished transaction, so that nothing can be evicted.
template <class Core>
POLYCHAN_HOT_PATH auto claim_write_evicting(Core& core, deadline d) {
    return retry_until(
        d,
        [&]() POLYCHAN_HOT_LAMBDA {
            auto c = core.try_claim_write();
            while (c.result == status::full && core.try_evict_oldest(evictor::writer)) {
                core.count_discarded();
                c = core.try_claim_write();
            }
            return c;
        },
        [&](deadline dd) POLYCHAN_HOT_LAMBDA { return core.wait_writable(dd, wake_on::free_or_ready_slot); });
}

/// Read the oldest ready item (FIFO).
template <class Core>
POLYCHAN_HOT_PATH auto claim_read_oldest(Core& core, deadline d) {
    return retry_until(
        d, [&]() POLYCHAN_HOT_LAMBDA { return core.try_claim_read(); },
        [&](deadline dd) POLYCHAN_HOT_LAMBDA { return core.wait_readable(dd); });
}

/// Whether an item newer than the claimed one `t` is ready: the core's own answer where it has
/// one (mutex: the claim may hold its lock, which ready_size() would take again), else any
/// ready item, as claims are FIFO and so everything still ready is newer.
template <class Core, class Ticket>
bool newer_ready(Core& core, const Ticket& t) {
    if constexpr (requires { core.newer_ready(t); }) {
        return core.newer_ready(t);
    } else {
        return core.ready_size() > 0;
    }
}

/// Read the newest ready item; every older one is discarded and counted, so a reader never
/// sees an item older than one it has already seen. A reader discards only an item it has
/// claimed, and only while a newer one is ready behind it: whoever claims the newest keeps
/// it. (Evicting "the oldest, as more than one is ready" before claiming let two readers
/// evict the last two items: the newest was lost. verify/semaphore_evict.cpp shows it.)
template <class Core>
POLYCHAN_HOT_PATH auto claim_read_newest(Core& core, deadline d) {
    return retry_until(
        d,
        [&]() POLYCHAN_HOT_LAMBDA {
            auto c = core.try_claim_read();
            while (c.ok() && newer_ready(core, c.ticket)) {
                core.payload(c.ticket).destroy();
                core.release(c.ticket);
                core.count_discarded();
                c = core.try_claim_read();
            }
            return c;
        },
        [&](deadline dd) POLYCHAN_HOT_LAMBDA { return core.wait_readable(dd); });
}

} // namespace polychan::ordering::detail
