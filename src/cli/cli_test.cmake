# Runs one `simile` command line and checks it: cmake -DCOMMAND=<simile> -DARGS=<;-list> -DSTATUS=<exit status>
#   [-DEXPECT=<;-list of texts the output must contain>] [-DEXPECT_REGEX=<;-list of regular expressions it must match>]
#   [-DFILES=<;-list of files it must write>]
#   [-DFILE_TEXT=<file> -DFILE_EXPECT=<text its first 256 bytes must hold, e.g. an .npy header's shape>]
#   [-DFRESH_DIR=<directory emptied before the run>] [-DLAUNCHER=<;-list: mpiexec and its flags>]
#   [-DSTDOUT_FILE=<file the output's last line is written to, for a later test>] -P cli_test.cmake
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
foreach(text IN LISTS EXPECT)
  string(FIND "${out}${err}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the output does not contain '${text}'")
  endif()
endforeach()
foreach(pattern IN LISTS EXPECT_REGEX)
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "the output does not match '${pattern}'")
  endif()
endforeach()
if(STDOUT_FILE)
  string(STRIP "${out}" last)
  string(REGEX REPLACE ".*\n" "" last "${last}")
  file(WRITE "${STDOUT_FILE}" "${last}\n")
endif()
foreach(file IN LISTS FILES)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "${file} was not written")
  endif()
endforeach()
if(FILE_TEXT)
  file(STRINGS "${FILE_TEXT}" head LIMIT_INPUT 256)  # the printable strings: an .npy header has NUL bytes
  string(FIND "${head}" "${FILE_EXPECT}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${FILE_TEXT} does not hold '${FILE_EXPECT}' within its first 256 bytes: ${head}")
  endif()
endif()
