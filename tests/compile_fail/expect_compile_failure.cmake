# Runs the compiler on SOURCE twice:
#   - as is: the compile must FAIL and its output must match every regex in EXPECT (a ';' list);
#   - with -DPOLYCHAN_CONTROL: the compile must SUCCEED, so the failure above is the one the
#     test is about and not a typo elsewhere in the file.
# Variables: COMPILER, SOURCE, INCLUDES (';' list), EXPECT (';' list).
foreach(var COMPILER SOURCE INCLUDES EXPECT)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "expect_compile_failure.cmake: ${var} is not set")
    endif()
endforeach()

set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror)
foreach(dir IN LISTS INCLUDES)
    list(APPEND flags -I${dir})
endforeach()

execute_process(COMMAND ${COMPILER} ${flags} ${SOURCE} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(result EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but it must be rejected")
endif()
foreach(regex IN LISTS EXPECT)
    if(NOT out MATCHES "${regex}")
        message(FATAL_ERROR "${SOURCE} was rejected, but the diagnostic does not match '${regex}':\n${out}")
    endif()
endforeach()

execute_process(COMMAND ${COMPILER} ${flags} -DPOLYCHAN_CONTROL ${SOURCE} RESULT_VARIABLE result OUTPUT_VARIABLE out
                ERROR_VARIABLE out)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "the control build of ${SOURCE} (-DPOLYCHAN_CONTROL) must compile:\n${out}")
endif()
message(STATUS "${SOURCE}: rejected with the expected diagnostic; the control compiles")
