// polychan fuzz target — a hostile or broken peer scribbles on a live channel's segment.
//
// Why: every byte of a shared segment is writable by every process attached to it, so a
// channel must survive a peer that writes garbage into the header, the sync core's control
// block or the slots' bookkeeping words. Survive means: an attach is refused with
// ipc::error, an operation reports a polychan::status (`corrupt` included), but nothing
// crashes, reads or writes out of bounds, hits undefined behaviour, hangs, or leaves a
// segment, a descriptor or a mapping behind. Unit tests check the cases someone thought
// of; this target lets libFuzzer look for the others (ASan + UBSan, built with clang).
//
// One input, one channel (docs/ipc.md, "Fuzzing"):
//
//   byte 0     composition: storage (shared_memory, memfd) x ordering (4) x sync (3)
//   byte 1     bits 0-2 capacity - 1 | bits 3-5 items written first | bit 6 hold a write
//              transaction across the scribbling | bit 7 hold a read transaction across it
//   byte 2     bits 0-4 number of patches | bit 5 the second handle takes the writer end |
//              bit 6 ... the reader end | bit 7 the first handle drops its ends first
//   patches    [offset lo, offset hi, length] + length (1..8) bytes, written at offset
//              modulo the segment size through a separate mapping (the hostile peer's)
//   the rest   one byte per operation (at most 48): bits 0-2 try_write, try_read,
//              write_for / read_for (200 us), try_begin_write (commit or abandon),
//              try_begin_read, sizes, close | bit 3 through the second handle | bits 4-5
//              variant; bits 7-6 = 10: one more patch (next bytes) while both are attached;
//              = 11: a third attachment (open_or_create / adopt) writes, reads, detaches
//
// Then: create it (write a few items), scribble, attach a second time (ipc::open, or
// ipc::adopt of the memfd), run the operations through both handles, detach everything.
// After each input the harness checks that no segment name, descriptor or mapping is left.
//
// NOT fuzzed, and why: the bytes of the pthread mutexes in the segment (the header's
// attach_lock and the mutex sync core's lock, the first member of its control block) are
// restored after each patch. Garbage in a pthread mutex's lock word makes pthread_mutex_lock
// wait for ever, exactly as if a live peer held the lock: a peer that can write the segment
// can always deny service that way (so can one that simply stops inside a critical
// section), and it is not memory unsafety. Everything else in the segment is fair game,
// but for the known findings stepped around below (none at present).
#include <polychan/ipc.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/detail/process_liveness.hpp>
#include <polychan/storage/detail/segment_header.hpp>
#include <polychan/storage/memfd.hpp>
#include <polychan/storage/shared_memory.hpp>
#include <polychan/sync/mutex.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace ipc = polychan::ipc;
using polychan::status;
using polychan::storage::detail::segment_header;
using namespace std::chrono_literals;

/// The item: 16 bytes whose second word is derived from the first, so a torn or never
/// written item can be told from a real one (counted, not asserted: a patch may have hit it).
struct item {
    std::uint64_t value;
    std::uint64_t check;
    static item make(std::uint64_t v) { return {v, v ^ 0x5bd1e9955bd1e995ull}; }
    bool intact() const { return check == (value ^ 0x5bd1e9955bd1e995ull); }
};

/// The input, consumed front to back; zeros once it runs out.
class input {
  public:
    input(const std::uint8_t* data, std::size_t size) : data_{data}, size_{size} {}
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    bool empty() const { return pos_ >= size_; }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

// ---- what happened, for POLYCHAN_FUZZ_STATS=1 (printed at exit) ---------------------------
struct stats {
    std::map<std::string, unsigned long> counts;
    ~stats() {
        if (std::getenv("POLYCHAN_FUZZ_STATS") == nullptr) return;
        for (auto const& [what, n] : counts) std::fprintf(stderr, "polychan-fuzz: %10lu  %s\n", n, what.c_str());
    }
};
stats& tally() {
    static stats s;
    return s;
}
void count(const std::string& what) { ++tally().counts[what]; }
/// The first words of an ipc::error's message, without the channel's name: its kind.
std::string kind_of(const std::exception& e) {
    std::string_view m = e.what();
    if (auto p = m.find("': "); p != std::string_view::npos) m.remove_prefix(p + 3);
    auto cut = m.find_first_of(":(0123456789'");
    return std::string{m.substr(0, cut == std::string_view::npos ? m.size() : cut)};
}

/// POLYCHAN_FUZZ_TRACE=1: print the geometry and every patch (to read a reproducer).
bool tracing() {
    static bool const on = std::getenv("POLYCHAN_FUZZ_TRACE") != nullptr;
    return on;
}

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "polychan-fuzz: FINDING: %s\n", what.c_str());
    std::abort();
}

