# Runs one example as a smoke test: it must exit with status 0 AND print a line matching
# EXPECT. (CTest's PASS_REGULAR_EXPRESSION alone would ignore the exit status.)
#   cmake -DEXAMPLE=<exe> "-DARGS=a;b" -DEXPECT=<regex> -P run_example.cmake
execute_process(COMMAND ${EXAMPLE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXAMPLE} exited with ${rc}")
endif()
if(NOT out MATCHES "${EXPECT}")
    message(FATAL_ERROR "${EXAMPLE}: the output does not match '${EXPECT}'")
endif()
