# Runs one `simile` command line and checks it: cmake -DCOMMAND=<simile> -DARGS=<;-list> -DSTATUS=<exit status>
#   [-DEXPECT=<text the output must contain>] [-DFILES=<;-list of files it must write>]
#   [-DFRESH_DIR=<directory emptied before the run>] [-DLAUNCHER=<;-list: mpiexec and its flags>] -P cli_test.cmake
# WILL_FAIL only knows "non-zero"; a bad command line must give exactly 2 and say which option is wrong.
if(FRESH_DIR)
  file(REMOVE_RECURSE "${FRESH_DIR}")
  file(MAKE_DIRECTORY "${FRESH_DIR}")
endif()
execute_process(COMMAND ${LAUNCHER} ${COMMAND} ${ARGS} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("$ simile ${ARGS}\nexit status ${status}\n--- stdout\n${out}--- stderr\n${err}")
if(NOT status STREQUAL STATUS)
  message(FATAL_ERROR "exit status ${status}, expected ${STATUS}")
endif()
if(DEFINED EXPECT AND NOT EXPECT STREQUAL "")
  string(FIND "${out}${err}" "${EXPECT}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the output does not contain '${EXPECT}'")
  endif()
endif()
foreach(file IN LISTS FILES)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "${file} was not written")
  endif()
endforeach()
