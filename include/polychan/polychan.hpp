// polychan — everything: the channel and every built-in policy.
#pragma once

#include <polychan/channel.hpp>
#include <polychan/ordering/always_last.hpp>
#include <polychan/ordering/block.hpp>
#include <polychan/ordering/discard_new.hpp>
#include <polychan/ordering/discard_old.hpp>
#include <polychan/storage/heap.hpp>
#include <polychan/storage/heap_fixed.hpp>
#include <polychan/storage/heap_unbounded.hpp>
#include <polychan/sync/mutex.hpp>
#include <polychan/sync/semaphore.hpp>
#include <polychan/sync/spsc.hpp>
