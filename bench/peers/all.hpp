// polychan bench — every in-process peer, as lists the families iterate over.
#pragma once

#include "atomic_queue.hpp"
#include "boost_lockfree.hpp"
#include "moodycamel.hpp"
#include "mutex_deque.hpp"
#include "tbb.hpp"

#include "../compositions.hpp"

namespace polychan_bench {

/// Peers for one writer and one reader (every peer can do that; SPSC modes where they exist).
template <class T>
using one_to_one_peers =
    type_list<boost_spsc_queue<T>, boost_queue<T>, moodycamel_rwq<T>, moodycamel_blocking_rwq<T>,
              moodycamel_concurrent_queue<T>, atomic_queue_spsc<T>, tbb_bounded_queue<T>, mutex_deque<T>>;

/// Peers that allow several writers and several readers.
template <class T>
using many_to_many_peers = type_list<boost_queue<T>, moodycamel_concurrent_queue<T>, atomic_queue_mpmc<T>,
                                     tbb_bounded_queue<T>, mutex_deque<T>>;

template <class F, class... Peers>
void for_each_peer(F f, type_list<Peers...>) {
    (f.template operator()<Peers>(), ...);
}

} // namespace polychan_bench
