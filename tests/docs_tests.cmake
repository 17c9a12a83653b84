# CTest tests that compile (and, where they have a main, run) every ```cpp snippet of the docs:
# README.md and docs/*.md, one test per file (docs_snippets_<file>). The rule for authors is
# at the top of docs_snippets.cmake. docs_snippets_selftest shows that a broken snippet is
# caught: its fixture holds one good and two broken snippets, and it passes only if exactly
# the two broken ones fail.
get_target_property(polychan_include_dirs polychan INTERFACE_INCLUDE_DIRECTORIES)
set(docs_flags -std=c++20 -Wall -Wextra -Wpedantic -Werror -O1 -pthread)
foreach(dir IN LISTS polychan_include_dirs)
    string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" dir "${dir}")
    if(NOT dir MATCHES "^\\$<")
        list(APPEND docs_flags "-I${dir}")
    endif()
endforeach()
list(JOIN docs_flags " " docs_flags)

# polychan_add_docs_test(NAME DOC file [MIN n] [EXPECT_FAILURES n])
function(polychan_add_docs_test name)
    cmake_parse_arguments(ARG "" "DOC;MIN;EXPECT_FAILURES" "" ${ARGN})
    if(NOT ARG_MIN)
        set(ARG_MIN 0)
    endif()
    if(NOT ARG_EXPECT_FAILURES)
        set(ARG_EXPECT_FAILURES 0)
    endif()
    add_test(NAME ${name}
             COMMAND ${CMAKE_COMMAND} -DDOC=${ARG_DOC} -DOUT=${CMAKE_CURRENT_BINARY_DIR}/docs_snippets/${name}
                     -DCXX=${CMAKE_CXX_COMPILER} "-DFLAGS=${docs_flags}" -DMIN_SNIPPETS=${ARG_MIN}
                     -DEXPECT_FAILURES=${ARG_EXPECT_FAILURES} -P ${CMAKE_CURRENT_SOURCE_DIR}/docs_snippets.cmake)
    set_tests_properties(${name} PROPERTIES TIMEOUT 900 LABELS docs)
endfunction()

polychan_add_docs_test(docs_snippets_selftest DOC ${CMAKE_CURRENT_SOURCE_DIR}/docs_fixtures/selftest.md MIN 3
                       EXPECT_FAILURES 2)
polychan_add_docs_test(docs_snippets_README DOC ${PROJECT_SOURCE_DIR}/README.md MIN 1)

# Every Markdown file under docs/, including ones added later; the guide and the policy
# document must keep their snippets.
file(GLOB docs_markdown CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
foreach(doc IN LISTS docs_markdown)
    get_filename_component(doc_name ${doc} NAME_WE)
    set(min 0)
    if(doc_name STREQUAL "guide" OR doc_name STREQUAL "policies")
        set(min 3)
    endif()
    polychan_add_docs_test(docs_snippets_${doc_name} DOC ${doc} MIN ${min})
endforeach()
