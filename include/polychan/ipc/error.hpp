// polychan — the exception thrown when a cross-process channel cannot be created or attached.
#pragma once

#include <stdexcept>
#include <string>

namespace polychan::ipc {

/// A named channel could not be created, opened or attached: a bad name, a permission
/// problem, a segment whose header does not match what this process expects (the message
/// names the field and both values), a role already taken, or a system call that failed.
class error : public std::runtime_error {
  public:
    /// `what` says which channel and what went wrong.
    explicit error(const std::string& what) : std::runtime_error(what) {}
};

} // namespace polychan::ipc