// ---- what a process has open: nothing may be left by an input -----------------------------
std::size_t open_descriptors() {
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) ++n;
        ::closedir(d);
    }
    return n;
}
bool maps_a_segment() {
    std::ifstream maps{"/proc/self/maps"};
    for (std::string line; std::getline(maps, line);)
        if (line.find("polychan.fuzzseg-") != std::string::npos) return true;
    return false;
}

/// Channel names: unique per process and input; the tag (POLYCHAN_FUZZ_TAG) lets the CTest
/// driver find whatever a crashed run left in /dev/shm.
std::string next_name() {
    static std::string const tag = [] {
        char const* t = std::getenv("POLYCHAN_FUZZ_TAG");
        return std::string{t != nullptr && *t != '\0' ? t : "x"};
    }();
    static unsigned long n = 0;
    return "fuzzseg-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// ---- the hostile peer's own mapping of the segment ----------------------------------------
class peer_view {
  public:
    explicit peer_view(int fd) {
        struct ::stat st {};
        if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(segment_header)))
            finding("the segment is smaller than its header right after creation");
        size_ = static_cast<std::size_t>(st.st_size);
        void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) finding("cannot map the segment as a peer");
        base_ = static_cast<std::uint8_t*>(p);
    }
    peer_view(const peer_view&) = delete;
    peer_view& operator=(const peer_view&) = delete;
    ~peer_view() { ::munmap(base_, size_); }
    std::uint8_t* base() const { return base_; }
    std::size_t size() const { return size_; }
    segment_header& header() const { return *reinterpret_cast<segment_header*>(base_); }

  private:
    std::uint8_t* base_ = nullptr;
    std::size_t size_ = 0;
};

/// A byte range of the segment that patches must leave as it was (restored after each one).
struct kept_range {
    std::size_t offset;
    std::size_t size;
};

/// The pthread mutexes' bytes (see the header comment).
template <class Sync>
std::vector<kept_range> pthread_mutex_bytes(const peer_view& v) {
    segment_header const& h = v.header();
    auto const attach_lock = static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(&h.attach_lock) - v.base());
    std::vector<kept_range> kept{{attach_lock, sizeof(pthread_mutex_t)}};
    if constexpr (std::is_same_v<Sync, polychan::sync::mutex>) {
        // The mutex core's control block starts with its robust mutex (sync/mutex.hpp).
        // Check that it still does: an unlocked mutex of the same kind (glibc's layout; the
        // robust-list links may differ once it has been used).
        std::size_t const control = h.control_offset;
        polychan::storage::detail::robust_mutex const fresh;
        pthread_mutex_t in_segment;
        if (control + sizeof(pthread_mutex_t) > v.size()) finding("no room for the mutex core's control block");
        std::memcpy(&in_segment, v.base() + control, sizeof in_segment);
        pthread_mutex_t const& expected = *reinterpret_cast<const pthread_mutex_t*>(&fresh);
        if (in_segment.__data.__kind != expected.__data.__kind || in_segment.__data.__lock != 0)
            finding("the mutex core's control block no longer starts with its pthread mutex: update the harness");
        kept.push_back({control, sizeof(pthread_mutex_t)});
    }
    return kept;
}

// ---- known findings in the sync cores, skipped until they are fixed -------------------------
// Reproducers in tests/fuzz/crashes/ (tests/fuzz/README.md). While a finding stands, its skip
// goes here (and POLYCHAN_FUZZ_KNOWN=1 fuzzes everything; a UBSan finding would be listed in
// tests/fuzz/known_findings.supp instead). None stands now: every byte but the pthread
// mutexes' is fuzzed, for every sync policy.
template <class Sync>
void keep_known_findings(const peer_view&, std::vector<kept_range>&) {}

/// The hostile peer: its own mapping of the segment, and patches written through it. The
/// kept ranges are found on the pristine header, before the first patch.
template <class Sync>
class hostile_peer {
  public:
    explicit hostile_peer(int fd) : fd_{fd}, view_{check(fd)}, kept_{pthread_mutex_bytes<Sync>(view_)} {
        keep_known_findings<Sync>(view_, kept_);
    }
    hostile_peer(const hostile_peer&) = delete;
    hostile_peer& operator=(const hostile_peer&) = delete;
    ~hostile_peer() { ::close(fd_); }

