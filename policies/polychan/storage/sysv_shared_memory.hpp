// polychan — storage `sysv_shared_memory`: the same segment layout and protocol as
// `shared_memory`, in a System V shared-memory segment (shmget/shmat, via Boost.Interprocess's
// XSI support), as in the classic multiprocessing design. Use it through polychan/ipc.hpp:
//
//     auto ch = polychan::ipc::create<msg, ordering::block, sync::mutex, storage::sysv_shared_memory>("jobs", 64);
//
// A System V segment has a numeric key, not a name: the key is a hash of "polychan.<name>",
// and the header records the name, so two names that collide on a key are told apart on open.
// `ipcs -m` lists the segments; the permission bits are exactly options.mode (no umask).
#pragma once

#include <polychan/storage/detail/pshared_primitives.hpp>
#include <polychan/storage/detail/segment.hpp>
#include <polychan/storage/detail/segment_region.hpp>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/xsi_key.hpp>
#include <boost/interprocess/xsi_shared_memory.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/ipc.h>
#include <sys/shm.h>

namespace polychan::storage {

namespace detail {

class sysv_shm_backend final : public segment_backend {
  public:
    /// The key of channel `name`: never IPC_PRIVATE (0), always positive.
    static key_t key_of(const std::string& name) {
        auto const h = fnv1a("polychan." + name);
        auto const k = static_cast<key_t>((h ^ (h >> 32)) & 0x7FFF'FFFFu);
        return k == 0 ? 1 : k;
    }

    bool create_exclusive(const std::string& name, std::uint64_t size, unsigned mode) override {
        namespace bip = boost::interprocess;
        bip::permissions perm;
        perm.set_permissions(static_cast<int>(mode & 0777));
        try {
            shm_.emplace(bip::create_only, bip::xsi_key(key_of(name)), static_cast<std::size_t>(size), perm);
        } catch (const bip::interprocess_exception& e) {
            if (e.get_error_code() == bip::already_exists_error) return false;
            throw ipc::error("polychan: cannot create " + where(name) + ": " + e.what());
        }
        return true;
    }

    bool open(const std::string& name) override {
        namespace bip = boost::interprocess;
        try {
            shm_.emplace(bip::open_only, bip::xsi_key(key_of(name)));
        } catch (const bip::interprocess_exception& e) {
            if (e.get_error_code() == bip::not_found_error) return false;
            throw ipc::error("polychan: cannot open " + where(name) + ": " + e.what());
        }
        return true;
    }

    object_info info() const override {
        struct ::shmid_ds ds {};
        if (::shmctl(shm_->get_shmid(), IPC_STAT, &ds) != 0) return {};
        return {static_cast<std::uint32_t>(ds.shm_perm.uid), static_cast<unsigned>(ds.shm_perm.mode & 0777),
                static_cast<std::uint64_t>(ds.shm_segsz)};
    }

    std::byte* map() override {
        namespace bip = boost::interprocess;
        try {
            region_.emplace(*shm_, bip::read_write);
        } catch (const bip::interprocess_exception& e) {
            throw ipc::error(std::string{"polychan: cannot attach System V segment: "} + e.what());
        }
        return static_cast<std::byte*>(region_->get_address());
    }
    std::uint64_t mapped_size() const noexcept override { return region_ ? region_->get_size() : 0; }

    void close() noexcept override {
        region_.reset();
        shm_.reset();
    }

    // By id, not by key: it can only ever remove the segment this backend has open.
    void unlink() noexcept override {
        if (shm_) boost::interprocess::xsi_shared_memory::remove(shm_->get_shmid());
    }

    std::string where(const std::string& name) const override {
        char buf[64];
        std::snprintf(buf, sizeof buf, "System V key 0x%08x", static_cast<unsigned>(key_of(name)));
        return buf;
    }

  private:
    std::optional<boost::interprocess::xsi_shared_memory> shm_;
    std::optional<boost::interprocess::mapped_region> region_;
};

} // namespace detail

/// Storage: the shared_memory layout in a System V segment keyed by the channel name; use it via polychan::ipc.
struct sysv_shared_memory : detail::pshared_primitives {
    /// The policy's name, recorded in the segment header and checked on attach.
    static constexpr std::string_view name = "sysv_shared_memory";
    /// The capacity is fixed when the segment is created.
    static constexpr bool unbounded = false;

    /// One process's attachment to a named segment; pass it to the channel's constructor.
    using segment = detail::segment;
    /// The kind of segment: System V (shmget/shmat).
    static std::unique_ptr<detail::segment_backend> make_backend() {
        return std::make_unique<detail::sysv_shm_backend>();
    }

    /// Slots and control block laid out in the attached segment.
    template <class Slot, class Control>
    using region = detail::segment_region<Slot, Control>;
};

} // namespace polychan::storage
