// polychan — named channels between processes.
//
//     struct sample { std::uint64_t id; double value; };      // trivially copyable
//
//     // process A                                          // process B
//     auto ch = polychan::ipc::create<sample>("sensor", 64); auto ch = polychan::ipc::open<sample>("sensor");
//     auto w = ch.writer();                                  auto r = ch.reader();
//     w.write(sample{1, 0.5});                               sample s; while (r.read(s)) use(s);
//     w.close();
//
// A channel lives in a segment named "polychan.<name>" (/dev/shm for the default
// `shared_memory` storage, a System V key for `sysv_shared_memory`). `open` checks every
// header field against this process's channel type and throws ipc::error naming the field
// and both values. The last process to detach cleanly removes the segment; a segment whose
// recorded processes are all dead is reclaimed by the next create / open_or_create.
//
// Anonymous channels (Linux, storage `memfd`) have no name at all: the creator hands the
// segment to its peers as a file descriptor over a UNIX domain socket, and the kernel frees
// it when the last process lets go, crash or not.
//
//     auto ch = polychan::ipc::create_anonymous<sample>(64);  auto ch = polychan::ipc::receive<sample>(sock);
//     ch.send_to(sock);                                       // the same checks as open
// See docs/ipc.md.
#pragma once

#include <polychan/channel.hpp>
#include <polychan/detail/hot_path.hpp>
#include <polychan/ipc/error.hpp>
#include <polychan/ipc/fd_passing.hpp>
#include <polychan/ipc/options.hpp>
#include <polychan/storage/memfd.hpp>
#include <polychan/storage/shared_memory.hpp>

#include <cxxabi.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <fcntl.h>

namespace polychan::ipc {

/// Items that can cross a process boundary: their bytes are their value (no pointers into
/// one process's heap are copied by a copy constructor, no destructor must run).
template <class T>
concept shareable_item = std::is_object_v<T> && std::is_trivially_copyable_v<T>;

/// Storages whose segments have no name (storage::memfd): created with create_anonymous,
/// attached with adopt / receive, never with create / open / open_or_create / remove.
template <class S>
concept anonymous_storage = requires {
    requires S::anonymous;
};

namespace detail {

/// The compiler's name for T, readable: what a mismatch message shows.
template <class T>
std::string type_name() {
    int status = 0;
    char* demangled = abi::__cxa_demangle(typeid(T).name(), nullptr, nullptr, &status);
    std::string name = (status == 0 && demangled != nullptr) ? demangled : typeid(T).name();
    std::free(demangled);
    return name;
}

/// What the header must say for channel<T, Ordering, Sync> on Storage. The type hash is
/// of the mangled name (the same for GCC and Clang), or of the user's tag.
template <class T, class Ordering, class Sync, class Storage>
storage::detail::channel_identity identity(const options& opt) {
    storage::detail::channel_identity id;
    id.storage = Storage::name;
    id.ordering = Ordering::name;
    id.sync = Sync::name;
    id.type_name = opt.type_tag.empty() ? type_name<T>() : "tag '" + std::string{opt.type_tag} + "'";
    id.type_hash = storage::detail::fnv1a(opt.type_tag.empty() ? std::string_view{typeid(T).name()}
                                                               : std::string_view{opt.type_tag});
    id.type_size = sizeof(T);
    id.type_align = alignof(T);
    return id;
}

} // namespace detail

/// One process's attachment to a named channel. Hands out writer and reader ends; the
/// attachment (and with the last one in any process, the segment) lives as long as the
/// handle or any end obtained from it.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex,
          storage_policy Storage = storage::shared_memory>
class channel {
    static_assert(Storage::process_shared, "polychan::ipc: the storage policy must be a shared-memory one");

  public:
    /// The item type.
    using value_type = T;
    /// The channel composed in the segment: the full single-process API.
    using local_channel = polychan::channel<T, Storage, Ordering, Sync>;
    /// What create/open/open_or_create ask the storage for: name, mode, capacity, identity.
    using request = storage::detail::segment::request;