    const peer_view& view() const { return view_; }

    /// One patch from the input: offset (2 bytes, modulo the size), length - 1, bytes.
    void patch(input& in) {
        std::vector<std::vector<std::uint8_t>> saved;
        for (auto const& k : kept_) saved.emplace_back(view_.base() + k.offset, view_.base() + k.offset + k.size);
        std::size_t const at = (in.byte() | std::size_t{in.byte()} << 8) % view_.size();
        std::size_t const n = (in.byte() & 7u) + 1;
        if (tracing()) std::fprintf(stderr, "polychan-fuzz: patch at %zu:", at);
        for (std::size_t b = 0; b < n && at + b < view_.size(); ++b) {
            view_.base()[at + b] = in.byte();
            if (tracing()) std::fprintf(stderr, " %02x", view_.base()[at + b]);
        }
        if (tracing()) std::fprintf(stderr, "\n");
        for (std::size_t i = 0; i < kept_.size(); ++i)
            std::memcpy(view_.base() + kept_[i].offset, saved[i].data(), saved[i].size());
    }

  private:
    static int check(int fd) {
        if (fd < 0) finding("cannot open the segment as a peer");
        return fd;
    }
    int fd_;
    peer_view view_;
    std::vector<kept_range> kept_;
};

// ---- storages: create, attach a second time, look at the segment as a peer -----------------
template <class Storage>
struct storage_ops;

template <>
struct storage_ops<polychan::storage::shared_memory> {
    template <class O, class S>
    static auto create(const std::string& name, std::size_t cap) {
        return ipc::create<item, O, S, polychan::storage::shared_memory>(name, cap);
    }
    template <class O, class S, class Ch>
    static auto open(const std::string& name, Ch&, const ipc::options& opt) {
        return ipc::open<item, O, S, polychan::storage::shared_memory>(name, opt);
    }
    template <class O, class S, class Ch>
    static auto reattach(const std::string& name, std::size_t cap, Ch&, const ipc::options& opt) {
        return ipc::open_or_create<item, O, S, polychan::storage::shared_memory>(name, cap, opt);
    }
    template <class Ch>
    static int peer_fd(const std::string& name, Ch&) {
        return ::shm_open(("/polychan." + name).c_str(), O_RDWR | O_CLOEXEC, 0);
    }
    /// After everything detached: the name must be gone, unless the (patched) owner table
    /// names a process that is alive, which keeps a segment by design. Removed either way.
    static void check_removed(const std::string& name) {
        std::string const object = "/polychan." + name;
        int const fd = ::shm_open(object.c_str(), O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) return;
        bool kept_by_design = false;
        {
            peer_view v{fd};
            for (auto const& o : v.header().owners)
                if (o.pid != 0 && polychan::storage::detail::process_alive(o.pid, o.start_time)) kept_by_design = true;
        }
        ::close(fd);
        ::shm_unlink(object.c_str());
        if (!kept_by_design) finding("segment " + object + " left behind with no live owner recorded");
        count("segment kept: a live pid in the patched owner table");
    }
};

template <>
struct storage_ops<polychan::storage::memfd> {
    template <class O, class S>
    static auto create(const std::string& name, std::size_t cap) {
        return ipc::create_anonymous<item, O, S>(name, cap);
    }
    template <class O, class S, class Ch>
    static auto open(const std::string&, Ch& first, const ipc::options& opt) {
        return ipc::adopt<item, O, S>(first.fd(), opt);
    }
    template <class O, class S, class Ch>
    static auto reattach(const std::string&, std::size_t cap, Ch& first, const ipc::options& opt) {
        return ipc::adopt<item, O, S>(first.fd(), cap, opt);
    }
    template <class Ch>
    static int peer_fd(const std::string&, Ch& first) {
        return ::fcntl(first.fd(), F_DUPFD_CLOEXEC, 0);
    }
    static void check_removed(const std::string&) {} // no name; descriptors are counted
};

