// polychan — a sync core as one write() or read() sees it: its claims are made with `one_op`
// (claim.hpp), so that a core that locks may keep its lock from the claim to the publish or
// release that follows at once, and one that marks write claims or counts read claims may skip
// that. Orderings take it as they take the core itself. Its forwarders are forced inline: they
// sit on every item's path (hot_path.hpp).
#pragma once

#include <polychan/claim.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/hot_path.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/status.hpp>

#include <cstddef>
#include <cstdint>

namespace polychan::detail {

/// Whether `Core` has claims for one write or read (sync/mutex, sync/spsc).
template <class Core>
concept claims_for_one_op = requires(Core& c) {
    c.try_claim_write(one_op);
    c.try_claim_read(one_op);
};

/// Publishes a write slot claimed with `one_op`: through the core's own one_op publish where
/// it has one (sync/spsc: its one_op claims are not marked open), else as any other.
template <class Core>
POLYCHAN_HOT_PATH status publish_one_op(Core& core, typename Core::write_ticket w) {
    if constexpr (claims_for_one_op<Core> && requires { core.publish(w, one_op); }) {
        return core.publish(w, one_op);
    } else {
        return core.publish(w);
    }
}
/// Gives back a write slot claimed with `one_op`, as publish_one_op() publishes it.
template <class Core>
POLYCHAN_HOT_PATH void cancel_one_op(Core& core, typename Core::write_ticket w) {
    if constexpr (claims_for_one_op<Core> && requires { core.cancel(w, one_op); }) {
        core.cancel(w, one_op);
    } else {
        core.cancel(w);
    }
}

/// Releases a read slot claimed with `one_op`: through the core's own one_op release where it
/// has one (sync/spsc: a one_op read claim may go uncounted), else as any other.
template <class Core>
POLYCHAN_HOT_PATH void release_one_op(Core& core, typename Core::read_ticket r) {
    if constexpr (claims_for_one_op<Core> && requires { core.release(r, one_op); }) {
        core.release(r, one_op);
    } else {
        core.release(r);
    }
}

/// The slot of one read(), from its claim (made with `one_op` where the core has such claims)
/// until it goes out of scope: then the item is destroyed and the slot released, even if the
/// caller's use of the item threw.
template <class Core>
class one_op_read {
  public:
    one_op_read(Core& core, typename Core::read_ticket r) noexcept : core_{core}, ticket_{r} {}
    one_op_read(const one_op_read&) = delete;
    one_op_read& operator=(const one_op_read&) = delete;
    POLYCHAN_HOT_PATH ~one_op_read() {
        core_.payload(ticket_).destroy();
        release_one_op(core_, ticket_);
    }
    POLYCHAN_HOT_PATH typename Core::value_type& item() noexcept { return core_.payload(ticket_).get(); }

  private:
    Core& core_;
    typename Core::read_ticket ticket_;
};

/// `Core` with try_claim_write() and try_claim_read() made with `one_op`, and the publish,
/// cancel and release that go with them; everything else as is.
template <class Core>
class one_op_core {
  public:
    using value_type = typename Core::value_type;
    using write_ticket = typename Core::write_ticket;
    using read_ticket = typename Core::read_ticket;

    explicit one_op_core(Core& core) noexcept : core_{core} {}

    POLYCHAN_HOT_PATH claim<write_ticket> try_claim_write() { return core_.try_claim_write(one_op); }
    POLYCHAN_HOT_PATH claim<read_ticket> try_claim_read() { return core_.try_claim_read(one_op); }

    // Waits through the core's one_op waits where it has them (sync/mutex: write() and read()
    // wait in batches, transactions promptly).
    POLYCHAN_HOT_PATH bool wait_writable(deadline d, wake_on why) {
        if constexpr (requires { core_.wait_writable(d, why, one_op); }) {
            return core_.wait_writable(d, why, one_op);
        } else {
            return core_.wait_writable(d, why);
        }
    }
    POLYCHAN_HOT_PATH status publish(write_ticket w) { return publish_one_op(core_, w); }
    POLYCHAN_HOT_PATH void cancel(write_ticket w) { cancel_one_op(core_, w); }
    POLYCHAN_HOT_PATH bool wait_readable(deadline d) {
        if constexpr (requires { core_.wait_readable(d, one_op); }) {
            return core_.wait_readable(d, one_op);
        } else {
            return core_.wait_readable(d);
        }
    }
    POLYCHAN_HOT_PATH void release(read_ticket r) { release_one_op(core_, r); }
    POLYCHAN_HOT_PATH bool try_evict_oldest(evictor by) { return core_.try_evict_oldest(by); }
    POLYCHAN_HOT_PATH void count_discarded() { core_.count_discarded(); }
    POLYCHAN_HOT_PATH payload_cell<value_type>& payload(write_ticket w) { return core_.payload(w); }
    POLYCHAN_HOT_PATH payload_cell<value_type>& payload(read_ticket r) { return core_.payload(r); }
    POLYCHAN_HOT_PATH void close() { core_.close(); }
    POLYCHAN_HOT_PATH bool is_closed() const { return core_.is_closed(); }
    POLYCHAN_HOT_PATH std::size_t ready_size() const { return core_.ready_size(); }
    POLYCHAN_HOT_PATH bool newer_ready(read_ticket r) const requires requires(const Core& c) { c.newer_ready(r); }
    { return core_.newer_ready(r); }
    POLYCHAN_HOT_PATH std::size_t free_size() const { return core_.free_size(); }
    POLYCHAN_HOT_PATH std::size_t capacity() const { return core_.capacity(); }
    POLYCHAN_HOT_PATH std::uint64_t discarded() const { return core_.discarded(); }

  private:
    Core& core_;
};

} // namespace polychan::detail
