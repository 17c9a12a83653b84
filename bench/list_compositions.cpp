// polychan report helper: prints "<index>\t<storage>/<ordering>/<sync>" for every element of
// tests/compositions.hpp's all_compositions, the list the conformance suite's
// TEMPLATE_LIST_TEST_CASEs run over. Catch2 names those test cases
// "<name> - all_compositions - <index>", so this is how scripts/report_matrix tells which
// composition a result belongs to.
#include <compositions.hpp> // tests/compositions.hpp (on the include path; not bench/compositions.hpp)

#include <cstddef>
#include <iostream>
#include <tuple>
#include <utility>

namespace {
template <class Tuple, std::size_t... I>
void print(std::index_sequence<I...>) {
    ((std::cout << I << '\t' << std::tuple_element_t<I, Tuple>::name() << '\n'), ...);
}
} // namespace

int main() {
    using list = polychan::test::all_compositions;
    print<list>(std::make_index_sequence<std::tuple_size_v<list>>{});
}
