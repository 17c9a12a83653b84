// polychan — validation of the names users give to cross-process channels.
#pragma once

#include <polychan/ipc/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace polychan::storage::detail {

/// Longest channel name: /dev/shm entries are limited to NAME_MAX (255) bytes, and the
/// name gets a "polychan." prefix there.
inline constexpr std::size_t max_channel_name = 200;

/// Throws ipc::error unless `name` is 1..200 characters of [A-Za-z0-9._-] not starting
/// with '.' or '-': no '/', so it cannot escape /dev/shm; no hidden or option-like names.
inline void validate_channel_name(std::string_view name) {
    auto fail = [&](const std::string& why) {
        throw ipc::error("polychan: invalid channel name '" + std::string{name.substr(0, 64)} + "': " + why);
    };
    if (name.empty()) fail("it is empty");
    if (name.size() > max_channel_name)
        fail("it has " + std::to_string(name.size()) + " characters, at most " + std::to_string(max_channel_name) +
             " are allowed");
    if (name.front() == '.' || name.front() == '-') fail("it must not start with '.' or '-'");
    for (std::size_t i = 0; i < name.size(); ++i) {
        char const c = name[i];
        bool const ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) {
            fail("character " + std::to_string(i) + " (code " + std::to_string(static_cast<unsigned char>(c)) +
                 ") is not one of A-Z a-z 0-9 . _ -");
        }
    }
}

} // namespace polychan::storage::detail