    /// Attaches (creating the segment if the request says so); made by create/open/open_or_create.
    explicit channel(request req) : channel{std::move(req), Storage::make_backend()} {}
    /// The same through a given backend (adopt: one holding a descriptor received from a peer).
    channel(request req, std::unique_ptr<storage::detail::segment_backend> backend)
        : state_{std::make_shared<state>(std::move(req), std::move(backend))} {}

    /// The writing end of this process: the channel's write API.
    class writer_end;
    /// The reading end of this process: the channel's read API.
    class reader_end;

    /// The writing end. Single-writer sync policies (spsc) refuse a second live writer.
    writer_end writer() { return writer_end{state_}; }
    /// The reading end. Single-reader sync policies (spsc) refuse a second live reader.
    reader_end reader() { return reader_end{state_}; }

    /// The channel's name.
    const std::string& name() const noexcept { return state_->seg.name(); }
    /// Whether this attachment created the segment.
    bool created() const noexcept { return state_->seg.created(); }
    /// The number of slots in the segment.
    std::size_t capacity() const { return state_->ch.capacity(); }
    /// The composed channel itself: every operation of polychan::channel, no role checks.
    local_channel& local() noexcept { return state_->ch; }
    /// What this process found wrong in the segment, or "" while it is sound. Once it is not,
    /// every operation of this process on the channel ends with status::corrupt.
    std::string corruption() const { return state_->ch.core().corruption(); }

    /// (anonymous storages) The segment's descriptor, owned by this attachment: pass it to
    /// send_fd, or dup it to keep it beyond the attachment.
    int fd() const noexcept requires anonymous_storage<Storage> { return Storage::fd_of(*state_->backend); }
    /// (anonymous storages) Sends the segment to the process at the other end of the connected
    /// UNIX domain socket `socket`, which attaches with ipc::receive.
    void send_to(int socket) const requires anonymous_storage<Storage> { send_fd(socket, fd()); }

  private:
    struct state {
        state(request req, std::unique_ptr<storage::detail::segment_backend> b)
            : backend{b.get()}, seg{std::move(b), std::move(req)}, ch{seg} {
            // The channel is constructed, so its shared state is complete: open it to others
            // (sync cores that follow storage::initialise_shared_state have done so already).
            if (seg.created()) seg.mark_initialised();
            if (seg.found_dead_owners()) recover();
        }
        void recover() {
            if constexpr (requires { ch.core().recover_abandoned(); }) ch.core().recover_abandoned();
        }
        /// This process now holds a role a dead process held: the core undoes what that side
        /// left half done (spsc: an open write claim, slots held by read transactions).
        void took_over(storage::detail::segment_header::role r) {
            if constexpr (requires { ch.core().take_over_side(true); }) {
                ch.core().take_over_side(r == storage::detail::segment_header::writer_role);
            } else {
                recover();
            }
        }
        storage::detail::segment_backend* backend; // owned by seg
        typename Storage::segment seg;             // before ch: detaches after the channel is gone
        local_channel ch;
    };

    /// Holds an exclusive role for single-writer/-reader policies while the end lives.
    class role_hold {
      public:
        role_hold(std::shared_ptr<state> s, storage::detail::segment_header::role r, bool exclusive)
            : s_{std::move(s)}, role_{r}, held_{exclusive} {
            if (held_ && s_->seg.acquire_role(role_)) s_->took_over(role_); // from a dead process
        }
        role_hold(role_hold&& o) noexcept : s_{std::move(o.s_)}, role_{o.role_}, held_{std::exchange(o.held_, false)} {}
        role_hold& operator=(role_hold&&) = delete;
        ~role_hold() {
            if (held_ && s_) s_->seg.release_role(role_);
        }
        state& get() const noexcept { return *s_; }

      private:
        std::shared_ptr<state> s_;
        storage::detail::segment_header::role role_;
        bool held_;
    };

