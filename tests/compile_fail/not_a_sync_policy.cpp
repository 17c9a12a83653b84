// Must not compile: `int` is not a sync policy. The diagnostic must name `sync_policy`.
// With POLYCHAN_CONTROL defined the same file uses a real policy and must compile, which shows
// that the failure comes from the policy and not from anything else in this file.
#include <polychan/polychan.hpp>

#ifdef POLYCHAN_CONTROL
using sync_under_test = polychan::sync::mutex;
#else
using sync_under_test = int;
#endif

int main() {
    polychan::channel<int, polychan::storage::heap, polychan::ordering::block, sync_under_test> ch{4};
    return ch.write(1) == polychan::status::ok ? 0 : 1;
}
