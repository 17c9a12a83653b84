// polychan — how long an operation may wait: not at all, forever, or until a time point.
#pragma once

#include <chrono>
#include <type_traits>

namespace polychan {

/// When a waiting operation gives up. Orderings and sync policies see only this type,
/// so every blocking, non-blocking and timed API form goes through one code path.
class deadline {
  public:
    /// Every deadline is kept on the steady clock, so wall-clock changes do not shorten a wait.
    using clock = std::chrono::steady_clock;

    /// Do not wait at all (the `try_` forms).
    static constexpr deadline poll() noexcept { return deadline{kind::poll, {}}; }
    /// Wait as long as it takes (the plain blocking forms).
    static constexpr deadline forever() noexcept { return deadline{kind::forever, {}}; }
    /// Wait until `t` on any clock; other clocks are converted to the steady clock once.
    template <class Clock, class Duration>
    static deadline at(std::chrono::time_point<Clock, Duration> t) {
        if constexpr (std::is_same_v<Clock, clock>) {
            return deadline{kind::until, std::chrono::time_point_cast<clock::duration>(t)};
        } else {
            auto const left = t - Clock::now();
            return after(left);
        }
    }
    /// Wait for at most `d` from now.
    template <class Rep, class Period>
    static deadline after(std::chrono::duration<Rep, Period> d) {
        if (d <= d.zero()) return deadline{kind::until, clock::now()};
        auto const now = clock::now();
        // A wait longer than the clock can represent is a wait forever, not an overflow.
        if (d >= std::chrono::duration<double, Period>(clock::time_point::max() - now)) return forever();
        return deadline{kind::until, now + std::chrono::ceil<clock::duration>(d)};
    }

    /// Whether this is poll(): do not wait at all.
    constexpr bool is_poll() const noexcept { return kind_ == kind::poll; }
    /// Whether this is forever(): no time limit.
    constexpr bool is_forever() const noexcept { return kind_ == kind::forever; }
    /// The time point to wait until; meaningful only when neither poll nor forever.
    constexpr clock::time_point when() const noexcept { return when_; }
    /// Whether the time to wait is over (always for poll(), never for forever()).
    bool expired() const noexcept { return kind_ == kind::poll || (kind_ == kind::until && clock::now() >= when_); }

  private:
    enum class kind : unsigned char { poll, forever, until };
    constexpr deadline(kind k, clock::time_point w) noexcept : kind_{k}, when_{w} {}
    kind kind_;
    clock::time_point when_;
};

} // namespace polychan
