// polychan tests — checks shared by the named (ipc) and anonymous (ipc_memfd) suites: what a
// writer -> reader transfer between two helper processes must show, and the message of an
// ipc::error.
#pragma once

#include "ipc_process.hpp"

#include <polychan/ipc/error.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace polychan::test::ipc {

/// The error message of `f`, or "" if it did not throw polychan::ipc::error.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const polychan::ipc::error& e) {
        return e.what();
    }
    return "";
}

/// The writer's and reader's reports (parse_fields of their output) after `items` items
/// in ordering `ordering`: no loss, reordering, duplication or tearing beyond what the
/// ordering allows, and every item either delivered or counted as discarded.
inline void check_transfer(const std::map<std::string, std::string>& w, const std::map<std::string, std::string>& r,
                           const std::string& ordering, std::uint64_t items) {
    CHECK(field_ll(r, "errors") == 0);
    CHECK(field_ll(r, "torn") == 0);
    long long const received = field_ll(r, "received");
    long long const discarded = field_ll(r, "discarded");
    // Every item is either delivered or counted as discarded: nothing vanishes.
    CHECK(received + discarded == static_cast<long long>(items));
    if (ordering == "block") {
        CHECK(received == static_cast<long long>(items));
        CHECK(discarded == 0);
    }
    if (ordering == "discard_new") CHECK(field_ll(w, "dropped") == discarded);
    if (ordering == "discard_old" || ordering == "always_last" || ordering == "block") {
        CHECK(field_ll(r, "last") == static_cast<long long>(items - 1)); // the newest is never lost
    }
}

} // namespace polychan::test::ipc
