// polychan verify — spsc x always_last: the writer evicts when full and the reader evicts all
// but the newest item before reading, both through the same CAS-arbitrated take (see
// spsc_evicting.hpp for what is checked).
#include "spsc_evicting.hpp"

namespace {
template <std::size_t Capacity, class Orders>
using always_last_model = polychan::verify::evicting_model<polychan::ordering::always_last, Capacity, Orders>;
} // namespace

int main(int argc, char** argv) {
    return polychan::verify::run_spsc_model<polychan::verify::catches<"publish", "observe", "finish", "reuse">,
                                            always_last_model>("spsc always_last", argc, argv);
}
