// Must not compile: a type without the ordering protocol is not an ordering policy. The
// diagnostic must name `ordering_policy`. POLYCHAN_CONTROL: a real ordering, must compile.
#include <polychan/polychan.hpp>

#include <string_view>

namespace {
/// Has a name, like an ordering, but no claim_write / claim_read.
struct not_an_ordering {
    static constexpr std::string_view name = "not_an_ordering";
};
} // namespace

#ifdef POLYCHAN_CONTROL
using ordering_under_test = polychan::ordering::discard_old;
#else
using ordering_under_test = not_an_ordering;
#endif

int main() {
    polychan::channel<int, polychan::storage::heap, ordering_under_test> ch{4};
    return ch.write(1) == polychan::status::ok ? 0 : 1;
}