    std::shared_ptr<state> state_;
};

template <shareable_item T, ordering_policy Ordering, sync_policy Sync, storage_policy Storage>
class channel<T, Ordering, Sync, Storage>::writer_end {
  public:
    /// Takes the writer role (exclusive for single-writer sync policies).
    explicit writer_end(std::shared_ptr<state> s)
        : hold_{std::move(s), storage::detail::segment_header::writer_role, Sync::single_writer} {}

    /// As channel::write.
    template <class... A>
    POLYCHAN_HOT_PATH status write(A&&... a) {
        return ch().write(std::forward<A>(a)...);
    }
    /// As channel::emplace.
    template <class... A>
    POLYCHAN_HOT_PATH status emplace(A&&... a) {
        return ch().emplace(std::forward<A>(a)...);
    }
    /// As channel::try_write.
    template <class... A>
    POLYCHAN_HOT_PATH status try_write(A&&... a) {
        return ch().try_write(std::forward<A>(a)...);
    }
    /// As channel::write_for.
    template <class... A>
    status write_for(A&&... a) {
        return ch().write_for(std::forward<A>(a)...);
    }
    /// As channel::write_until.
    template <class... A>
    status write_until(A&&... a) {
        return ch().write_until(std::forward<A>(a)...);
    }
    /// As channel::begin_write: a zero-copy write transaction in the segment.
    template <class... A>
    auto begin_write(A&&... a) {
        return ch().begin_write(std::forward<A>(a)...);
    }
    /// As channel::try_begin_write.
    template <class... A>
    auto try_begin_write(A&&... a) {
        return ch().try_begin_write(std::forward<A>(a)...);
    }
    /// As channel::begin_write_for.
    template <class... A>
    auto begin_write_for(A&&... a) {
        return ch().begin_write_for(std::forward<A>(a)...);
    }
    /// No more items: readers drain what is left, then see closed (in every process).
    void close() { ch().close(); }
    /// Whether the channel was closed (by any process).
    bool is_closed() const { return ch().is_closed(); }
    /// Items ever published into the channel, including by earlier (crashed) writers: with
    /// one writer, where a restarted writer resumes its sequence.
    std::uint64_t committed() const requires requires(typename local_channel::core_type& c) { c.published(); }
    { return ch().core().published(); }
    /// As channel::free_size.
    std::size_t free_size() const { return ch().free_size(); }
    /// The number of slots.
    std::size_t capacity() const { return ch().capacity(); }
    /// Items the ordering dropped, counted in the segment (all processes).
    std::uint64_t discarded_count() const { return ch().discarded_count(); }

  private:
    POLYCHAN_HOT_PATH local_channel& ch() const noexcept { return hold_.get().ch; }
    role_hold hold_;
};

template <shareable_item T, ordering_policy Ordering, sync_policy Sync, storage_policy Storage>
class channel<T, Ordering, Sync, Storage>::reader_end {
  public:
    /// Takes the reader role (exclusive for single-reader sync policies).
    explicit reader_end(std::shared_ptr<state> s)
        : hold_{std::move(s), storage::detail::segment_header::reader_role, Sync::single_reader} {}

    /// As channel::read: false once closed and drained.
    POLYCHAN_HOT_PATH bool read(T& out) { return ch().read(out); }
    /// As channel::read(): nullopt once closed and drained.
    POLYCHAN_HOT_PATH std::optional<T> read() { return ch().read(); }
    /// As channel::try_read.
    POLYCHAN_HOT_PATH status try_read(T& out) { return ch().try_read(out); }
    /// As channel::read_for.
    template <class D>
    status read_for(T& out, D d) {
        return ch().read_for(out, d);
    }
    /// As channel::read_until.
    template <class P>
    status read_until(T& out, P t) {
        return ch().read_until(out, t);
    }
    /// As channel::begin_read: use an item in place in the segment.
    auto begin_read() { return ch().begin_read(); }
    /// As channel::try_begin_read.
    auto try_begin_read() { return ch().try_begin_read(); }
    /// As channel::begin_read_for.
    template <class D>
    auto begin_read_for(D d) {
        return ch().begin_read_for(d);
    }
    /// Range-for: reads until the channel is closed and drained.
    auto begin() { return ch().begin(); }
    /// The end of a range-for.
    auto end() { return ch().end(); }
    /// Closes the channel for every process: writers get closed, readers drain.
    void close() { ch().close(); }
    /// Whether the channel was closed (by any process).
    bool is_closed() const { return ch().is_closed(); }
    /// As channel::ready_size.
    std::size_t ready_size() const { return ch().ready_size(); }
    /// The number of slots.
    std::size_t capacity() const { return ch().capacity(); }
    /// Items the ordering dropped, counted in the segment (all processes).
    std::uint64_t discarded_count() const { return ch().discarded_count(); }

