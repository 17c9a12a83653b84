// polychan tests — the ipc helper as a real process (child_process.hpp) and the one line of
// key=value pairs it prints.
#pragma once

#include "child_process.hpp"

#include <polychan/storage/sysv_shared_memory.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/stat.h>

namespace polychan::test::ipc {

/// The ipc helper (tests/ipc_helper.cpp) running as a process.
class helper_process : public child_process {
  public:
    explicit helper_process(const std::vector<std::string>& args) : child_process{POLYCHAN_IPC_HELPER, args} {}
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
