// polychan — the header at the start of every shared-memory segment, and the checks a
// process runs on it before trusting anything else in the segment.
//
//   offset 0                      control_offset            slots_offset
//   | segment_header ............ | Control (sync core) ..... | Slot[0] Slot[1] ... Slot[capacity-1] |
//   | magic, version, state,      | mutex/conditions or       | next link + payload bytes            |
//   | identity, layout, owners    | atomics, list heads       |                                      |
//
// Every field is fixed-width so that 64-bit processes built by different compilers agree.
// All of it is untrusted: a process checks each field against what it computes itself and
// uses its own values afterwards (capacity and offsets come from the check, not the bytes).
#pragma once

#include <polychan/ipc/error.hpp>
#include <polychan/storage/detail/robust_mutex.hpp>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace polychan::storage::detail {

/// The sizes a sync core's slot and control block need (known only inside the core).
struct memory_layout {
    std::uint64_t slot_size = 0;
    std::uint64_t slot_align = 0;
    std::uint64_t control_size = 0;
    std::uint64_t control_align = 0;
};

/// What the attaching process expects the segment to hold.
struct channel_identity {
    std::string_view storage;
    std::string_view ordering;
    std::string_view sync;
    std::string type_name; // for messages; the hash is what is compared
    std::uint64_t type_hash = 0;
    std::uint64_t type_size = 0;
    std::uint64_t type_align = 0;
};

/// FNV-1a: stable across processes and compilers, unlike std::hash.
constexpr std::uint64_t fnv1a(std::string_view s) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ull;
    }
    return h;
}

/// A fixed-size, always-terminated text field.
template <std::size_t N>
struct text_field {
    char chars[N] = {};
    void assign(std::string_view s) noexcept {
        std::size_t const n = s.size() < N - 1 ? s.size() : N - 1;
        std::memcpy(chars, s.data(), n);
        chars[n] = '\0';
    }
    /// Bounded even if the segment's bytes lack a terminator.
    std::string_view view() const noexcept { return {chars, ::strnlen(chars, N)}; }
};

/// A process recorded in the segment: pid plus start time, so a reused pid is not mistaken
/// for the recorded process.
struct process_record {
    std::uint32_t pid = 0;
    std::uint32_t reserved = 0;
    std::uint64_t start_time = 0;
};

enum class segment_state : std::uint32_t {
    initialising = 0, ///< the creator is writing the header and control block
    ready = 1,        ///< open for attaching
    removed = 2,      ///< its name was unlinked; attach to the new one instead
};

struct segment_header {
    static constexpr std::uint64_t magic_value = 0x4e414843594c4f50ull; // "POLYCHAN" little-endian
    // 3: no bool in a control block; 4: the semaphore core sleeps on a futex word, not a sem_t;
    // 5: the mutex core's free list is a FIFO with a tail, and its conditions a spinner flag;
    // 6: the semaphore core's control block ends with the spinners' given-counters;
    // 7: the mutex core's conditions count their sleepers and spinner beside the futex word,
    //    each on its own cache line after the lists
    static constexpr std::uint32_t current_layout_version = 7;
    static constexpr std::size_t max_owners = 64;
    enum role : std::uint32_t { writer_role = 0, reader_role = 1 };

    std::uint64_t magic = magic_value;
    std::uint32_t layout_version = current_layout_version;
    std::atomic<std::uint32_t> state{static_cast<std::uint32_t>(segment_state::initialising)};
    std::uint64_t segment_size = 0;
    process_record creator;

    // identity
    text_field<208> channel_name; // a System V key is a hash of it: collisions are caught here
    text_field<32> storage;
    text_field<32> ordering;
    text_field<32> sync;
    text_field<96> type_name;
    std::uint64_t type_hash = 0;
    std::uint64_t type_size = 0;
    std::uint64_t type_align = 0;
    std::uint64_t capacity = 0;
    // layout
    std::uint64_t slot_size = 0;
    std::uint64_t slot_align = 0;
    std::uint64_t control_size = 0;
    std::uint64_t control_align = 0;
    std::uint64_t control_offset = 0;
    std::uint64_t slots_offset = 0;

    // Guards owners, roles and the decision to unlink (robust: a process may die holding it).
    robust_mutex attach_lock;
    process_record owners[max_owners];
    process_record roles[2]; // exclusive roles (single-writer / single-reader sync policies)
};

/// Where things go in a segment of `capacity` slots; zero total on overflow.
struct segment_geometry {
    std::uint64_t control_offset = 0;
    std::uint64_t slots_offset = 0;
    std::uint64_t total = 0;

    static constexpr std::uint64_t round_up(std::uint64_t v, std::uint64_t a) noexcept { return (v + a - 1) / a * a; }

    static segment_geometry of(const memory_layout& l, std::uint64_t capacity) noexcept {
        segment_geometry g;
        g.control_offset = round_up(sizeof(segment_header), l.control_align);
        g.slots_offset = round_up(g.control_offset + l.control_size, l.slot_align);
        std::uint64_t const max = std::uint64_t{1} << 46; // 64 TiB: far beyond any real segment
        if (l.slot_size == 0 || capacity > max / l.slot_size) return g;
        g.total = g.slots_offset + capacity * l.slot_size;
        return g;
    }
};

/// Throws ipc::error naming the field of channel `channel` that differs, and both values.
template <class A, class B>
void check_field(std::string_view channel, std::string_view name, const A& in_segment, const B& expected) {
    if (in_segment == expected) return;
    auto shown = [](const auto& v) {
        std::ostringstream s;
        if constexpr (std::is_convertible_v<decltype(v), std::string_view>) {
            s << '\'' << std::string_view{v} << '\'';
        } else {
            s << v;
        }
        return s.str();
    };
    std::ostringstream m;
    m << "polychan: cannot attach to channel '" << channel << "': " << name << " differs: the segment has "
      << shown(in_segment) << ", this process expects " << shown(expected);
    throw ipc::error(m.str());
}

inline std::string hex(std::uint64_t v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

/// The identity fields (everything but capacity and layout, which depend on the caller).
inline void check_identity(const segment_header& h, std::string_view channel, const channel_identity& id) {
    check_field(channel, "storage policy", h.storage.view(), id.storage);
    check_field(channel, "ordering policy", h.ordering.view(), id.ordering);
    check_field(channel, "sync policy", h.sync.view(), id.sync);
    check_field(channel, "item size", h.type_size, id.type_size);
    check_field(channel, "item alignment", h.type_align, id.type_align);
    if (h.type_hash != id.type_hash) {
        check_field(channel, "item type", std::string{h.type_name.view()} + " (hash " + hex(h.type_hash) + ")",
                    std::string{id.type_name} + " (hash " + hex(id.type_hash) + ")");
    }
}

} // namespace polychan::storage::detail
