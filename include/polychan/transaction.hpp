// polychan — zero-copy transactions: fill or use an item in place inside its slot.
//
//   if (auto w = ch.begin_write(); w) { fill(*w); w.commit(); }   // uncommitted: slot returned
//   if (auto r = ch.begin_read(); r) { use(*r); }                 // released on scope exit
#pragma once

#include <polychan/detail/hot_path.hpp>
#include <polychan/status.hpp>

#include <stdexcept>
#include <utility>

namespace polychan {

/// Thrown when a transaction that holds no slot is dereferenced or committed.
class bad_transaction : public std::logic_error {
  public:
    explicit bad_transaction(const char* what) : std::logic_error(what) {}
};

namespace detail {
/// What the two transaction kinds share: a core, a ticket and whether a slot is held.
template <class Core, class Ticket>
class transaction_base {
  public:
    /// The item type.
    using value_type = typename Core::value_type;

    transaction_base(transaction_base&& o) noexcept
        : core_{std::exchange(o.core_, nullptr)}, ticket_{o.ticket_}, result_{o.result_} {}
    transaction_base& operator=(transaction_base&&) = delete;
    transaction_base(const transaction_base&) = delete;

    /// ok while the transaction holds a slot; otherwise why it got none (closed, timeout, ...).
    polychan::status status() const noexcept { return result_; }
    /// True while the transaction holds a slot.
    explicit operator bool() const noexcept { return core_ != nullptr; }

    /// The item in the slot; throws bad_transaction if no slot is held.
    value_type& operator*() const { return item(); }
    /// The item in the slot; throws bad_transaction if no slot is held.
    value_type* operator->() const { return &item(); }

  protected:
    transaction_base(Core* core, Ticket t, polychan::status s) noexcept : core_{core}, ticket_{t}, result_{s} {}
    ~transaction_base() = default;

    value_type& item() const {
        if (!core_) throw bad_transaction("polychan: transaction holds no slot");
        return core_->payload(ticket_).get();
    }

    Core* core_;
    Ticket ticket_;
    polychan::status result_;
};
} // namespace detail

/// A claimed write slot with a constructed item. commit() publishes it; destruction without
/// commit destroys the item and returns the slot to the pool.
template <class Core>
class write_transaction : public detail::transaction_base<Core, typename Core::write_ticket> {
    using base = detail::transaction_base<Core, typename Core::write_ticket>;

  public:
    /// Made by channel::begin_write(): `core` is null when no slot was granted, `s` says why.
    write_transaction(Core* core, typename Core::write_ticket t, polychan::status s) noexcept : base{core, t, s} {}
    write_transaction(write_transaction&&) noexcept = default;
    /// Without commit(): destroys the item and returns the slot; nothing is delivered.
    ~write_transaction() { abandon(); }

    /// Publishes the item: ok, or closed if the channel was closed meanwhile (the item is
    /// then destroyed, not delivered).
    polychan::status commit() {
        if (!this->core_) throw bad_transaction("polychan: commit() without a claimed slot");
        this->result_ = std::exchange(this->core_, nullptr)->publish(this->ticket_);
        return this->result_;
    }

  private:
    void abandon() noexcept {
        if (!this->core_) return;
        this->core_->payload(this->ticket_).destroy();
        this->core_->cancel(this->ticket_);
    }
};

/// A claimed read slot. The item is destroyed and the slot released on destruction.
template <class Core>
class read_transaction : public detail::transaction_base<Core, typename Core::read_ticket> {
    using base = detail::transaction_base<Core, typename Core::read_ticket>;

  public:
    /// Made by channel::begin_read(): `core` is null when no slot was granted, `s` says why.
    read_transaction(Core* core, typename Core::read_ticket t, polychan::status s) noexcept : base{core, t, s} {}
    read_transaction(read_transaction&&) noexcept = default;
    /// Destroys the item and releases the slot.
    POLYCHAN_HOT_PATH ~read_transaction() {
        if (!this->core_) return;
        this->core_->payload(this->ticket_).destroy();
        this->core_->release(this->ticket_);
    }
};

} // namespace polychan
