# cmake -DPROGRAM=<exe> -DARGS=<arguments> -DEXPECT_STATUS=<n>
#       -DFIRST_LINE=<regex> -DEVERY_LINE=<regex> -P check_stderr.cmake
# Runs the program and fails unless it exits with EXPECT_STATUS, the first
# line of its stderr matches FIRST_LINE and every line matches EVERY_LINE.
execute_process(COMMAND "${PROGRAM}" ${ARGS}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "stdout:\n${out}stderr:\n${err}exit status: ${status}")
if(NOT status STREQUAL EXPECT_STATUS)
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECT_STATUS}")
endif()
string(REGEX REPLACE "\n$" "" err "${err}")
if(err STREQUAL "")
  message(FATAL_ERROR "nothing on stderr")
endif()
string(REPLACE ";" "\\;" err "${err}")
string(REPLACE "\n" ";" lines "${err}")
list(GET lines 0 first)
if(NOT first MATCHES "${FIRST_LINE}")
  message(FATAL_ERROR "first line of stderr is '${first}', expected a match of '${FIRST_LINE}'")
endif()
foreach(line IN LISTS lines)
  if(NOT line MATCHES "${EVERY_LINE}")
    message(FATAL_ERROR "stderr line '${line}' does not match '${EVERY_LINE}'")
  endif()
endforeach()
