// polychan — one process's attachment to a named segment: create (exclusively) or open,
// check the header, register as an owner, and on detach remove the segment if this was the
// last owner. The memory mechanism (POSIX shm, System V) is a `segment_backend`.
//
// Lifetime protocol (all owner-table changes under the header's robust attach_lock):
//
//   create:  O_EXCL create -> size -> map -> header{state=initialising} -> register owner
//            -> [region builds the control block, sync core links its slots]
//            -> mark_initialised(): state = ready (release)  -- openers may attach from here
//   open:    open -> check owner uid -> wait size >= header -> map -> wait state != initialising
//            -> check every header field -> lock: state == removed? retry : sweep dead owners,
//               register owner
//   detach:  lock: deregister, sweep dead owners; none left -> state = removed, unlink name
//   create/open_or_create over an existing segment whose owners are all dead (or whose
//   creator died initialising it): lock: state = removed, unlink, create afresh.
//
// A segment is never unlinked while a live process is registered in it, and an opener that
// finds state == removed under the lock knows the name now refers to something else.
#pragma once

#include <polychan/ipc/error.hpp>
#include <polychan/ipc/options.hpp>
#include <polychan/storage/detail/process_liveness.hpp>
#include <polychan/storage/detail/segment_header.hpp>
#include <polychan/storage/detail/segment_name.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <unistd.h>

namespace polychan::storage::detail {

/// The memory mechanism behind a segment. One backend object handles one segment.
class segment_backend {
  public:
    struct object_info {
        std::uint32_t owner_uid = 0;
        unsigned mode = 0;
        std::uint64_t size = 0;
    };

    virtual ~segment_backend() = default;
    /// Creates `name` exclusively (fails if it exists) with `size` zeroed bytes and exactly
    /// `mode` permissions. False if the name exists.
    virtual bool create_exclusive(const std::string& name, std::uint64_t size, unsigned mode) = 0;
    /// Opens an existing `name`; false if there is none.
    virtual bool open(const std::string& name) = 0;
    virtual object_info info() const = 0;
    /// Maps the whole object read-write; the mapping lives until close().
    virtual std::byte* map() = 0;
    virtual std::uint64_t mapped_size() const noexcept = 0;
    /// Unmaps and closes; the named object stays.
    virtual void close() noexcept = 0;
    /// Removes the name if it still refers to the object this backend has open.
    virtual void unlink() noexcept = 0;
    /// Where the segment lives, for messages: "/dev/shm/polychan.x", "System V key 0x..".
    virtual std::string where(const std::string& name) const = 0;
};

class segment {
  public:
    enum class mode { create, open, open_or_create };

    struct request {
        std::string name;
        mode how = mode::open;
        std::uint64_t capacity = 0; // create; also checked on open when capacity_given
        bool capacity_given = false;
        ipc::options options{};
        channel_identity identity{};
    };

