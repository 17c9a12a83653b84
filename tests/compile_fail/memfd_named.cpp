// Must not compile: an anonymous storage (memfd) has no name, so the named API (create, open,
// open_or_create, remove) rejects it with a static_assert that says what to use instead.
// POLYCHAN_CONTROL: the same channel type through create_anonymous, must compile.
#include <polychan/ipc.hpp>

int main() {
#ifdef POLYCHAN_CONTROL
    auto ch = polychan::ipc::create_anonymous<int>("jobs", 8);
#else
    auto ch = polychan::ipc::create<int, polychan::ordering::block, polychan::sync::mutex, polychan::storage::memfd>(
        "jobs", 8);
#endif
    return ch.capacity() == 8 ? 0 : 1;
}
