// polychan verify — the Relacy atomics backend: the same interface as polychan::std_atomics
// (include/polychan/atomics.hpp), so the production algorithms are model-checked unchanged.
//
// Every operation takes a defaulted std::source_location and hands it to Relacy as
// rl::debug_info, so Relacy's histories name the production line that did the access
// without any `($)` macro in production code.
//
// <relacy/relacy.hpp> defines macros that rewrite whatever is included after it: new,
// delete, malloc, free, assert, errno and memory_order_* (removed again below, errno and
// assert restored), and the pthread/semaphore/Win32 names it models (left alone). So the
// system headers the production code needs are included here first, and a model includes
// the production headers before this one.
#pragma once

#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <semaphore>
#include <source_location>
#include <thread>

#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>
#include <unistd.h>

#pragma push_macro("errno")
#pragma push_macro("assert")
#include <relacy/relacy.hpp>
#undef new
#undef delete
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst
#undef errno
#undef assert
#pragma pop_macro("assert")
#pragma pop_macro("errno")

namespace polychan::verify {

/// std::memory_order as Relacy spells it.
constexpr rl::memory_order to_relacy(std::memory_order mo) noexcept {
    switch (mo) {
    case std::memory_order_relaxed:
        return rl::mo_relaxed;
    case std::memory_order_consume:
        return rl::mo_consume;
    case std::memory_order_acquire:
        return rl::mo_acquire;
    case std::memory_order_release:
        return rl::mo_release;
    case std::memory_order_acq_rel:
        return rl::mo_acq_rel;
    case std::memory_order_seq_cst:
        return rl::mo_seq_cst;
    }
    return rl::mo_seq_cst;
}

/// The call site of a production access, for Relacy's history output.
inline rl::debug_info site(const std::source_location& at) noexcept {
    return rl::debug_info(at.function_name(), at.file_name(), at.line());
}

/// The Relacy backend. `atomic<T>` mirrors the std::atomic members the algorithms use.
struct relacy_atomics {
    template <class T>
    class atomic {
      public:
        /// Value-initialised, as std::atomic<T> is in C++20.
        atomic(std::source_location at = std::source_location::current()) { a_.store(T{}, rl::mo_relaxed, site(at)); }
        atomic(T v, std::source_location at = std::source_location::current()) {
            a_.store(v, rl::mo_relaxed, site(at));
        }
        atomic(const atomic&) = delete;
        atomic& operator=(const atomic&) = delete;

        T load(std::memory_order mo = std::memory_order_seq_cst,
               std::source_location at = std::source_location::current()) const {
            return a_.load(to_relacy(mo), site(at));
        }
        void store(T v, std::memory_order mo = std::memory_order_seq_cst,
                   std::source_location at = std::source_location::current()) {
            a_.store(v, to_relacy(mo), site(at));
        }
        T exchange(T v, std::memory_order mo = std::memory_order_seq_cst,
                   std::source_location at = std::source_location::current()) {
            return a_.exchange(v, to_relacy(mo), site(at));
        }
        bool compare_exchange_strong(T& expected, T desired, std::memory_order success, std::memory_order failure,
                                     std::source_location at = std::source_location::current()) {
            return a_.compare_exchange_strong(expected, desired, to_relacy(success), site(at), to_relacy(failure),
                                              site(at));
        }
        bool compare_exchange_strong(T& expected, T desired, std::memory_order mo = std::memory_order_seq_cst,
                                     std::source_location at = std::source_location::current()) {
            return a_.compare_exchange_strong(expected, desired, to_relacy(mo), site(at));
        }
        bool compare_exchange_weak(T& expected, T desired, std::memory_order success, std::memory_order failure,
                                   std::source_location at = std::source_location::current()) {
            return a_.compare_exchange_weak(expected, desired, to_relacy(success), site(at), to_relacy(failure),
                                            site(at));
        }
        bool compare_exchange_weak(T& expected, T desired, std::memory_order mo = std::memory_order_seq_cst,
                                   std::source_location at = std::source_location::current()) {
            return a_.compare_exchange_weak(expected, desired, to_relacy(mo), site(at));
        }
        T fetch_add(T v, std::memory_order mo = std::memory_order_seq_cst,
                    std::source_location at = std::source_location::current()) {
            return a_.fetch_add(v, to_relacy(mo), site(at));
        }
        T fetch_sub(T v, std::memory_order mo = std::memory_order_seq_cst,
                    std::source_location at = std::source_location::current()) {
            return a_.fetch_sub(v, to_relacy(mo), site(at));
        }
        T fetch_or(T v, std::memory_order mo = std::memory_order_seq_cst,
                   std::source_location at = std::source_location::current()) {
            return a_.fetch_or(v, to_relacy(mo), site(at));
        }
        T fetch_and(T v, std::memory_order mo = std::memory_order_seq_cst,
                    std::source_location at = std::source_location::current()) {
            return a_.fetch_and(v, to_relacy(mo), site(at));
        }

