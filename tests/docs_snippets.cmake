# Compiles every ```cpp block of one Markdown file, so the docs cannot rot.
#
# The rule for authors: a block fenced with ```cpp is a complete translation unit (includes and
# all). If it defines `int main(`, it is also linked and run and must exit with status 0, so a
# snippet can check the behaviour it describes. Blocks with any other tag (or none) are not
# compiled. Errors point at the Markdown file: each snippet starts with a #line directive.
#
#   cmake -DDOC=<file.md> -DOUT=<dir> -DCXX=<compiler> "-DFLAGS=<flags>" [-DMIN_SNIPPETS=n]
#         [-DEXPECT_FAILURES=n] -P docs_snippets.cmake
#
# EXPECT_FAILURES (default 0) lets the self-test check that broken snippets are caught: the
# run passes only if exactly that many snippets fail.
cmake_minimum_required(VERSION 3.21)
foreach(required DOC OUT CXX)
    if(NOT DEFINED ${required})
        message(FATAL_ERROR "docs_snippets.cmake: -D${required}=... is required")
    endif()
endforeach()
if(NOT DEFINED MIN_SNIPPETS)
    set(MIN_SNIPPETS 0)
endif()
if(NOT DEFINED EXPECT_FAILURES)
    set(EXPECT_FAILURES 0)
endif()
separate_arguments(FLAGS UNIX_COMMAND "${FLAGS}")

file(READ "${DOC}" text)
get_filename_component(doc_name "${DOC}" NAME_WE)
file(MAKE_DIRECTORY "${OUT}")

set(open_fence "\n```cpp\n")
set(close_fence "\n```")
set(count 0)
set(failed "")
set(pos 0)
while(TRUE)
    # Find the next ```cpp fence at the start of a line, at or after `pos`.
    string(SUBSTRING "${text}" ${pos} -1 rest)
    string(FIND "${rest}" "${open_fence}" found)
    if(found EQUAL -1)
        break()
    endif()
    string(LENGTH "${open_fence}" fence_length)
    math(EXPR body_start "${pos} + ${found} + ${fence_length}")
    string(SUBSTRING "${text}" ${body_start} -1 body_and_rest)
    string(FIND "${body_and_rest}" "${close_fence}" body_length)
    if(body_length EQUAL -1)
        message(FATAL_ERROR "${DOC}: a ```cpp block is never closed")
    endif()
    string(SUBSTRING "${body_and_rest}" 0 ${body_length} body)
    math(EXPR pos "${body_start} + ${body_length} + 4") # past "\n```"

    # The Markdown line the body starts on, for the #line directive.
    string(SUBSTRING "${text}" 0 ${body_start} before)
    string(REGEX MATCHALL "\n" newlines "${before}")
    list(LENGTH newlines line)
    math(EXPR line "${line} + 1")

    math(EXPR count "${count} + 1")
    set(source "${OUT}/${doc_name}_${count}.cpp")
    set(binary "${OUT}/${doc_name}_${count}")
    file(WRITE "${source}" "#line ${line} \"${DOC}\"\n${body}\n")

    if(body MATCHES "int main\\(")
        execute_process(COMMAND ${CXX} ${FLAGS} "${source}" -o "${binary}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                        ERROR_VARIABLE out)
        if(rc EQUAL 0)
            execute_process(COMMAND "${binary}" RESULT_VARIABLE rc OUTPUT_VARIABLE run_out ERROR_VARIABLE run_out
                            TIMEOUT 60)
            if(NOT rc EQUAL 0)
                set(out "the snippet ran and exited with ${rc}:\n${run_out}")
            endif()
        endif()
    else()
        execute_process(COMMAND ${CXX} ${FLAGS} -c "${source}" -o "${binary}.o" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                        ERROR_VARIABLE out)
    endif()
    if(rc EQUAL 0)
        message(STATUS "${DOC}:${line}: snippet ${count} ok")
    else()
        message(STATUS "${DOC}:${line}: snippet ${count} FAILED\n${out}")
        list(APPEND failed "${line}")
    endif()
endwhile()

list(LENGTH failed failures)
message(STATUS "${DOC}: ${count} snippets, ${failures} failed")
if(count LESS MIN_SNIPPETS)
    message(FATAL_ERROR "${DOC}: expected at least ${MIN_SNIPPETS} ```cpp snippets, found ${count}")
endif()
if(NOT failures EQUAL EXPECT_FAILURES)
    message(FATAL_ERROR "${DOC}: ${failures} snippets failed (expected ${EXPECT_FAILURES}), at lines: ${failed}")
endif()