  private:
    POLYCHAN_HOT_PATH local_channel& ch() const noexcept { return hold_.get().ch; }
    role_hold hold_;
};

namespace detail {
template <class T, class Ordering, class Sync, class Storage>
storage::detail::segment::request make_request(std::string_view name, storage::detail::segment::mode how,
                                               std::size_t capacity, bool capacity_given, const options& opt) {
    storage::detail::segment::request req;
    req.name = std::string{name};
    req.how = how;
    req.capacity = capacity;
    req.capacity_given = capacity_given;
    req.options = opt;
    req.identity = identity<T, Ordering, Sync, Storage>(opt);
    return req;
}

template <class T, class Ordering, class Sync, class Storage>
channel<T, Ordering, Sync, Storage> attach(std::string_view name, storage::detail::segment::mode how,
                                           std::size_t capacity, bool capacity_given, const options& opt) {
    static_assert(!anonymous_storage<Storage>, "polychan::ipc: an anonymous storage (memfd) has no name: create "
                                               "it with ipc::create_anonymous, attach with ipc::adopt or ipc::receive");
    return channel<T, Ordering, Sync, Storage>{
        make_request<T, Ordering, Sync, Storage>(name, how, capacity, capacity_given, opt)};
}

/// Attaches to the memfd segment `fd` (owned from here on; `what` names it in messages):
/// the checks of open.
template <class T, class Ordering, class Sync>
channel<T, Ordering, Sync, storage::memfd> adopt(unique_fd fd, const std::string& what, std::size_t capacity,
                                                 bool capacity_given, const options& opt) {
    std::string const label = storage::detail::memfd_backend::inspect(fd.get(), what);
    return {make_request<T, Ordering, Sync, storage::memfd>(label, storage::detail::segment::mode::open, capacity,
                                                            capacity_given, opt),
            storage::memfd::adopt_backend(std::move(fd))};
}

/// This process's own descriptor for `fd`: an adopted channel never closes the caller's.
inline unique_fd duplicate(int fd) {
    int const copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        throw error("polychan: cannot adopt fd " + std::to_string(fd) + ": " +
                    (errno == EBADF ? std::string{"it is not an open file descriptor"} : std::strerror(errno)));
    }
    return unique_fd{copy};
}

inline std::string received_over(int socket) { return "the descriptor received over socket " + std::to_string(socket); }
} // namespace detail

/// Creates channel `name` with room for `capacity` items. Fails if a live channel of that
/// name exists; one left by processes that all died is removed and created afresh.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex,
          storage_policy Storage = storage::shared_memory>
channel<T, Ordering, Sync, Storage> create(std::string_view name, std::size_t capacity, const options& opt = {}) {
    return detail::attach<T, Ordering, Sync, Storage>(name, storage::detail::segment::mode::create, capacity, true,
                                                      opt);
}

/// Opens existing channel `name`, whatever its capacity. Checks every header field.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex,
          storage_policy Storage = storage::shared_memory>
channel<T, Ordering, Sync, Storage> open(std::string_view name, const options& opt = {}) {
    return detail::attach<T, Ordering, Sync, Storage>(name, storage::detail::segment::mode::open, 0, false, opt);
}

