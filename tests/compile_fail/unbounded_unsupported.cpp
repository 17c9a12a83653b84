// Must not compile: heap_unbounded with a sync policy whose supports_unbounded is false. The
// static_assert must say so and the diagnostic must name the policy.
// POLYCHAN_CONTROL: the same policy on a bounded storage, must compile.
#include <polychan/polychan.hpp>

#include <string_view>

namespace {
/// A bounded-only sync policy for this test: the mutex algorithm behind a policy that
/// declares it cannot grow.
struct bounded_only_sync {
    static constexpr std::string_view name = "bounded_only_sync";
    static constexpr bool supports_unbounded = false;
    static constexpr bool single_reader = false;
    static constexpr bool single_writer = false;
    template <class T, class Storage>
    using core = polychan::sync::mutex::core<T, Storage>;
};
} // namespace

#ifdef POLYCHAN_CONTROL
using storage_under_test = polychan::storage::heap_fixed<4>;
#else
using storage_under_test = polychan::storage::heap_unbounded;
#endif

int main() {
    polychan::channel<int, storage_under_test, polychan::ordering::block, bounded_only_sync> ch;
    return ch.write(1) == polychan::status::ok ? 0 : 1;
}
