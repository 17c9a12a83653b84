// polychan — who this process is, and whether a process recorded in a segment still lives.
//
// A segment records the processes attached to it (and the holder of each claimed slot) by
// pid. A pid alone can be reused, so the owner table also records the process's start time
// (field 22 of /proc/<pid>/stat, in clock ticks since boot): a recorded owner is alive only
// if a process with that pid exists, is not a zombie, and started at that time.
// Limitation: pids are per pid namespace; processes sharing a segment must share one.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

namespace polychan::storage::detail {

struct process_stat {
    bool exists = false;
    char state = '?';
    std::uint64_t start_time = 0;
};

/// Reads /proc/<pid>/stat. The command name (field 2) may contain spaces and parentheses,
/// so fields are counted from the last ')'.
inline process_stat read_process_stat(std::uint32_t pid) noexcept {
    process_stat st;
    char path[48];
    std::snprintf(path, sizeof path, "/proc/%u/stat", pid);
    std::FILE* f = std::fopen(path, "re");
    if (f == nullptr) return st;
    char buf[1024];
    std::size_t const n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    char const* p = std::strrchr(buf, ')');
    if (p == nullptr) return st;
    st.exists = true;
    ++p;
    // After ')': field 3 is the state, field 22 the start time.
    int field = 2;
    while (*p != '\0' && field < 22) {
        while (*p == ' ') ++p;
        ++field;
        if (field == 3) st.state = *p;
        if (field == 22) {
            st.start_time = std::strtoull(p, nullptr, 10);
            break;
        }
        while (*p != '\0' && *p != ' ') ++p;
    }
    return st;
}

/// This process's pid, cached (the sync core records it at every slot claim, and getpid()
/// is a system call). A forked child refreshes the cache through a pthread_atfork handler.
inline std::uint32_t this_process_id() noexcept {
    static std::atomic<std::uint32_t> cached{0};
    std::uint32_t pid = cached.load(std::memory_order_relaxed);
    if (pid == 0) {
        static bool const hooked = [] {
            ::pthread_atfork(nullptr, nullptr, [] { cached.store(0, std::memory_order_relaxed); });
            return true;
        }();
        (void)hooked;
        pid = static_cast<std::uint32_t>(::getpid());
        cached.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

inline std::uint64_t this_process_start_time() noexcept { return read_process_stat(this_process_id()).start_time; }

/// The largest pid Linux hands out (PID_MAX_LIMIT on 64-bit systems).
inline constexpr std::uint32_t max_pid = 4'194'304;

/// Whether `pid` names a running (not zombie, not dead) process; with `start_time` != 0,
/// also that it is the same process that was recorded, not a later one that reused the pid.
inline bool process_alive(std::uint32_t pid, std::uint64_t start_time = 0) noexcept {
    // The pid comes from shared memory: 0 would ask about our process group, and a value
    // beyond PID_MAX_LIMIT (2^22) would be a negative pid_t, asking about a whole group.
    if (pid == 0 || pid > max_pid) return false;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    process_stat const st = read_process_stat(pid);
    if (!st.exists) {
        // No /proc (or not ours to read): kill() is the only evidence, and it said alive.
        return true;
    }
    if (st.state == 'Z' || st.state == 'X' || st.state == 'x') return false;
    return start_time == 0 || st.start_time == start_time;
}

} // namespace polychan::storage::detail