    segment(std::unique_ptr<segment_backend> backend, request r) : backend_{std::move(backend)}, req_{std::move(r)} {
        validate_channel_name(req_.name);
        if (req_.how != mode::open && req_.capacity == 0) fail("a channel needs a capacity of at least 1");
        if (req_.capacity > 0xFFFF'FFFEu) fail("capacity exceeds 2^32 - 2 slots");
    }
    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;
    ~segment() { detach(); }

    /// Creates or opens the segment for a sync core whose slot and control block have layout
    /// `l`. Called once, by the storage region.
    void attach(const memory_layout& l) {
        layout_ = l;
        auto const give_up = std::chrono::steady_clock::now() + req_.options.attach_timeout;
        for (int round = 0;; ++round) {
            if (req_.how != mode::open && try_create(l)) return;
            switch (try_open(l, give_up)) {
            case opened::attached:
                return;
            case opened::missing:
                if (req_.how == mode::open) fail("no such channel (" + backend_->where(req_.name) + ")");
                break; // removed between our create and open: create again
            case opened::retry:
                break;
            }
            if (std::chrono::steady_clock::now() > give_up)
                fail("gave up after " + std::to_string(round + 1) + " attempts: the name keeps changing hands");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

    /// True if this process created the segment: it alone initialises the shared state.
    bool created() const noexcept { return created_; }
    /// The creator has finished initialising: others may attach.
    void mark_initialised() noexcept {
        header().state.store(static_cast<std::uint32_t>(segment_state::ready), std::memory_order_release);
        initialised_ = true;
    }

    std::byte* base() const noexcept { return base_; }
    segment_header& header() const noexcept { return *std::launder(reinterpret_cast<segment_header*>(base_)); }
    /// Checked values: what this process computed and found equal in the header.
    std::uint64_t capacity() const noexcept { return capacity_; }
    std::uint64_t control_offset() const noexcept { return geometry_.control_offset; }
    std::uint64_t slots_offset() const noexcept { return geometry_.slots_offset; }
    const std::string& name() const noexcept { return req_.name; }
    /// Whether attaching found owners that had died: their unfinished work (claimed slots)
    /// is for the sync core to reclaim.
    bool found_dead_owners() const noexcept { return found_dead_owners_; }

    /// Takes an exclusive role (the one writer or reader of a single-writer/-reader policy).
    /// Throws if a live process holds it; returns true if it took over from a dead holder.
    bool acquire_role(segment_header::role r) {
        std::lock_guard<robust_mutex> lock{header().attach_lock};
        process_record& holder = header().roles[r];
        bool const had_holder = holder.pid != 0;
        if (had_holder && process_alive(holder.pid, holder.start_time)) {
            fail(std::string{"the "} + (r == segment_header::writer_role ? "writer" : "reader") +
                 " role is taken by pid " + std::to_string(holder.pid) + " and the '" +
                 std::string{req_.identity.sync} + "' sync policy allows only one");
        }
        holder = self_;
        return had_holder;
    }
    void release_role(segment_header::role r) noexcept {
        if (base_ == nullptr) return;
        std::lock_guard<robust_mutex> lock{header().attach_lock};
        process_record& holder = header().roles[r];
        if (holder.pid == self_.pid && holder.start_time == self_.start_time) holder = process_record{};
    }

    /// What in the header differs from what this process checked on attach, or "" if nothing.
    /// Attached processes use their own checked values, so a changed field misleads nobody;
    /// it still means a peer wrote where it must not, and the segment is not to be trusted.
    std::string header_fault() const {
        // A sleeper calls this every 50 ms and a waiter before each sleep: fields are compared
        // raw, and only the first that differs is formatted.
        segment_header const& h = header();
        std::string fault;
        auto expect = [&](std::string_view field, const auto& now, const auto& checked, bool as_hex = false) {
            if (!fault.empty() || now == checked) return;
            std::ostringstream m;
            m << "header field '" << field << "' changed to ";
            if constexpr (std::is_integral_v<std::decay_t<decltype(now)>>) {
                if (as_hex) m << std::hex << "0x";
            }
            m << now << " (attached with " << (as_hex ? "0x" : "") << checked << ")";
            fault = m.str();
        };
        expect("magic", h.magic, segment_header::magic_value, true);
        expect("layout version", h.layout_version, segment_header::current_layout_version);
        auto const state = h.state.load(std::memory_order_relaxed);
        if (state != static_cast<std::uint32_t>(segment_state::removed))
            expect("state", state, static_cast<std::uint32_t>(segment_state::ready));
        expect("segment size", h.segment_size, geometry_.total);
        expect("channel name", h.channel_name.view(), std::string_view{req_.name});
        expect("storage policy", h.storage.view(), req_.identity.storage);
        expect("ordering policy", h.ordering.view(), req_.identity.ordering);
        expect("sync policy", h.sync.view(), req_.identity.sync);
        expect("item type", h.type_hash, req_.identity.type_hash, true);
        expect("item size", h.type_size, req_.identity.type_size);
        expect("item alignment", h.type_align, req_.identity.type_align);
        expect("capacity", h.capacity, capacity_);
        expect("slot size", h.slot_size, layout_.slot_size);
        expect("slot alignment", h.slot_align, layout_.slot_align);
        expect("control block size", h.control_size, layout_.control_size);
        expect("control block alignment", h.control_align, layout_.control_align);
        expect("control block offset", h.control_offset, geometry_.control_offset);
        expect("slots offset", h.slots_offset, geometry_.slots_offset);
        return fault;
    }

    [[noreturn]] void fail(const std::string& why) const {
        throw ipc::error("polychan: channel '" + req_.name + "': " + why);
    }

  private:
    enum class opened { attached, missing, retry };

    bool try_create(const memory_layout& l) {
        geometry_ = segment_geometry::of(l, req_.capacity);
        if (geometry_.total == 0) fail("capacity " + std::to_string(req_.capacity) + " is too large");
        if (!backend_->create_exclusive(req_.name, geometry_.total, req_.options.mode)) return false;
        created_ = true;
        base_ = backend_->map();
        self_ = process_record{this_process_id(), 0, this_process_start_time()};
        auto* h = ::new (static_cast<void*>(base_)) segment_header{};
        h->segment_size = geometry_.total;
        h->creator = self_;
        h->channel_name.assign(req_.name);
        h->storage.assign(req_.identity.storage);
        h->ordering.assign(req_.identity.ordering);
        h->sync.assign(req_.identity.sync);
        h->type_name.assign(req_.identity.type_name);
        h->type_hash = req_.identity.type_hash;
        h->type_size = req_.identity.type_size;
        h->type_align = req_.identity.type_align;
        h->capacity = req_.capacity;
        h->slot_size = l.slot_size;
        h->slot_align = l.slot_align;
        h->control_size = l.control_size;
        h->control_align = l.control_align;
        h->control_offset = geometry_.control_offset;
        h->slots_offset = geometry_.slots_offset;
        capacity_ = req_.capacity;
        std::lock_guard<robust_mutex> lock{h->attach_lock};
        (void)register_self(); // an empty table: always room
        return true;
    }

    opened try_open(const memory_layout& l, std::chrono::steady_clock::time_point give_up) {
        if (!backend_->open(req_.name)) return opened::missing;
        auto const info = backend_->info();
        if (info.owner_uid != ::geteuid() && !req_.options.allow_other_owner) {
            backend_->close();
            fail("the segment is owned by uid " + std::to_string(info.owner_uid) + ", this process runs as uid " +
                 std::to_string(::geteuid()) + " (set options.allow_other_owner to attach anyway)");
        }
        // A creator sizes the object right after creating it: wait for that.
        auto info_now = info;
        while (info_now.size < sizeof(segment_header)) {
            if (std::chrono::steady_clock::now() > give_up) {
                backend_->close();
                fail("the segment is still empty (" + std::to_string(info_now.size) +
                     " bytes): its creator has not sized it");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            info_now = backend_->info();
        }
        base_ = backend_->map();
        segment_header& h = header();
        if (std::uint64_t const magic = h.magic; magic != 0 && magic != segment_header::magic_value) {
            close_mapping();
            check_field(req_.name, "magic", hex(magic), hex(segment_header::magic_value));
        }
        // Wait for the creator to finish (or to be found dead).
        for (;;) {
            auto const s = static_cast<segment_state>(h.state.load(std::memory_order_acquire));
            if (s == segment_state::ready) break;
            if (s == segment_state::removed) {
                close_mapping();
                return opened::retry;
            }
            if (s != segment_state::initialising) {
                close_mapping();
                fail("unknown segment state " + std::to_string(static_cast<std::uint32_t>(s)));
            }
            if (h.creator.pid != 0 && !process_alive(h.creator.pid, h.creator.start_time)) {
                if (req_.how == mode::open) {
                    std::uint32_t const creator = h.creator.pid;
                    close_mapping();
                    fail("its creator (pid " + std::to_string(creator) + ") died while initialising it");
                }
                return reclaim();
            }
            if (std::chrono::steady_clock::now() > give_up) {
                std::uint32_t const creator = h.creator.pid;
                close_mapping();
                fail("still being initialised by pid " + std::to_string(creator) + " after " +
                     std::to_string(req_.options.attach_timeout.count()) + " ms");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        self_ = process_record{this_process_id(), 0, this_process_start_time()};
        try {
            check_field(req_.name, "magic", hex(h.magic), hex(segment_header::magic_value));
            check_field(req_.name, "layout version", h.layout_version, segment_header::current_layout_version);
            check_field(req_.name, "segment size", h.segment_size, backend_->mapped_size());
        } catch (...) {
            close_mapping();
            throw;
        }
        if (req_.how != mode::open && !any_owner_alive()) return reclaim();
        if (req_.how == mode::create) {
            std::string const who = live_owner_text();
            close_mapping();
            fail("it already exists and is in use by " + who + " (" + backend_->where(req_.name) + ")");
        }
        try {
            check_field(req_.name, "channel name", h.channel_name.view(), std::string_view{req_.name});
            check_identity(h, req_.name, req_.identity);
            if (req_.capacity_given) check_field(req_.name, "capacity", h.capacity, req_.capacity);
            check_field(req_.name, "slot size", h.slot_size, l.slot_size);
            check_field(req_.name, "slot alignment", h.slot_align, l.slot_align);
            check_field(req_.name, "control block size", h.control_size, l.control_size);
            check_field(req_.name, "control block alignment", h.control_align, l.control_align);
            // Only now is the capacity trusted: it must reproduce the segment size exactly.
            geometry_ = segment_geometry::of(l, h.capacity);
            check_field(req_.name, "control block offset", h.control_offset, geometry_.control_offset);
            check_field(req_.name, "slots offset", h.slots_offset, geometry_.slots_offset);
            check_field(req_.name, "segment size for the capacity", backend_->mapped_size(), geometry_.total);
        } catch (...) {
            close_mapping();
            throw;
        }
        capacity_ = h.capacity;
        std::unique_lock<robust_mutex> lock{h.attach_lock};
        if (h.state.load(std::memory_order_acquire) == static_cast<std::uint32_t>(segment_state::removed)) {
            if (h.attach_lock.previous_owner_died()) backend_->unlink(); // the remover died before unlinking
            h.attach_lock.state_repaired();
            lock.unlock(); // before unmapping: the lock lives in the mapping
            close_mapping();
            return opened::retry;
        }
        h.attach_lock.state_repaired(); // register_self() sweeps whatever a dead holder left
        if (!register_self()) {
            lock.unlock();
            close_mapping();
            fail("all " + std::to_string(segment_header::max_owners) + " owner records are in use by live processes");
        }
        return opened::attached;
    }

    /// Every owner of the mapped segment is dead: unlink it so that it can be created afresh.
    opened reclaim() {
        {
            segment_header& h = header();
            std::lock_guard<robust_mutex> lock{h.attach_lock};
            h.attach_lock.state_repaired();
            bool const creator_dead = !process_alive(h.creator.pid, h.creator.start_time);
            bool const initialising =
                h.state.load(std::memory_order_acquire) == static_cast<std::uint32_t>(segment_state::initialising);
            bool const removed =
                h.state.load(std::memory_order_acquire) == static_cast<std::uint32_t>(segment_state::removed);
            if (!removed && ((initialising && creator_dead) || (!initialising && !any_owner_alive()))) {
                h.state.store(static_cast<std::uint32_t>(segment_state::removed), std::memory_order_release);
                backend_->unlink();
            }
        }
        close_mapping();
        return opened::retry;
    }

    std::string live_owner_text() const {
        for (auto const& o : header().owners)
            if (o.pid != 0 && process_alive(o.pid, o.start_time)) return "pid " + std::to_string(o.pid);
        return "a process";
    }

    bool any_owner_alive() const {
        for (auto const& o : header().owners)
            if (o.pid != 0 && process_alive(o.pid, o.start_time)) return true;
        return false;
    }

    // Under attach_lock. False if every owner record is taken by a live process.
    bool register_self() {
        segment_header& h = header();
        for (auto& o : h.owners) {
            if (o.pid != 0 && !process_alive(o.pid, o.start_time)) {
                o = process_record{};
                found_dead_owners_ = true;
            }
        }
        for (std::size_t i = 0; i < segment_header::max_owners; ++i) {
            if (h.owners[i].pid == 0) {
                h.owners[i] = self_;
                owner_index_ = i;
                registered_ = true;
                return true;
            }
        }
        return false;
    }

    void detach() noexcept {
        if (base_ == nullptr) return;
        if (!registered_ && !created_) { // never counted as an owner: removing is not ours to decide
            close_mapping();
            return;
        }
        segment_header& h = header();
        try {
            std::lock_guard<robust_mutex> lock{h.attach_lock};
            h.attach_lock.state_repaired();
            if (owner_index_ < segment_header::max_owners) {
                process_record& mine = h.owners[owner_index_];
                if (mine.pid == self_.pid && mine.start_time == self_.start_time) mine = process_record{};
            }
            bool last = true;
            for (auto& o : h.owners) {
                if (o.pid == 0) continue;
                if (process_alive(o.pid, o.start_time)) {
                    last = false;
                } else {
                    o = process_record{};
                }
            }
            if (last || (created_ && !initialised_)) {
                h.state.store(static_cast<std::uint32_t>(segment_state::removed), std::memory_order_release);
                backend_->unlink();
            }
        } catch (...) {
            // lock() failing (ENOTRECOVERABLE) leaves the segment to be reclaimed later.
        }
        close_mapping();
    }

    void close_mapping() noexcept {
        backend_->close();
        base_ = nullptr;
        owner_index_ = segment_header::max_owners;
        registered_ = false;
    }

    std::unique_ptr<segment_backend> backend_;
    request req_;
    std::byte* base_ = nullptr;
    memory_layout layout_{};
    segment_geometry geometry_{};
    std::uint64_t capacity_ = 0;
    process_record self_{};
    std::size_t owner_index_ = segment_header::max_owners;
    bool registered_ = false;
    bool created_ = false;
    bool initialised_ = false;
    bool found_dead_owners_ = false;
};

} // namespace polychan::storage::detail
