#include <polychan/polychan.hpp>

#include <catch2/catch.hpp>

TEST_CASE("placeholder: a heap channel hands back what was written") {
    polychan::channel<int> ch{2};
    REQUIRE(ch.write(7) == polychan::status::ok);
    int v = 0;
    REQUIRE(ch.read(v));
    REQUIRE(v == 7);
}