// ---- one input ------------------------------------------------------------------------------
template <class Ch>
struct handle {
    std::optional<Ch> ch;
    std::optional<typename Ch::writer_end> w;
    std::optional<typename Ch::reader_end> r;
    bool saw_corrupt = false;
    /// Counts an operation's status; `corrupt` must come with a corruption() text (checked at the end).
    status note(const char* op, status s) {
        count(std::string{op} + ": " + std::string{polychan::to_string(s)});
        saw_corrupt = saw_corrupt || s == status::corrupt;
        return s;
    }
};

/// Runs `f`, counting an ipc::error by kind: the outcome a hostile peer may cause. Any other
/// exception escapes to libFuzzer, which reports it as a crash.
template <class F>
void guarded(const char* where, F&& f) {
    try {
        f();
    } catch (const ipc::error& e) {
        count(std::string{where} + ": ipc::error: " + kind_of(e));
    }
}

void consume(const item& it) { count(it.intact() ? "read an intact item" : "read a garbled item"); }

template <class Storage, class Ordering, class Sync>
void run(input& in) {
    using ops = storage_ops<Storage>;
    using channel = ipc::channel<item, Ordering, Sync, Storage>;

    std::uint8_t const shape = in.byte();
    std::uint8_t const plan = in.byte();
    std::size_t const capacity = (shape & 7u) + 1;
    unsigned const prewrites = (shape >> 3) & 7u;
    unsigned const patches = plan & 31u;
    std::string const name = next_name();
    std::uint64_t seq = 0;

    {
        handle<channel> first, second;
        first.ch.emplace(ops::template create<Ordering, Sync>(name, capacity));
        first.w.emplace(first.ch->writer());
        first.r.emplace(first.ch->reader());
        for (unsigned i = 0; i < prewrites; ++i) first.note("prewrite", first.w->try_write(item::make(seq++)));

        // Transactions held while the peer scribbles (spsc allows one of each).
        std::optional<decltype(first.w->try_begin_write())> held_write;
        std::optional<decltype(first.r->try_begin_read())> held_read;
        if (shape & 0x40u)
            first.note("hold write", held_write.emplace(first.w->try_begin_write(item::make(seq++))).status());
        if (shape & 0x80u) first.note("hold read", held_read.emplace(first.r->try_begin_read()).status());

        // The hostile peer: patches through its own mapping, pthread mutexes restored.
        hostile_peer<Sync> peer{ops::peer_fd(name, *first.ch)};
        if (tracing()) {
            segment_header const& h = peer.view().header();
            std::fprintf(
                stderr, "polychan-fuzz: %s/%s/%s capacity %zu, %zu bytes: control %llu+%llu, slots %llu+%zux%llu\n",
                Storage::name.data(), Ordering::name.data(), Sync::name.data(), capacity, peer.view().size(),
                static_cast<unsigned long long>(h.control_offset), static_cast<unsigned long long>(h.control_size),
                static_cast<unsigned long long>(h.slots_offset), capacity,
                static_cast<unsigned long long>(h.slot_size));
        }
        for (unsigned k = 0; k < patches && !in.empty(); ++k) peer.patch(in);

        guarded("held write", [&] {
            if (held_write && *held_write) {
                (*held_write)->value ^= 0; // touch the slot
                first.note("held commit", held_write->commit());
            }
            held_write.reset();
        });
        guarded("held read", [&] {
            if (held_read && *held_read) consume(**held_read);
            held_read.reset();
        });

        // A second process attaching to the scribbled segment (open checks every field).
        if (plan & 0x80u) {
            first.w.reset();
            first.r.reset();
        }
        ipc::options opt;
        opt.attach_timeout = 5ms; // a patched state word must not stall every input
        guarded("open", [&] {
            second.ch.emplace(ops::template open<Ordering, Sync>(name, *first.ch, opt));
            count("open: attached");
        });
        if (second.ch) {
            if (plan & 0x20u) guarded("second writer", [&] { second.w.emplace(second.ch->writer()); });
            if (plan & 0x40u) guarded("second reader", [&] { second.r.emplace(second.ch->reader()); });
        }

        // Operations through both handles, bounded in number and in time.
        for (unsigned k = 0; k < 48 && !in.empty(); ++k) {
            std::uint8_t const op = in.byte();
            if ((op & 0xC0u) == 0x80u) { // the peer scribbles again, with both handles attached
                peer.patch(in);
                continue;
            }
            if ((op & 0xC0u) == 0xC0u) { // a third process attaches (open_or_create / adopt), uses it, detaches
                handle<channel> third;
                guarded("reattach", [&] {
                    third.ch.emplace(ops::template reattach<Ordering, Sync>(name, capacity, *first.ch, opt));
                    count(third.ch->created() ? "reattach: created afresh" : "reattach: attached");
                    if (op & 1u) third.w.emplace(third.ch->writer());
                    if (op & 2u) third.r.emplace(third.ch->reader());
                    if (third.w) third.note("third try_write", third.w->try_write(item::make(seq++)));
                    item it{};
                    if (third.r && third.note("third try_read", third.r->try_read(it)) == status::ok) consume(it);
                });
                if (third.ch && third.saw_corrupt && third.ch->corruption().empty())
                    finding("an operation returned status::corrupt, yet corruption() says nothing");
                continue;
            }
            handle<channel>& h = (op & 8u) ? second : first;
            unsigned const variant = (op >> 4) & 3u;
            guarded("op", [&] {
                switch (op & 7u) {
                case 0:
                    if (h.w) h.note("try_write", h.w->try_write(item::make(seq++)));
                    break;
                case 1:
                    if (h.r) {
                        item it{};
                        status const s = h.r->try_read(it);
                        h.note("try_read", s);
                        if (s == status::ok) consume(it);
                    }
                    break;
                case 2:
                    if (h.w) h.note("write_for", h.w->write_for(item::make(seq++), 200us));
                    break;
                case 3:
                    if (h.r) {
                        item it{};
                        status const s = h.r->read_for(it, 200us);
                        h.note("read_for", s);
                        if (s == status::ok) consume(it);
                    }
                    break;
                case 4:
                    if (h.w) {
                        auto t = h.w->try_begin_write(item::make(seq++));
                        h.note("try_begin_write", t.status());
                        if (t && (variant & 1u)) h.note("commit", t.commit()); // else abandoned
                    }
                    break;
                case 5:
                    if (h.r) {
                        auto t = h.r->try_begin_read();
                        h.note("try_begin_read", t.status());
                        if (t) consume(*t);
                    }
                    break;
                case 6:
                    if (h.ch) count(h.ch->corruption().empty() ? "corruption: none" : "corruption: reported");
                    if (h.r) count("sizes " + std::to_string(h.r->ready_size() <= h.r->capacity()));
                    if (h.w) {
                        count("sizes " + std::to_string(h.w->free_size() <= h.w->capacity()));
                        (void)h.w->discarded_count();
                        (void)h.w->is_closed();
                    }
                    break;
                case 7:
                    if (variant == 3 && h.w) h.w->close();
                    break;
                }
            });
        }
        for (handle<channel>* h : {&first, &second}) {
            if (h->ch && h->saw_corrupt && h->ch->corruption().empty())
                finding("an operation returned status::corrupt, yet corruption() says nothing");
        }
    } // every end and handle detaches here
    ops::check_removed(name);
}

