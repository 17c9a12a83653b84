// polychan tests — what is in /dev/shm: a suite checks at its end that it left nothing there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>

namespace polychan::test {

/// The names in /dev/shm that start with `prefix` (none if /dev/shm cannot be read).
inline std::vector<std::string> shm_names_starting_with(std::string_view prefix) {
    std::vector<std::string> found;
    if (DIR* d = ::opendir("/dev/shm")) {
        while (dirent* e = ::readdir(d))
            if (std::string_view{e->d_name}.starts_with(prefix)) found.emplace_back(e->d_name);
        ::closedir(d);
    }
    return found;
}

} // namespace polychan::test
