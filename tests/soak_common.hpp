// polychan tests — what the soak test (soak.cpp) and its helper process (soak_helper.cpp)
// share: the item a writer sends, and the ledger, a memfd every process of one soak maps, in
// which readers tick off each (writer, sequence) they receive.
//
// The ledger is how duplicates are caught across readers: a reader sets the item's bit with
// one atomic fetch_or, and finds a duplicate if the bit was set already (whichever reader set
// it). Writers record, before each write, how far they have got (`attempted`), so a reader
// also catches an item from the future (one its writer never sent). With a single reader at
// a time (spsc), `last_key` carries the newest (writer, seq) read across reader restarts.
//
// Layout: header (4 words), attempted[max_writers], then one bitmap of bits_per_writer bits
// per writer, page aligned. The file is sparse: only the pages readers touch take memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace polychan::test::soak {

/// 64 bytes whose words all derive from (writer, seq): a torn item fails intact().
struct item {
    std::uint64_t writer;
    std::uint64_t seq;
    std::uint64_t words[5];
    std::uint64_t check;

    static std::uint64_t word(std::uint64_t writer, std::uint64_t seq, std::uint64_t k) {
        return (writer * 0xC2B2AE3D27D4EB4Full) ^ (seq * 0x9E3779B97F4A7C15ull) ^ (k << 56);
    }
    static item make(std::uint64_t writer, std::uint64_t seq) {
        item it{writer, seq, {}, 0};
        for (std::uint64_t k = 0; k < 5; ++k) it.words[k] = word(writer, seq, k);
        it.check = ~(writer ^ (seq << 20));
        return it;
    }
    bool intact() const {
        for (std::uint64_t k = 0; k < 5; ++k)
            if (words[k] != word(writer, seq, k)) return false;
        return check == ~(writer ^ (seq << 20));
    }
};
static_assert(sizeof(item) == 64);

/// The shared tally of one soak run (see the top of this file).
class ledger {
  public:
    static constexpr std::uint64_t magic = 0x534F414B4C444752ull; // "SOAKLDGR"

    /// Creates an anonymous ledger (a memfd this process's children inherit: not close-on-exec).
    static ledger create(std::uint32_t max_writers, std::uint64_t bits_per_writer) {
        int const fd = ::memfd_create("polychan-soak-ledger", 0);
        if (fd < 0) throw std::runtime_error("memfd_create failed");
        bits_per_writer = (bits_per_writer + 63) / 64 * 64;
        std::size_t const size = layout_size(max_writers, bits_per_writer);
        if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
            ::close(fd);
            throw std::runtime_error("ftruncate of the ledger failed");
        }
        ledger l{fd, size};
        l.words_[0] = magic;
        l.words_[1] = max_writers;
        l.words_[2] = bits_per_writer;
        l.words_[3] = 0;
        return l;
    }
    /// Maps the ledger inherited as descriptor `fd`.
    static ledger attach(int fd) {
        struct ::stat st {};
        if (::fstat(fd, &st) != 0 || st.st_size < 4096) throw std::runtime_error("bad ledger descriptor");
        ledger l{fd, static_cast<std::size_t>(st.st_size)};
        if (l.words_[0] != magic) throw std::runtime_error("bad ledger magic");
        return l;
    }

    ledger(ledger&& o) noexcept
        : fd_{std::exchange(o.fd_, -1)}, size_{o.size_}, words_{std::exchange(o.words_, nullptr)} {}
    ledger& operator=(ledger&&) = delete;
    ~ledger() {
        if (words_ != nullptr) ::munmap(words_, size_);
        if (fd_ >= 0) ::close(fd_);
    }

    int fd() const noexcept { return fd_; }
    std::uint32_t max_writers() const noexcept { return static_cast<std::uint32_t>(words_[1]); }
    std::uint64_t bits_per_writer() const noexcept { return words_[2]; }

    /// Writer `w` is about to write its item `seq`: attempted(w) = seq + 1 (release).
    std::atomic_ref<std::uint64_t> attempted(std::uint32_t w) const noexcept { return std::atomic_ref{words_[4 + w]}; }
    /// (one reader at a time) The newest (writer, seq) read so far, as key(w, seq); 0: none.
    std::atomic_ref<std::uint64_t> last_key() const noexcept { return std::atomic_ref{words_[3]}; }
    static std::uint64_t key(std::uint64_t w, std::uint64_t seq) noexcept { return ((w << 32) | seq) + 1; }

    /// Ticks off (w, seq); false if it was ticked off already (a duplicate).
    bool mark(std::uint32_t w, std::uint64_t seq) const noexcept {
        std::atomic_ref<std::uint64_t> word{bitmap(w)[seq / 64]};
        std::uint64_t const bit = std::uint64_t{1} << (seq % 64);
        return (word.fetch_or(bit, std::memory_order_relaxed) & bit) == 0;
    }
    /// How many of writer w's items with seq < upto were ticked off.
    std::uint64_t count(std::uint32_t w, std::uint64_t upto) const noexcept {
        std::uint64_t n = 0;
        std::uint64_t const* b = bitmap(w);
        for (std::uint64_t i = 0; i < upto / 64; ++i) n += static_cast<std::uint64_t>(__builtin_popcountll(b[i]));
        if (upto % 64 != 0)
            n += static_cast<std::uint64_t>(
                __builtin_popcountll(b[upto / 64] & ((std::uint64_t{1} << (upto % 64)) - 1)));
        return n;
    }

  private:
    ledger(int fd, std::size_t size) : fd_{fd}, size_{size} {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            throw std::runtime_error("mmap of the ledger failed");
        }
        words_ = static_cast<std::uint64_t*>(p);
    }
    static std::size_t bitmaps_offset(std::uint64_t max_writers) noexcept { // in words, page aligned
        return ((4 + max_writers) * 8 + 4095) / 4096 * 4096 / 8;
    }
    static std::size_t layout_size(std::uint64_t max_writers, std::uint64_t bits_per_writer) noexcept {
        return (bitmaps_offset(max_writers) + max_writers * (bits_per_writer / 64)) * 8;
    }
    std::uint64_t* bitmap(std::uint32_t w) const noexcept {
        return words_ + bitmaps_offset(max_writers()) + w * (bits_per_writer() / 64);
    }

    int fd_;
    std::size_t size_;
    std::uint64_t* words_ = nullptr;
};

} // namespace polychan::test::soak