        /// Futex-style sleep, as Relacy models a kernel futex: a full fence, then a check of
        /// the value and the sleep as one step (no preemption in between). Wakes on
        /// notify, spuriously, or (when `timed`) on a modelled timeout. True unless timed out.
        bool futex_wait(T expected, bool timed, std::source_location at = std::source_location::current()) {
            rl::context& c = rl::ctx();
            c.sched();
            c.atomic_thread_fence_seq_cst();
            {
                rl::preemption_disabler no_switch(c);
                if (a_.load(rl::mo_acquire, site(at)) != expected) return true;
            }
            return a_.wait(c, timed, true, site(at)) != rl::unpark_reason_timeout;
        }
        /// Wakes up to `count` threads sleeping in futex_wait, behind a full fence as the kernel does.
        void futex_wake(unsigned count, std::source_location at = std::source_location::current()) {
            rl::context& c = rl::ctx();
            c.sched();
            c.atomic_thread_fence_seq_cst();
            a_.wake(c, static_cast<rl::thread_id_t>(count), site(at));
        }

      private:
        mutable rl::atomic<T> a_;
    };

    /// A 32-bit word a thread can sleep on, as the storages' wait_word (a futex) but
    /// modelled by Relacy; a timed wait may time out at any point Relacy chooses.
    class wait_word : public atomic<std::uint32_t> {
      public:
        using atomic<std::uint32_t>::atomic;
        void wait(std::uint32_t old, std::source_location at = std::source_location::current()) {
            this->futex_wait(old, false, at);
        }
        template <class TimePoint>
        bool wait_until(std::uint32_t old, TimePoint, std::source_location at = std::source_location::current()) {
            return this->futex_wait(old, true, at);
        }
        void notify_one(std::source_location at = std::source_location::current()) { this->futex_wake(1, at); }
        void notify_all(std::source_location at = std::source_location::current()) { this->futex_wake(~0u >> 1, at); }
    };

    static void fence(std::memory_order mo, std::source_location at = std::source_location::current()) {
        if (mo == std::memory_order_relaxed) return; // a relaxed fence orders nothing (and Relacy rejects it)
        rl::atomic_thread_fence(to_relacy(mo), site(at));
    }
    /// The asymmetric pair (polychan/detail/membarrier.hpp) orders as two seq_cst fences do
    /// (membarrier(2)); Relacy checks the algorithm under exactly that.
    template <class Scope>
    static void light_fence(std::memory_order mo, Scope, std::source_location at = std::source_location::current()) {
        fence(mo, at);
    }
    template <class Scope>
    static void heavy_fence(std::memory_order mo, Scope, std::source_location at = std::source_location::current()) {
        fence(mo, at);
    }
};

/// A plain (non-atomic) variable Relacy checks for data races: every access is an rl::var
/// access carrying its call site.
template <class T>
class var {
  public:
    var(T v = T{}, std::source_location at = std::source_location::current()) { v_(site(at)) = v; }
    T load(std::source_location at = std::source_location::current()) const { return v_(site(at)); }
    void store(T v, std::source_location at = std::source_location::current()) { v_(site(at)) = v; }

  private:
    rl::var<T> v_;
};

/// Relacy forgets a variable's history when a new object is constructed in its place, so
/// a payload race between the last use of one item and the construction of the next one in
/// the same slot would go unseen if the item carried its own rl::var. Instead an item keeps
/// its value in a `place`: one rl::var per address, owned by the test and living across the
/// items constructed there. A model test has a `places` member and calls `use()` in before().
class places {
  public:
    void use() noexcept { current() = this; }
    static var<int>& at(const void* address) {
        places& self = *current();
        for (int i = 0; i < self.used_; ++i)
            if (self.owner_[i] == address) return self.cell_[i];
        RL_ASSERT(self.used_ < capacity);
        self.owner_[self.used_] = address;
        return self.cell_[self.used_++];
    }

  private:
    static places*& current() noexcept {
        static places* p = nullptr;
        return p;
    }
    static constexpr int capacity = 32;
    const void* owner_[capacity] = {};
    var<int> cell_[capacity];
    int used_ = 0;
};

/// A model payload: the channel places it in a payload_cell with placement new; its
/// construction, reads and destruction are rl::var accesses of its place, so a missing
/// happens-before between writer and reader (or an evictor) is reported as a data race.
class model_item {
  public:
    explicit model_item(int v = 0) { places::at(this).store(v); }
    model_item(model_item&& o) noexcept { places::at(this).store(o.value()); }
    model_item& operator=(model_item&& o) noexcept {
        places::at(this).store(o.value());
        return *this;
    }
    ~model_item() { places::at(this).store(-1); } // destruction is a write: racing with a read is caught
    int value() const { return places::at(this).load(); }
};

} // namespace polychan::verify
