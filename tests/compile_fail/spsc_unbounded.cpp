// Must not compile: the lock-free spsc ring is bounded; heap_unbounded with it is rejected by
// a static_assert whose diagnostic names the policy (basic_spsc).
// POLYCHAN_CONTROL: the same composition on a bounded storage, must compile.
#include <polychan/polychan.hpp>

#ifdef POLYCHAN_CONTROL
using storage_under_test = polychan::storage::heap_fixed<4>;
#else
using storage_under_test = polychan::storage::heap_unbounded;
#endif

int main() {
    polychan::channel<int, storage_under_test, polychan::ordering::block, polychan::sync::spsc> ch;
    return ch.write(1) == polychan::status::ok ? 0 : 1;
}