// ---- compositions -----------------------------------------------------------------------------
using storages = std::tuple<polychan::storage::shared_memory, polychan::storage::memfd>;
using orderings = std::tuple<polychan::ordering::block, polychan::ordering::discard_new,
                             polychan::ordering::discard_old, polychan::ordering::always_last>;
using syncs = std::tuple<polychan::sync::mutex, polychan::sync::spsc, polychan::sync::semaphore>;

constexpr std::size_t n_storages = std::tuple_size_v<storages>;
constexpr std::size_t n_orderings = std::tuple_size_v<orderings>;
constexpr std::size_t n_syncs = std::tuple_size_v<syncs>;
constexpr std::size_t n_compositions = n_storages * n_orderings * n_syncs;

using runner = void (*)(input&);
template <std::size_t I>
constexpr runner runner_of() {
    return &run<std::tuple_element_t<I / (n_orderings * n_syncs), storages>,
                std::tuple_element_t<I / n_syncs % n_orderings, orderings>, std::tuple_element_t<I % n_syncs, syncs>>;
}
template <std::size_t... I>
constexpr std::array<runner, sizeof...(I)> runners(std::index_sequence<I...>) {
    return {runner_of<I>()...};
}
constexpr auto all_runners = runners(std::make_index_sequence<n_compositions>{});

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return -1; // not even a composition: not worth keeping in the corpus
    input in{data, size};
    std::size_t const fds = open_descriptors();
    all_runners[in.byte() % n_compositions](in);
    if (open_descriptors() != fds) finding("a descriptor was left open by the input");
    if (maps_a_segment()) finding("a segment is still mapped after every handle detached");
    return 0;
}
