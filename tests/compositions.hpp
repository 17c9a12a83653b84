// polychan tests — the policy product every conformance test runs over.
//
// HOW TO ADD A POLICY
//   sync:     include its header (below) and append ONE line to `sync_policies`.
//             Its `supports_unbounded`, `supports_ordering<O>`, `single_reader` and
//             `single_writer` are honoured: invalid compositions are filtered out of
//             `all_compositions`, and multi-threaded tests use 1 reader/writer when asked.
//   ordering: append it to `orderings`.
//   storage:  write a `*_kind` below (how a test builds a channel with room for N items on it)
//             and append it to `storage_kinds`.
//
// A test instantiates a channel of item type T and capacity N for composition C as
//     polychan::test::channel_for<C, T, N> ch;      // default-constructible, whatever the storage
// heap_unbounded channels are never full: tests of full-behaviour check `C::unbounded`
// with `if constexpr`.
#pragma once

#include <polychan/polychan.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace polychan::test {

// clang-format off
using sync_policies = std::tuple<
    polychan::sync::mutex,
    polychan::sync::semaphore,
    polychan::sync::spsc
    // , polychan::sync::next_policy     <- one line per policy
>;
using orderings = std::tuple<
    polychan::ordering::block,
    polychan::ordering::discard_new,
    polychan::ordering::discard_old,
    polychan::ordering::always_last
>;
// clang-format on

// ---- storage kinds: each builds a channel with room for N items ---------------------------

/// `heap`: the capacity is a run-time constructor argument.
struct heap_kind {
    static constexpr std::string_view name = "heap";
    static constexpr bool unbounded = false;
    template <class T, std::size_t N, class Ordering, class Sync>
    class channel : public polychan::channel<T, polychan::storage::heap, Ordering, Sync> {
      public:
        channel() : polychan::channel<T, polychan::storage::heap, Ordering, Sync>(N) {}
    };
};

/// `heap_fixed<N>`: the capacity is a template argument.
struct heap_fixed_kind {
    static constexpr std::string_view name = "heap_fixed";
    static constexpr bool unbounded = false;
    template <class T, std::size_t N, class Ordering, class Sync>
    class channel : public polychan::channel<T, polychan::storage::heap_fixed<N>, Ordering, Sync> {};
};

/// `heap_unbounded`: N is ignored; it starts with a single slot so that every test also
/// exercises growth.
struct heap_unbounded_kind {
    static constexpr std::string_view name = "heap_unbounded";
    static constexpr bool unbounded = true;
    template <class T, std::size_t N, class Ordering, class Sync>
    class channel : public polychan::channel<T, polychan::storage::heap_unbounded, Ordering, Sync> {
      public:
        channel() : polychan::channel<T, polychan::storage::heap_unbounded, Ordering, Sync>(std::size_t{1}) {}
    };
};

using storage_kinds = std::tuple<heap_kind, heap_fixed_kind, heap_unbounded_kind>;

// ---- one composition ------------------------------------------------------------------------

template <class StorageKind, class Ordering, class Sync>
struct composition {
    using storage_kind = StorageKind;
    using ordering = Ordering;
    using sync = Sync;

    template <class T, std::size_t N>
    using channel = typename StorageKind::template channel<T, N, Ordering, Sync>;

    static constexpr bool unbounded = StorageKind::unbounded;
    /// How many concurrent readers / writers a multi-threaded test may use (at most `wanted`).
    static constexpr int readers(int wanted) { return Sync::single_reader ? 1 : wanted; }
    static constexpr int writers(int wanted) { return Sync::single_writer ? 1 : wanted; }

    static std::string name() {
        return std::string{StorageKind::name} + "/" + std::string{Ordering::name} + "/" + std::string{Sync::name};
    }
};

template <class C, class T, std::size_t N>
using channel_for = typename C::template channel<T, N>;

/// Whether composition C uses ordering O.
template <class C, class O>
inline constexpr bool uses = std::is_same_v<typename C::ordering, O>;

// ---- the product, without the compositions a policy rejects ---------------------------------

namespace detail {
template <class K, class O, class S>
inline constexpr bool valid = (!K::unbounded || S::supports_unbounded) && polychan::sync_supports_ordering<S, O>();

template <class K, class O, class S>
using keep_if_valid = std::conditional_t<valid<K, O, S>, std::tuple<composition<K, O, S>>, std::tuple<>>;

template <class... Tuples>
using concat = decltype(std::tuple_cat(std::declval<Tuples>()...));

template <class S, class K, class Os>
struct over_orderings;
template <class S, class K, class... O>
struct over_orderings<S, K, std::tuple<O...>> {
    using type = concat<keep_if_valid<K, O, S>...>;
};

template <class S, class Ks, class Os>
struct over_kinds;
template <class S, class... K, class Os>
struct over_kinds<S, std::tuple<K...>, Os> {
    using type = concat<typename over_orderings<S, K, Os>::type...>;
};

template <class Ss, class Ks, class Os>
struct over_syncs;
template <class... S, class Ks, class Os>
struct over_syncs<std::tuple<S...>, Ks, Os> {
    using type = concat<typename over_kinds<S, Ks, Os>::type...>;
};
} // namespace detail

/// Every valid composition: storage kinds x orderings x sync policies.
using all_compositions = typename detail::over_syncs<sync_policies, storage_kinds, orderings>::type;

static_assert(std::tuple_size_v<all_compositions> >= 1);

} // namespace polychan::test

/// Names the composition in the message of any failing assertion of the enclosing test.
#define POLYCHAN_NAME_COMPOSITION() INFO("composition: " << TestType::name())
