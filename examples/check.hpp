// polychan examples — a check that stays on in every build type.
//
// The examples double as smoke tests (ctest runs each one), so a wrong result must make the
// program fail: expect() prints what was expected and where, then exits with status 1.
// (assert() would vanish under -DNDEBUG.)
#pragma once

#include <cstdio>
#include <cstdlib>
#include <source_location>

inline void expect(bool holds, const char* what, std::source_location where = std::source_location::current()) {
    if (holds) return;
    std::fprintf(stderr, "FAILED: %s (%s:%u)\n", what, where.file_name(), static_cast<unsigned>(where.line()));
    std::exit(1);
}
