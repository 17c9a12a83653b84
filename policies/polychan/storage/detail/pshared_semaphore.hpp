// polychan — a process-shared counting semaphore (a POSIX sem_t with pshared = 1), with the
// interface of std::counting_semaphore so a sync policy can use either.
//
// glibc's sem_t is one atomic word (value and waiter count) plus a futex: it holds no lock,
// so a process killed inside sem_post or sem_wait cannot block the others. A process that
// dies between acquire and release does lose that unit, as with any semaphore.
#pragma once

#include <polychan/ipc/error.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <string>

#include <semaphore.h>

namespace polychan::storage::detail {

template <std::ptrdiff_t LeastMaxValue>
class pshared_semaphore {
    static_assert(LeastMaxValue >= 0 && static_cast<unsigned long long>(LeastMaxValue) <= SEM_VALUE_MAX,
                  "polychan: a process-shared semaphore counts at most SEM_VALUE_MAX");

  public:
    static constexpr std::ptrdiff_t max() noexcept { return LeastMaxValue; }

    explicit pshared_semaphore(std::ptrdiff_t desired) {
        if (::sem_init(&sem_, 1, static_cast<unsigned>(desired)) != 0) fail("sem_init");
    }
    // Never destroyed: another process may still wait on it.
    ~pshared_semaphore() = default;
    pshared_semaphore(const pshared_semaphore&) = delete;
    pshared_semaphore& operator=(const pshared_semaphore&) = delete;

    void release(std::ptrdiff_t update = 1) {
        for (; update > 0; --update)
            if (::sem_post(&sem_) != 0) fail("sem_post");
    }
    void acquire() {
        while (::sem_wait(&sem_) != 0)
            if (errno != EINTR) fail("sem_wait");
    }
    bool try_acquire() noexcept { return ::sem_trywait(&sem_) == 0; }
    template <class Rep, class Period>
    bool try_acquire_for(std::chrono::duration<Rep, Period> d) {
        return try_acquire_until(std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::nanoseconds>(d));
    }
    template <class Clock, class Duration>
    bool try_acquire_until(std::chrono::time_point<Clock, Duration> t) {
        auto const steady =
            std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::nanoseconds>(t - Clock::now());
        auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(steady.time_since_epoch()).count();
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        for (;;) {
            // CLOCK_MONOTONIC: a wall-clock jump neither shortens nor stretches the wait.
            if (::sem_clockwait(&sem_, CLOCK_MONOTONIC, &ts) == 0) return true;
            if (errno == ETIMEDOUT) return false;
            if (errno != EINTR) fail("sem_clockwait");
        }
    }

  private:
    [[noreturn]] static void fail(const char* what) {
        throw ipc::error(std::string{"polychan: "} + what + " failed: " + std::strerror(errno));
    }

    sem_t sem_;
};

} // namespace polychan::storage::detail
