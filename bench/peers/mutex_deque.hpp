// polychan bench — the baseline anyone would write first: std::deque behind one std::mutex,
// two std::condition_variables, bounded to the same capacity as every other subject.
#pragma once

#include "adapter.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

namespace polychan_bench {

template <class T>
class mutex_deque_impl {
  public:
    using value_type = T;
    static constexpr std::string_view name = "std.mutex+deque";
    static constexpr bool multi = true;

    explicit mutex_deque_impl(std::size_t capacity) : capacity_{capacity} {}

    POLYCHAN_BENCH_INLINE void push(T const& v) {
        std::unique_lock lock{m_};
        not_full_.wait(lock, [&] { return q_.size() < capacity_; });
        q_.push_back(v);
        lock.unlock();
        not_empty_.notify_one();
    }
    POLYCHAN_BENCH_INLINE void pop(T& v) {
        std::unique_lock lock{m_};
        not_empty_.wait(lock, [&] { return !q_.empty(); });
        v = std::move(q_.front());
        q_.pop_front();
        lock.unlock();
        not_full_.notify_one();
    }

  private:
    std::size_t const capacity_;
    std::mutex m_;
    std::condition_variable not_empty_, not_full_;
    std::deque<T> q_;
};

template <class T>
using mutex_deque = blocking_peer<mutex_deque_impl<T>>;

} // namespace polychan_bench
