// polychan tests — a helper program run as a real process (fork + exec) whose stdout is a
// pipe to the test: read line by line, or all of it once it exits, with or without a limit.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace polychan::test {

/// `program args...` running as a child process; SIGKILLed and reaped if still running when destroyed.
class child_process {
  public:
    using clock_type = std::chrono::steady_clock;

    child_process(const char* program, const std::vector<std::string>& args) {
        int fds[2];
        // Close-on-exec: a write end inherited by another child would keep this pipe open
        // after this child exits, and reads to the end would wait for that one too.
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(program));
            for (auto const& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            ::execv(program, argv.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            reap();
        }
        if (out_ >= 0) ::close(out_);
    }

    pid_t pid() const { return pid_; }

    /// The next line of output (without its newline); what is left at end of output.
    std::string read_line() {
        for (;;) {
            if (auto line = take_line()) return *line;
            if (!fill(std::nullopt)) return std::exchange(buffer_, {});
        }
    }
    /// The next line of output, or nullopt at end of output or when `limit` passes.
    std::optional<std::string> read_line(std::chrono::milliseconds limit) {
        auto const until = clock_type::now() + limit;
        for (;;) {
            if (auto line = take_line()) return line;
            if (!fill(until)) return std::nullopt;
        }
    }
    /// Everything it prints until it exits, then reaps it.
    std::string finish() {
        while (fill(std::nullopt)) {
        }
        reap();
        return std::exchange(buffer_, {});
    }
    /// As finish(), SIGKILLing it (hung) if `limit` passes first.
    std::string finish(std::chrono::milliseconds limit) {
        auto const until = clock_type::now() + limit;
        while (fill(until)) {
        }
        if (clock_type::now() >= until && pid_ > 0) {
            hung_ = true;
            ::kill(pid_, SIGKILL);
        }
        reap();
        return std::exchange(buffer_, {});
    }
    /// Tells the helper to finish (SIGUSR1: a clean exit, for helpers that handle it).
    void stop() const {
        if (pid_ > 0) ::kill(pid_, SIGUSR1);
    }
    /// SIGKILL, then reap (a zombie still counts as alive to others for a while).
    void kill_now() {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        reap();
    }
    /// Whether it has exited (reaped here if so; its output stays in the pipe for finish).
    bool exited() {
        if (pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_) pid_ = -1;
        return pid_ <= 0;
    }
    bool hung() const { return hung_; }
    bool exited_normally() const { return WIFEXITED(status_); }
    bool killed() const { return WIFSIGNALED(status_); }
    /// The exit code, or -1000 - the signal that ended it.
    int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1000 - WTERMSIG(status_); }

  private:
    std::optional<std::string> take_line() {
        auto const nl = buffer_.find('\n');
        if (nl == std::string::npos) return std::nullopt;
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
    }
    /// Reads what is there, waiting until `until` (for ever if none); false at end of output or timeout.
    bool fill(std::optional<clock_type::time_point> until) {
        for (;;) {
            int wait_ms = -1;
            if (until) {
                auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - clock_type::now());
                if (left.count() <= 0) return false;
                wait_ms = static_cast<int>(left.count()) + 1;
            }
            pollfd p{out_, POLLIN, 0};
            int const n = ::poll(&p, 1, wait_ms);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            char buf[4096];
            ssize_t const got = ::read(out_, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) return false;
            buffer_.append(buf, static_cast<std::size_t>(got));
            return true;
        }
    }
    void reap() {
        if (pid_ <= 0) return;
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    pid_t pid_ = -1;
    int out_ = -1;
    int status_ = 0;
    bool hung_ = false;
    std::string buffer_;
};

} // namespace polychan::test
