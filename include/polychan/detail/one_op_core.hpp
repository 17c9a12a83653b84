// polychan — a sync core as one write() or read() sees it: its claims are made with `one_op`
// (claim.hpp), so that a core that locks may keep its lock from the claim to the publish or
// release that follows at once. Orderings take it as they take the core itself.
#pragma once

#include <polychan/claim.hpp>
#include <polychan/deadline.hpp>
#include <polychan/detail/payload_cell.hpp>
#include <polychan/status.hpp>

#include <cstddef>
#include <cstdint>

namespace polychan::detail {

/// Whether `Core` has claims for one write or read (sync/mutex).
template <class Core>
concept claims_for_one_op = requires(Core& c) {
    c.try_claim_write(one_op);
    c.try_claim_read(one_op);
};

/// `Core` with try_claim_write() and try_claim_read() made with `one_op`; everything else as is.
template <class Core>
class one_op_core {
  public:
    using value_type = typename Core::value_type;
    using write_ticket = typename Core::write_ticket;
    using read_ticket = typename Core::read_ticket;

    explicit one_op_core(Core& core) noexcept : core_{core} {}

    claim<write_ticket> try_claim_write() { return core_.try_claim_write(one_op); }
    claim<read_ticket> try_claim_read() { return core_.try_claim_read(one_op); }

    bool wait_writable(deadline d, wake_on why) { return core_.wait_writable(d, why); }
    status publish(write_ticket w) { return core_.publish(w); }
    void cancel(write_ticket w) { core_.cancel(w); }
    bool wait_readable(deadline d) { return core_.wait_readable(d); }
    void release(read_ticket r) { core_.release(r); }
    bool try_evict_oldest(evictor by) { return core_.try_evict_oldest(by); }
    void count_discarded() { core_.count_discarded(); }
    payload_cell<value_type>& payload(write_ticket w) { return core_.payload(w); }
    payload_cell<value_type>& payload(read_ticket r) { return core_.payload(r); }
    void close() { core_.close(); }
    bool is_closed() const { return core_.is_closed(); }
    std::size_t ready_size() const { return core_.ready_size(); }
    bool newer_ready(read_ticket r) const requires requires(const Core& c) { c.newer_ready(r); }
    { return core_.newer_ready(r); }
    std::size_t free_size() const { return core_.free_size(); }
    std::size_t capacity() const { return core_.capacity(); }
    std::uint64_t discarded() const { return core_.discarded(); }

  private:
    Core& core_;
};

} // namespace polychan::detail
