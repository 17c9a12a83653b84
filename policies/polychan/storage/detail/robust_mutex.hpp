// polychan — a process-shared, robust mutex for shared memory.
//
// Boost 1.74's interprocess_mutex is not robust: a process that dies holding it leaves
// every other process blocked for ever. A robust pthread mutex is released by the kernel
// when its holder dies, and the next locker is told so (EOWNERDEAD).
//
// What happens then: the mutex is marked consistent at once (so it stays usable) and
// `previous_owner_died()` reports true until the code that owns the protected state calls
// `state_repaired()`. The sync core checks it after every lock and repairs its own state
// (it alone knows the invariants); the mutex cannot know whether the state is whole.
#pragma once

#include <polychan/ipc/error.hpp>

#include <cerrno>
#include <cstring>
#include <string>

#include <pthread.h>

namespace polychan::storage::detail {

class robust_mutex {
  public:
    /// Initialises the mutex in place; runs once, in the process that creates the segment.
    robust_mutex() {
        pthread_mutexattr_t attr;
        check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
        check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
        check(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
        int const rc = pthread_mutex_init(&m_, &attr);
        pthread_mutexattr_destroy(&attr);
        check(rc, "pthread_mutex_init");
    }
    // Never destroyed: other processes may still map it when one process's view goes away.
    ~robust_mutex() = default;
    robust_mutex(const robust_mutex&) = delete;
    robust_mutex& operator=(const robust_mutex&) = delete;

    /// Sleeps at once when the mutex is held, as std::mutex does on the heap. It used to try
    /// 100 times first: each pthread_mutex_trylock of a robust mutex is a compare-and-swap
    /// whether the mutex looks free or not, so the spinner took the lock's line from the holder
    /// in the middle of its critical section (40% of a cross-process throughput run was in
    /// trylock), and a side that sleeps lets the other run a batch. Callers that know the wait
    /// is short spin with try_lock() themselves (spinning_condition, transaction steps).
    void lock() { acquired(pthread_mutex_lock(&m_)); }
    bool try_lock() {
        int const rc = pthread_mutex_trylock(&m_);
        if (rc == EBUSY) return false;
        acquired(rc);
        return true;
    }
    void unlock() noexcept { pthread_mutex_unlock(&m_); }

    /// Whether a holder died inside the critical section since the state was last repaired.
    /// Read it only while holding the mutex.
    bool previous_owner_died() const noexcept { return owner_died_ != 0; }
    /// The protected state is whole again. Call only while holding the mutex.
    void state_repaired() noexcept { owner_died_ = 0; }

    /// For waits that re-acquire the mutex themselves (the condition): the same handling.
    void acquired(int rc) {
        if (rc == 0) return;
        if (rc == EOWNERDEAD) {
            // The flag is set before the mutex is made consistent: if this process dies in
            // between, the next locker gets EOWNERDEAD again and sets it again.
            owner_died_ = 1;
            pthread_mutex_consistent(&m_);
            return;
        }
        check(rc, "pthread_mutex_lock");
    }

  private:
    static void check(int rc, const char* what) {
        if (rc != 0) throw ipc::error(std::string{"polychan: "} + what + " failed: " + std::strerror(rc));
    }

    pthread_mutex_t m_;
    unsigned owner_died_ = 0; // written only while holding m_
};

} // namespace polychan::storage::detail
