// polychan — storage `memfd` (Linux): the shared_memory segment layout and protocol in an
// anonymous memory file (memfd_create). It has no name in any namespace: a process gets it
// only as a descriptor, handed over a UNIX domain socket (SCM_RIGHTS), so no name can be
// squatted before the creator takes it and none is left behind after a crash: the kernel
// frees the memory when the last descriptor and mapping are gone. Use it through
// polychan/ipc.hpp:
//
//     auto ch = polychan::ipc::create_anonymous<msg>("jobs", 64); // process A
//     ch.send_to(socket);
//     auto ch = polychan::ipc::receive<msg>(socket);              // process B
//
// The creator sizes the memfd and seals it (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), so no
// process can truncate it under another's mapping (which would turn every access into
// SIGBUS). An adopter trusts nothing it is given: the descriptor must be a memfd, sealed
// against shrinking and growing (it adds the seals itself when it still can), at least as
// large as a segment header by fstat before anything is mapped, and then the segment code
// checks every header field, the recorded size against the mapped size included.
#pragma once

#include <polychan/ipc/error.hpp>
#include <polychan/ipc/fd_passing.hpp>
#include <polychan/storage/detail/pshared_primitives.hpp>
#include <polychan/storage/detail/segment.hpp>
#include <polychan/storage/detail/segment_name.hpp>
#include <polychan/storage/detail/segment_region.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polychan::storage {

namespace detail {

/// A memfd segment: created here (create_exclusive) or adopted from a descriptor a peer
/// sent (open). There is no name to open, and nothing to unlink.
class memfd_backend final : public segment_backend {
  public:
    /// The seals every polychan memfd carries.
    static constexpr int required_seals = F_SEAL_SHRINK | F_SEAL_GROW;
    /// The memfd's name (shown in /proc/<pid>/fd and /proc/<pid>/maps) for a channel label.
    static std::string object_name(const std::string& label) { return "polychan." + label; }

    /// A backend that creates a new memfd.
    memfd_backend() = default;
    /// A backend that attaches to `fd`, a descriptor already checked by `inspect`.
    explicit memfd_backend(ipc::unique_fd fd) noexcept : fd_{std::move(fd)}, adopting_{true} {}
    memfd_backend(const memfd_backend&) = delete;
    memfd_backend& operator=(const memfd_backend&) = delete;
    ~memfd_backend() override { close(); }

