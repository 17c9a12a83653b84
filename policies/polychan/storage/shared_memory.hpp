// polychan — storage `shared_memory`: slots and control block in a named POSIX shared-memory
// object (/dev/shm/polychan.<name>, via Boost.Interprocess), so that processes can share a
// channel. Use it through polychan/ipc.hpp, which names, creates and attaches segments.
#pragma once

#include <polychan/storage/detail/pshared_primitives.hpp>
#include <polychan/storage/detail/segment.hpp>
#include <polychan/storage/detail/segment_region.hpp>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>

namespace polychan::storage {

namespace detail {

/// A POSIX shared-memory object: shm_open(O_CREAT | O_EXCL, mode), exact permissions via
/// fchmod (Boost.Interprocess does this, so the umask does not interfere).
class posix_shm_backend final : public segment_backend {
  public:
    static std::string object_name(const std::string& name) { return "polychan." + name; }

    bool create_exclusive(const std::string& name, std::uint64_t size, unsigned mode) override {
        namespace bip = boost::interprocess;
        name_ = object_name(name);
        bip::permissions perm;
        perm.set_permissions(static_cast<int>(mode & 0777));
        try {
            shm_.emplace(bip::create_only, name_.c_str(), bip::read_write, perm);
        } catch (const bip::interprocess_exception& e) {
            if (e.get_error_code() == bip::already_exists_error) return false;
            throw ipc::error("polychan: cannot create " + where(name) + ": " + e.what());
        }
        try {
            shm_->truncate(static_cast<bip::offset_t>(size));
        } catch (const bip::interprocess_exception& e) {
            unlink();
            close();
            throw ipc::error("polychan: cannot size " + where(name) + " to " + std::to_string(size) +
                             " bytes: " + e.what());
        }
        return true;
    }

    bool open(const std::string& name) override {
        namespace bip = boost::interprocess;
        name_ = object_name(name);
        try {
            shm_.emplace(bip::open_only, name_.c_str(), bip::read_write);
        } catch (const bip::interprocess_exception& e) {
            if (e.get_error_code() == bip::not_found_error) return false;
            throw ipc::error("polychan: cannot open " + where(name) + ": " + e.what());
        }
        return true;
    }

    object_info info() const override {
        struct ::stat st {};
        if (::fstat(shm_->get_mapping_handle().handle, &st) != 0) return {};
        return {static_cast<std::uint32_t>(st.st_uid), static_cast<unsigned>(st.st_mode & 07777),
                static_cast<std::uint64_t>(st.st_size)};
    }

    std::byte* map() override {
        namespace bip = boost::interprocess;
        try {
            region_.emplace(*shm_, bip::read_write);
        } catch (const bip::interprocess_exception& e) {
            throw ipc::error("polychan: cannot map " + name_ + ": " + e.what());
        }
        return static_cast<std::byte*>(region_->get_address());
    }
    std::uint64_t mapped_size() const noexcept override { return region_ ? region_->get_size() : 0; }

    void close() noexcept override {
        region_.reset();
        shm_.reset();
    }

    void unlink() noexcept override {
        if (!shm_) return;
        // Only if the name still refers to our object: after a reclaim, it may be a new one.
        struct ::stat mine {
        }, named{};
        std::string const path = "/dev/shm/" + name_;
        if (::fstat(shm_->get_mapping_handle().handle, &mine) != 0) return;
        if (::stat(path.c_str(), &named) == 0 && (named.st_ino != mine.st_ino || named.st_dev != mine.st_dev)) return;
        boost::interprocess::shared_memory_object::remove(name_.c_str());
    }

    std::string where(const std::string& name) const override { return "/dev/shm/" + object_name(name); }

  private:
    std::string name_;
    std::optional<boost::interprocess::shared_memory_object> shm_;
    std::optional<boost::interprocess::mapped_region> region_;
};

} // namespace detail

/// Storage: a named POSIX shared-memory segment with process-shared primitives; use it via polychan::ipc.
struct shared_memory : detail::pshared_primitives {
    /// The policy's name, recorded in the segment header and checked on attach.
    static constexpr std::string_view name = "shared_memory";
    /// The capacity is fixed when the segment is created.
    static constexpr bool unbounded = false;

    /// One process's attachment to a named segment; pass it to the channel's constructor.
    using segment = detail::segment;
    /// The kind of segment: a POSIX shared-memory object.
    static std::unique_ptr<detail::segment_backend> make_backend() {
        return std::make_unique<detail::posix_shm_backend>();
    }

    /// Slots and control block laid out in the attached segment.
    template <class Slot, class Control>
    using region = detail::segment_region<Slot, Control>;
};

} // namespace polychan::storage
