// polychan verify — spsc x discard_old: the writer evicts the oldest item when full, racing
// the reader for it (see spsc_evicting.hpp for what is checked).
#include "spsc_evicting.hpp"

namespace {
template <std::size_t Capacity, class Orders>
using discard_old_model = polychan::verify::evicting_model<polychan::ordering::discard_old, Capacity, Orders>;
} // namespace

int main(int argc, char** argv) {
    return polychan::verify::run_spsc_model<discard_old_model>(
        "spsc discard_old", argc, argv, {"publish", "observe", "finish", "reuse", "count", "counted"});
}
