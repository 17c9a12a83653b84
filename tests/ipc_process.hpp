// polychan tests — spawning the ipc helper as a real process (fork + exec) and reading the
// one line of key=value pairs it prints.
#pragma once

#include <polychan/storage/sysv_shared_memory.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace polychan::test::ipc {

/// A running helper process whose stdout is a pipe to us.
class helper_process {
  public:
    explicit helper_process(const std::vector<std::string>& args) {
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            ::close(fds[0]);
            ::close(fds[1]);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(POLYCHAN_IPC_HELPER));
            for (auto const& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(POLYCHAN_IPC_HELPER, argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    helper_process(const helper_process&) = delete;
    helper_process& operator=(const helper_process&) = delete;
    ~helper_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap();
        }
        if (out_ >= 0) ::close(out_);
    }

    pid_t pid() const { return pid_; }

    /// Reads up to and including the next newline (or EOF).
    std::string read_line() {
        std::string line;
        char c;
        while (::read(out_, &c, 1) == 1) {
            if (c == '\n') break;
            line += c;
        }
        return line;
    }
    /// Reads everything until the process closes its stdout, then reaps it.
    std::string finish() {
        std::string all;
        char buf[4096];
        for (;;) {
            ssize_t const n = ::read(out_, buf, sizeof buf);
            if (n > 0) {
                all.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                break;
            }
        }
        reap();
        return all;
    }
    /// SIGKILL, then reap (a zombie still counts as alive to others for a while).
    void kill_now() {
        ::kill(pid_, SIGKILL);
        reap();
    }
    bool exited_normally() const { return WIFEXITED(status_); }
    bool killed() const { return WIFSIGNALED(status_); }
    int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

  private:
    void reap() {
        if (pid_ <= 0) return;
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    pid_t pid_ = -1;
    int out_ = -1;
    int status_ = 0;
};

/// "a=1 b=x" -> {a: "1", b: "x"}
inline std::map<std::string, std::string> parse_fields(const std::string& line) {
    std::map<std::string, std::string> out;
    std::istringstream in{line};
    std::string tok;
    while (in >> tok) {
        auto const eq = tok.find('=');
        if (eq != std::string::npos) out[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
    return out;
}

inline long long field_ll(const std::map<std::string, std::string>& f, const std::string& key) {
    auto const it = f.find(key);
    return it == f.end() ? -999 : std::stoll(it->second);
}

/// Whether the segment of channel `name` exists in storage `storage` ("shared_memory": a
/// file in /dev/shm; "sysv_shared_memory": its key in /proc/sysvipc/shm).
inline bool segment_exists(std::string_view storage, const std::string& name) {
    if (storage == "sysv_shared_memory") {
        auto const key = polychan::storage::detail::sysv_shm_backend::key_of(name);
        std::ifstream in{"/proc/sysvipc/shm"};
        std::string line;
        std::getline(in, line); // header
        while (std::getline(in, line)) {
            std::istringstream fields{line};
            long long k = 0;
            if (fields >> k && k == key) return true;
        }
        return false;
    }
    struct ::stat st {};
    return ::stat(("/dev/shm/polychan." + name).c_str(), &st) == 0;
}

/// Waits (bounded) until the segment of `name` exists; false if it never did.
inline bool wait_for_segment(std::string_view storage, const std::string& name,
                             std::chrono::seconds limit = std::chrono::seconds(20)) {
    auto const until = std::chrono::steady_clock::now() + limit;
    while (!segment_exists(storage, name)) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace polychan::test::ipc
