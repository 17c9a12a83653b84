// polychan — the named options of a cross-process channel.
#pragma once

#include <chrono>
#include <string>

namespace polychan::ipc {

/// How a named channel is created and attached. Every field has a safe default:
///
///     polychan::ipc::options opt;
///     opt.mode = 0660;                  // let the group attach too
///     auto ch = polychan::ipc::create<msg>("sensors", 64, opt);
struct options {
    /// Permission bits of a segment this process creates (applied exactly, whatever the
    /// umask). Only the owner may attach by default.
    unsigned mode = 0600;
    /// Attach to a segment owned by another user. Refused by default: a segment someone
    /// else created could be read, filled or corrupted by them.
    bool allow_other_owner = false;
    /// How long `open` waits for a segment whose creator is still initialising it.
    std::chrono::milliseconds attach_timeout{5000};
    /// Identifies the item type in the segment header instead of the compiler's type name:
    /// use the same tag in programs built from different sources for the same layout.
    std::string type_tag{};
};

} // namespace polychan::ipc
