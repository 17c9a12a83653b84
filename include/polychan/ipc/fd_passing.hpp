// polychan — handing a file descriptor to another process over a connected UNIX domain
// socket (SCM_RIGHTS): how an anonymous (memfd) channel reaches its peers without a name.
//
//     int sv[2];
//     ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);   // before fork, or connect()
//     polychan::ipc::send_fd(sv[0], some_fd);                       // process A
//     polychan::ipc::unique_fd fd = polychan::ipc::receive_fd(sv[1]);  // process B: its own fd
//
// One message carries a 16-byte payload (a magic number and a protocol version) and exactly
// one descriptor. Whatever the peer sends is untrusted: a message that is not a socket's,
// that lacks the magic, carries no descriptor or several, or a peer that closed the socket
// all give an ipc::error saying which, and every descriptor that arrived with a refused
// message is closed (none leaks into this process).
#pragma once

#include <polychan/ipc/error.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace polychan::ipc {

/// An owned file descriptor, closed when the object goes.
class unique_fd {
  public:
    unique_fd() noexcept = default;
    /// Takes ownership of `fd` (-1: none).
    explicit unique_fd(int fd) noexcept : fd_{fd} {}
    unique_fd(unique_fd&& o) noexcept : fd_{std::exchange(o.fd_, -1)} {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    /// The descriptor, still owned by this object.
    int get() const noexcept { return fd_; }
    /// Gives up ownership: the caller closes the returned descriptor.
    int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes the descriptor held (if any) and holds `fd` instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    /// Whether a descriptor is held.
    explicit operator bool() const noexcept { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

namespace detail {

/// The payload that travels with the descriptor.
struct fd_message {
    static constexpr std::uint64_t magic_value = 0x4446'4843'594c'4f50ull; // "POLYCHFD" little-endian
    static constexpr std::uint32_t current_version = 1;
    std::uint64_t magic = magic_value;
    std::uint32_t version = current_version;
    std::uint32_t fd_count = 1;
};
static_assert(sizeof(fd_message) == 16);

[[noreturn]] inline void fd_passing_fail(int socket, const std::string& why) {
    throw ipc::error("polychan: fd passing over socket " + std::to_string(socket) + ": " + why);
}

/// What errno says, in the terms of this protocol.
[[noreturn]] inline void fd_passing_errno(int socket, const char* call, int err) {
    switch (err) {
    case ENOTSOCK:
        fd_passing_fail(socket, "it is not a socket");
    case EBADF:
        fd_passing_fail(socket, "it is not an open file descriptor");
    case EPIPE:
    case ECONNRESET:
        fd_passing_fail(socket, "the peer closed the socket");
    case ENOTCONN:
    case EDESTADDRREQ:
        fd_passing_fail(socket, "the socket is not connected");
    default:
        fd_passing_fail(socket, std::string{call} + " failed: " + std::strerror(err));
    }
}

/// Throws unless `socket` is a UNIX domain socket; returns its type (SOCK_STREAM, ...).
inline int unix_socket_type(int socket) {
    int domain = 0, type = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(socket, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) fd_passing_errno(socket, "getsockopt", errno);
    if (domain != AF_UNIX)
        fd_passing_fail(socket, "it is not a UNIX domain socket (domain " + std::to_string(domain) +
                                    "): descriptors travel only over AF_UNIX");
    len = sizeof type;
    if (::getsockopt(socket, SOL_SOCKET, SO_TYPE, &type, &len) != 0) fd_passing_errno(socket, "getsockopt", errno);
    return type;
}

/// Waits until `socket` is readable; `timeout` < 0 waits for ever.
inline void wait_readable(int socket, std::chrono::milliseconds timeout) {
    if (timeout.count() < 0) return;
    auto const until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto const left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        pollfd p{socket, POLLIN, 0};
        int const n = ::poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
        if (n > 0) return;
        if (n == 0) fd_passing_fail(socket, "nothing arrived within " + std::to_string(timeout.count()) + " ms");
        if (errno != EINTR) fd_passing_errno(socket, "poll", errno);
    }
}

inline std::string hex64(std::uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

} // namespace detail

/// Sends `fd` to the process at the other end of the connected UNIX domain socket `socket`.
/// The peer gets its own descriptor for the same open file; `fd` stays open here.
inline void send_fd(int socket, int fd) {
    if (fd < 0) detail::fd_passing_fail(socket, "no descriptor to send (fd " + std::to_string(fd) + ")");
    (void)detail::unix_socket_type(socket);
    detail::fd_message const m{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    auto const* bytes = reinterpret_cast<const char*>(&m);
    std::size_t sent = 0;
    while (sent < sizeof m) {
        iovec iov{const_cast<char*>(bytes + sent), sizeof m - sent};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (sent == 0) { // the descriptor rides on the first byte
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
        }
        ssize_t const n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EBADF && sent == 0 && ::fcntl(fd, F_GETFD) < 0)
                detail::fd_passing_fail(socket, "fd " + std::to_string(fd) + " to send is not open");
            detail::fd_passing_errno(socket, "sendmsg", errno);
        }
        sent += static_cast<std::size_t>(n);
    }
}

/// Receives one descriptor sent with send_fd over `socket`; waits at most `timeout` (a
/// negative timeout: for ever). The descriptor is close-on-exec and owned by the result.
inline unique_fd receive_fd(int socket, std::chrono::milliseconds timeout = std::chrono::milliseconds{-1}) {
    int const type = detail::unix_socket_type(socket);
    detail::wait_readable(socket, timeout);
    detail::fd_message m{};
    m.magic = 0;
    // Room for a few descriptors, so that a peer sending several is told apart from one
    // sending too many to count (MSG_CTRUNC: the kernel drops those that do not fit).
    constexpr std::size_t room = 4;
    alignas(cmsghdr) char control[CMSG_SPACE(room * sizeof(int))] = {};
    iovec iov{&m, sizeof m};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) detail::fd_passing_errno(socket, "recvmsg", errno);

    // Take ownership of whatever arrived first, so that every refusal below closes it.
    std::vector<unique_fd> fds;
    bool other_control = false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
            std::size_t const count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                int fd = -1;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.emplace_back(fd);
            }
        } else {
            other_control = true;
        }
    }
    if (n == 0 && fds.empty())
        detail::fd_passing_fail(socket, type == SOCK_STREAM ? "the peer closed the socket before sending a descriptor"
                                                            : "the peer closed the socket (or sent an empty message)");
    if ((msg.msg_flags & MSG_CTRUNC) != 0)
        detail::fd_passing_fail(socket, "the message carried more than " + std::to_string(room) +
                                            " descriptors (control data truncated), expected 1");
    auto got = static_cast<std::size_t>(n);
    // A stream may split the payload; the rest follows without control data.
    while (type == SOCK_STREAM && got < sizeof m) {
        detail::wait_readable(socket, timeout);
        ssize_t const more = ::recv(socket, reinterpret_cast<char*>(&m) + got, sizeof m - got, 0);
        if (more == 0)
            detail::fd_passing_fail(socket, "the peer closed the socket after " + std::to_string(got) + " bytes of a " +
                                                std::to_string(sizeof m) + "-byte message");
        if (more < 0) {
            if (errno == EINTR) continue;
            detail::fd_passing_errno(socket, "recv", errno);
        }
        got += static_cast<std::size_t>(more);
    }
    if (got != sizeof m || (msg.msg_flags & MSG_TRUNC) != 0)
        detail::fd_passing_fail(socket, "a message of " +
                                            std::string{(msg.msg_flags & MSG_TRUNC) != 0 ? "more than " : ""} +
                                            std::to_string(got) + " bytes, expected " + std::to_string(sizeof m) +
                                            ": not a polychan descriptor message");
    if (m.magic != detail::fd_message::magic_value)
        detail::fd_passing_fail(socket, "wrong magic: the message starts with " + detail::hex64(m.magic) +
                                            ", a polychan descriptor message with " +
                                            detail::hex64(detail::fd_message::magic_value));
    if (m.version != detail::fd_message::current_version)
        detail::fd_passing_fail(socket, "protocol version " + std::to_string(m.version) + ", this process speaks " +
                                            std::to_string(detail::fd_message::current_version));
    if (fds.empty())
        detail::fd_passing_fail(socket, std::string{"no descriptor in the message"} +
                                            (other_control ? " (only other control data)" : ""));
    if (fds.size() != 1 || m.fd_count != 1)
        detail::fd_passing_fail(socket, "the message carried " + std::to_string(fds.size()) +
                                            " descriptors (and says " + std::to_string(m.fd_count) + "), expected 1");
    return std::move(fds.front());
}

} // namespace polychan::ipc