/// Opens existing channel `name` and also checks that its capacity is `capacity`.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex,
          storage_policy Storage = storage::shared_memory>
channel<T, Ordering, Sync, Storage> open(std::string_view name, std::size_t capacity, const options& opt = {}) {
    return detail::attach<T, Ordering, Sync, Storage>(name, storage::detail::segment::mode::open, capacity, true, opt);
}

/// Opens channel `name` if it exists (its capacity must be `capacity`), else creates it.
/// Lets a reader start before its writer, and a writer restart after a crash.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex,
          storage_policy Storage = storage::shared_memory>
channel<T, Ordering, Sync, Storage> open_or_create(std::string_view name, std::size_t capacity,
                                                   const options& opt = {}) {
    return detail::attach<T, Ordering, Sync, Storage>(name, storage::detail::segment::mode::open_or_create, capacity,
                                                      true, opt);
}

/// Removes the name of channel `name` whatever its state (administration and tests):
/// processes attached keep their mapping; new ones will not find it. False if none existed.
template <storage_policy Storage = storage::shared_memory>
bool remove(std::string_view name) {
    static_assert(!anonymous_storage<Storage>, "polychan::ipc: an anonymous storage (memfd) has no name to remove");
    storage::detail::validate_channel_name(name);
    auto backend = Storage::make_backend();
    if (!backend->open(std::string{name})) return false;
    backend->unlink();
    backend->close();
    return true;
}

// ---- anonymous channels (Linux memfd): no name, passed as a descriptor ----------------------

/// A channel in an anonymous memfd segment.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
using anonymous_channel = channel<T, Ordering, Sync, storage::memfd>;

/// Creates an anonymous channel with room for `capacity` items, labelled `label` in messages
/// and in /proc/<pid>/fd ("memfd:polychan.<label>"; the rules of a channel name). Nobody
/// else can reach it until this process sends it: `ch.send_to(socket)`.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> create_anonymous(std::string_view label, std::size_t capacity,
                                                      const options& opt = {}) {
    return anonymous_channel<T, Ordering, Sync>{detail::make_request<T, Ordering, Sync, storage::memfd>(
        label, storage::detail::segment::mode::create, capacity, true, opt)};
}

/// The same, labelled "anonymous".
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> create_anonymous(std::size_t capacity, const options& opt = {}) {
    return create_anonymous<T, Ordering, Sync>("anonymous", capacity, opt);
}

/// Attaches to the anonymous channel whose segment is descriptor `fd` (received from a
/// peer; this process's own copy is kept, `fd` stays the caller's). Runs every check of
/// open: a descriptor that is not a sealed memfd at least a header long, or whose header
/// differs from this channel type, throws ipc::error naming what is wrong.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> adopt(int fd, const options& opt = {}) {
    return detail::adopt<T, Ordering, Sync>(detail::duplicate(fd), "fd " + std::to_string(fd), 0, false, opt);
}

/// The same, and also checks that its capacity is `capacity`.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> adopt(int fd, std::size_t capacity, const options& opt = {}) {
    return detail::adopt<T, Ordering, Sync>(detail::duplicate(fd), "fd " + std::to_string(fd), capacity, true, opt);
}

/// Receives an anonymous channel sent with `send_to` over the connected UNIX domain socket
/// `socket` (waits for it) and attaches to it as adopt does.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> receive(int socket, const options& opt = {}) {
    return detail::adopt<T, Ordering, Sync>(receive_fd(socket), detail::received_over(socket), 0, false, opt);
}

/// The same, and also checks that its capacity is `capacity`.
template <shareable_item T, ordering_policy Ordering = ordering::block, sync_policy Sync = sync::mutex>
anonymous_channel<T, Ordering, Sync> receive(int socket, std::size_t capacity, const options& opt = {}) {
    return detail::adopt<T, Ordering, Sync>(receive_fd(socket), detail::received_over(socket), capacity, true, opt);
}

} // namespace polychan::ipc