    /// Checks that `fd` can hold a polychan segment before anything maps it, and returns
    /// the channel label its creator gave it. Seals it against resizing if it is not yet.
    /// `what` names the descriptor in messages ("fd 5").
    static std::string inspect(int fd, const std::string& what) {
        auto fail = [&what](const std::string& why) { refuse(what, why); };
        struct ::stat st {};
        if (::fstat(fd, &st) != 0) fail(std::string{"fstat failed: "} + std::strerror(errno));
        if (!S_ISREG(st.st_mode)) fail("it is not a memfd: it is " + file_kind(st.st_mode));
        int seals = ::fcntl(fd, F_GET_SEALS);
        if (seals < 0) {
            fail(errno == EINVAL ? std::string{"it is not a memfd: a regular file that does not support seals"}
                                 : std::string{"F_GET_SEALS failed: "} + std::strerror(errno));
        }
        std::string const label = label_of(fd, what);
        if ((seals & required_seals) != required_seals) {
            // A creator that did not seal it (and did not forbid sealing): seal it now, so
            // that nobody can shrink it under our mapping from here on.
            if ((seals & F_SEAL_SEAL) != 0 || ::fcntl(fd, F_ADD_SEALS, required_seals) != 0) {
                fail("the memfd is not sealed against shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW) and "
                     "cannot be: a peer could truncate it under this process's mapping");
            }
            seals = ::fcntl(fd, F_GET_SEALS);
            if (seals < 0 || (seals & required_seals) != required_seals) fail("sealing it did not take");
        }
        if ((seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0)
            fail("the memfd is sealed against writing: a channel's processes must write to it");
        // Sealed: the size can no longer change. Only now is it worth checking.
        if (::fstat(fd, &st) != 0) fail(std::string{"fstat failed: "} + std::strerror(errno));
        if (static_cast<std::uint64_t>(st.st_size) < sizeof(segment_header)) {
            fail("the memfd has " + std::to_string(st.st_size) + " bytes, less than the " +
                 std::to_string(sizeof(segment_header)) + "-byte segment header: not a polychan channel");
        }
        return label;
    }

    bool create_exclusive(const std::string& name, std::uint64_t size, unsigned mode) override {
        if (adopting_) return false;
        std::string const object = object_name(name);
        // MFD_NOEXEC_SEAL (Linux 6.3): never executable, and accepted when vm.memfd_noexec
        // forbids executable memfds. Older kernels refuse the flag: then without it.
        constexpr unsigned noexec_seal = 0x0008U;
        int fd = ::memfd_create(object.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING | noexec_seal);
        if (fd < 0 && errno == EINVAL) fd = ::memfd_create(object.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) throw ipc::error("polychan: cannot create " + where(name) + ": " + std::strerror(errno));
        fd_.reset(fd);
        object_ = object;
        auto fail = [&](const std::string& what) {
            int const err = errno;
            fd_.reset();
            throw ipc::error("polychan: cannot " + what + " " + where(name) + ": " + std::strerror(err));
        };
        if (::fchmod(fd, static_cast<mode_t>(mode & 0777)) != 0) fail("set the permissions of");
        if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail("size (" + std::to_string(size) + " bytes)");
        if (::fcntl(fd, F_ADD_SEALS, required_seals | F_SEAL_SEAL) != 0) fail("seal");
        return true;
    }

    /// The adopted descriptor stands for the name. It is given up when its attachment is
    /// (a segment found removed): there is no name to look up a newer one by.
    bool open(const std::string& name) override {
        if (!adopting_) return false;
        object_ = object_name(name);
        if (!fd_) {
            throw ipc::error("polychan: channel '" + name + "': every process attached to " + where(name) +
                             " had detached from it before this one attached: it is gone");
        }
        return true;
    }

    object_info info() const override {
        struct ::stat st {};
        if (!fd_ || ::fstat(fd_.get(), &st) != 0) return {};
        return {static_cast<std::uint32_t>(st.st_uid), static_cast<unsigned>(st.st_mode & 07777),
                static_cast<std::uint64_t>(st.st_size)};
    }

    std::byte* map() override {
        struct ::stat st {};
        if (::fstat(fd_.get(), &st) != 0)
            throw ipc::error("polychan: cannot map memfd '" + object_ + "': fstat: " + std::strerror(errno));
        if (st.st_size <= 0) throw ipc::error("polychan: cannot map memfd '" + object_ + "': it is empty");
        auto const size = static_cast<std::size_t>(st.st_size);
        void* const p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
        if (p == MAP_FAILED) {
            throw ipc::error("polychan: cannot map memfd '" + object_ + "' (" + std::to_string(size) +
                             " bytes) read-write: " + std::strerror(errno));
        }
        base_ = p;
        size_ = size;
        return static_cast<std::byte*>(p);
    }
    std::uint64_t mapped_size() const noexcept override { return size_; }

    void close() noexcept override {
        if (base_ != nullptr) ::munmap(base_, size_);
        base_ = nullptr;
        size_ = 0;
        fd_.reset();
    }

    /// Nothing to remove: the memory goes with the last descriptor and mapping.
    void unlink() noexcept override {}

    std::string where(const std::string& name) const override { return "memfd '" + object_name(name) + "'"; }

    /// The memfd, for sending to a peer (-1 once detached).
    int fd() const noexcept { return fd_.get(); }

  private:
    [[noreturn]] static void refuse(const std::string& what, const std::string& why) {
        throw ipc::error("polychan: cannot adopt " + what + ": " + why);
    }

    static std::string file_kind(mode_t m) {
        if (S_ISSOCK(m)) return "a socket";
        if (S_ISFIFO(m)) return "a pipe";
        if (S_ISCHR(m)) return "a character device";
        if (S_ISBLK(m)) return "a block device";
        if (S_ISDIR(m)) return "a directory";
        return "not a regular file";
    }

    /// "/memfd:polychan.<label> (deleted)" -> label, checked like a channel name.
    static std::string label_of(int fd, const std::string& what) {
        auto fail = [&what](const std::string& why) { refuse(what, why); };
        char link[64];
        char target[512];
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t const n = ::readlink(link, target, sizeof target - 1);
        if (n < 0) fail(std::string{"cannot read its name from /proc/self/fd: "} + std::strerror(errno));
        std::string_view name{target, static_cast<std::size_t>(n)};
        constexpr std::string_view memfd_prefix = "/memfd:", deleted = " (deleted)", ours = "polychan.";
        if (!name.starts_with(memfd_prefix)) fail("it is not a memfd: it is the file '" + std::string{name} + "'");
        name.remove_prefix(memfd_prefix.size());
        if (name.ends_with(deleted)) name.remove_suffix(deleted.size());
        if (!name.starts_with(ours)) {
            fail("it is a memfd named '" + std::string{name.substr(0, 64)} +
                 "', not a polychan channel (those are named 'polychan.<label>')");
        }
        name.remove_prefix(ours.size());
        try {
            validate_channel_name(name);
        } catch (const ipc::error& e) {
            fail(std::string{"its name is not that of a polychan channel: "} + e.what());
        }
        return std::string{name};
    }

    ipc::unique_fd fd_;
    std::string object_; // the memfd's name, for messages
    bool adopting_ = false;
    void* base_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace detail

/// Storage: the shared_memory layout in an anonymous memfd passed between processes as a
/// descriptor; use it via polychan::ipc::create_anonymous / adopt / receive.
struct memfd : detail::pshared_primitives {
    /// The policy's name, recorded in the segment header and checked on attach.
    static constexpr std::string_view name = "memfd";
    /// The capacity is fixed when the segment is created.
    static constexpr bool unbounded = false;
    /// No name: processes find the segment only through a descriptor (see ipc::anonymous_storage).
    static constexpr bool anonymous = true;

    /// One process's attachment to the segment; pass it to the channel's constructor.
    using segment = detail::segment;
    /// A backend that creates a new memfd.
    static std::unique_ptr<detail::segment_backend> make_backend() { return std::make_unique<detail::memfd_backend>(); }
    /// A backend that attaches to `fd` (checked with detail::memfd_backend::inspect first).
    static std::unique_ptr<detail::segment_backend> adopt_backend(ipc::unique_fd fd) {
        return std::make_unique<detail::memfd_backend>(std::move(fd));
    }
    /// The descriptor of an attached segment's backend (one made by this storage).
    static int fd_of(const detail::segment_backend& b) noexcept {
        return static_cast<const detail::memfd_backend&>(b).fd();
    }

    /// Slots and control block laid out in the attached segment.
    template <class Slot, class Control>
    using region = detail::segment_region<Slot, Control>;
};

} // namespace polychan::storage
