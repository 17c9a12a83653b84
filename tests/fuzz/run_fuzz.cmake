# Runs the segment fuzzer (tests/fuzz/segment_fuzz.cpp) for the fuzz_segment CTest test:
#   cmake -DFUZZER=<binary> -DCORPUS=<seed dir> -DCRASHES=<reproducer dir> -DSUPPRESSIONS=<file>
#         -DWORK=<scratch dir> -DSECONDS=<default length> -P run_fuzz.cmake
# or, when no clang++ with libFuzzer was found at configure time, -DMISSING=<why>: then it fails.
#
# The fuzzer starts from a fresh copy of the seed corpus plus the saved reproducers (so each
# run replays them first), runs for $ENV{POLYCHAN_FUZZ_SECONDS} (else SECONDS) seconds, and the
# test fails on any crash, sanitizer report, hang (an input running 10 s), leak, or a segment
# left in /dev/shm. POLYCHAN_FUZZ_KNOWN=1 also fuzzes the known findings the run otherwise
# steps around (tests/fuzz/README.md).
cmake_minimum_required(VERSION 3.21)

if(DEFINED MISSING)
    message(FATAL_ERROR "fuzz_segment: ${MISSING}. The fuzzer needs clang++ with libFuzzer, ASan and UBSan "
                        "(Debian: clang-14 libclang-rt-14-dev; run scripts/install-deps test), then re-run cmake.")
endif()

set(seconds ${SECONDS})
if(DEFINED ENV{POLYCHAN_FUZZ_SECONDS})
    set(seconds $ENV{POLYCHAN_FUZZ_SECONDS})
endif()
if(NOT seconds MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "fuzz_segment: POLYCHAN_FUZZ_SECONDS must be a positive number of seconds, not '${seconds}'")
endif()

# A tag for this run's channel names, so that what a crashed run left in /dev/shm is found.
string(RANDOM LENGTH 8 ALPHABET "abcdefghijklmnopqrstuvwxyz0123456789" tag)
set(leftovers_glob "/dev/shm/polychan.fuzzseg-${tag}-*")

file(REMOVE_RECURSE ${WORK}/corpus ${WORK}/artifacts)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(COPY ${CORPUS}/ DESTINATION ${WORK}/corpus)

set(env UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 POLYCHAN_FUZZ_TAG=${tag})
if(NOT "$ENV{POLYCHAN_FUZZ_KNOWN}" STREQUAL "1")
    set(env UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=${SUPPRESSIONS} ASAN_OPTIONS=detect_leaks=1
            POLYCHAN_FUZZ_TAG=${tag})
endif()
math(EXPR guard "${seconds} + 180")
message(STATUS "fuzz_segment: ${seconds} s, channel tag ${tag}, log ${WORK}/fuzz.log")
execute_process(
    COMMAND ${CMAKE_COMMAND} -E env ${env}
            ${FUZZER} -max_total_time=${seconds} -timeout=10 -rss_limit_mb=2560 -print_final_stats=1
            -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus ${CRASHES}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out
    TIMEOUT ${guard})
file(WRITE ${WORK}/fuzz.log "${out}")

set(failures "")
if(NOT rc EQUAL 0)
    list(APPEND failures "the fuzzer exited with '${rc}' (crash, sanitizer report, hang or leak)")
endif()
file(GLOB leftovers ${leftovers_glob})
if(leftovers)
    file(REMOVE ${leftovers})
    list(APPEND failures "segments left in /dev/shm (removed now): ${leftovers}")
endif()
string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" _ "${out}")
set(runs "${CMAKE_MATCH_1}")
string(REGEX MATCH "stat::average_exec_per_sec: *([0-9]+)" _ "${out}")
set(rate "${CMAKE_MATCH_1}")
if(rc EQUAL 0 AND (runs STREQUAL "" OR runs LESS 100))
    list(APPEND failures "only '${runs}' inputs ran: the harness rejects its inputs or the machine is starved")
endif()

if(failures)
    string(LENGTH "${out}" n)
    if(n GREATER 12000)
        math(EXPR from "${n} - 12000")
        string(SUBSTRING "${out}" ${from} -1 out)
    endif()
    file(GLOB artifacts ${WORK}/artifacts/*)
    set(how "")
    foreach(a IN LISTS artifacts)
        string(APPEND how "\n  POLYCHAN_FUZZ_TRACE=1 UBSAN_OPTIONS=print_stacktrace=1 ${FUZZER} ${a}")
    endforeach()
    list(JOIN failures "\n  " failures)
    message(FATAL_ERROR "${out}\nfuzz_segment FAILED:\n  ${failures}\nreproduce with:${how}\n")
endif()
message(STATUS "fuzz_segment: ${runs} inputs in ${seconds} s (${rate}/s), no finding")
