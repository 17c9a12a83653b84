// polychan tests — the cross-process compositions: every shared-memory storage x every
// ordering x every sync policy that runs in shared memory, looked up by name at run time
// (the helper process is told its composition on the command line). The named storages are
// the ipc suite's; the anonymous one (memfd, passed over sockets) is the ipc_memfd suite's.
#pragma once

#include <polychan/ipc.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/memfd.hpp>
#include <polychan/storage/shared_memory.hpp>
#include <polychan/storage/sysv_shared_memory.hpp>
#include <polychan/sync/mutex.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace polychan::test::ipc {

// clang-format off
using storages = std::tuple<polychan::storage::shared_memory, polychan::storage::sysv_shared_memory>;
using anonymous_storages = std::tuple<polychan::storage::memfd>;
using all_storages = std::tuple<polychan::storage::shared_memory, polychan::storage::sysv_shared_memory,
                                polychan::storage::memfd>;
using orderings = std::tuple<polychan::ordering::block, polychan::ordering::discard_new,
                             polychan::ordering::discard_old, polychan::ordering::always_last>;
using syncs = std::tuple<polychan::sync::mutex, polychan::sync::spsc, polychan::sync::semaphore>;
// clang-format on

/// The item sent between processes: 64 bytes whose words all derive from `seq`, so a torn
/// item (half of one write, half of another) is detected by `intact()`.
struct item {
    std::uint64_t seq;
    std::uint64_t words[6];
    std::uint64_t check;

    static item make(std::uint64_t seq) {
        item it{seq, {}, 0};
        for (std::uint64_t k = 0; k < 6; ++k) it.words[k] = seq * 0x9E3779B97F4A7C15ull + k;
        it.check = ~seq;
        return it;
    }
    bool intact() const {
        for (std::uint64_t k = 0; k < 6; ++k)
            if (words[k] != seq * 0x9E3779B97F4A7C15ull + k) return false;
        return check == ~seq;
    }
};

/// Calls `f.template operator()<Storage, Ordering, Sync>()` for the composition with these
/// names, the storage one of `Storages`; false if there is none.
template <class Storages = storages, class F>
bool with_composition(std::string_view storage, std::string_view ordering, std::string_view sync, F&& f) {
    bool found = false;
    auto per_sync = [&]<class St, class O, class S>() {
        if (!found && St::name == storage && O::name == ordering && S::name == sync) {
            found = true;
            f.template operator()<St, O, S>();
        }
    };
    auto per_ordering = [&]<class St, class O>() {
        [&]<class... S>(std::tuple<S...>*) {
            (per_sync.template operator()<St, O, S>(), ...);
        }(static_cast<syncs*>(nullptr));
    };
    auto per_storage = [&]<class St>() {
        [&]<class... O>(std::tuple<O...>*) {
            (per_ordering.template operator()<St, O>(), ...);
        }(static_cast<orderings*>(nullptr));
    };
    [&]<class... St>(std::tuple<St...>*) {
        (per_storage.template operator()<St>(), ...);
    }(static_cast<Storages*>(nullptr));
    return found;
}

/// Every composition's names, for test loops.
struct composition_names {
    std::string storage, ordering, sync;
};
/// The names of every composition whose storage is one of `Storages`.
template <class Storages = storages>
std::vector<composition_names> all_compositions() {
    std::vector<composition_names> out;
    auto per_storage = [&]<class St>() {
        [&]<class... O>(std::tuple<O...>*) {
            (
                [&]<class Or>() {
                    [&]<class... S>(std::tuple<S...>*) {
                        (out.push_back({std::string{St::name}, std::string{Or::name}, std::string{S::name}}), ...);
                    }(static_cast<syncs*>(nullptr));
                }.template operator()<O>(),
                ...);
        }(static_cast<orderings*>(nullptr));
    };
    [&]<class... St>(std::tuple<St...>*) {
        (per_storage.template operator()<St>(), ...);
    }(static_cast<Storages*>(nullptr));
    return out;
}

} // namespace polychan::test::ipc
