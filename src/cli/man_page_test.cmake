# Checks the man page simile(1) against the tool (cmake -P script, run by ctest as simile.cli.man_page):
#
#   cmake -DSIMILE=<simile tool> -DPAGE=<simile.1> -P man_page_test.cmake
#
# - the page has its sections and the tool's version;
# - every option that `simile <command> --help` lists for train, eval and embed is in the page, in bold;
# - groff (when installed: Debian's groff-base) formats it with all warnings on (-ww) and says nothing, and
#   the text it renders holds each command's subsection.
cmake_minimum_required(VERSION 3.21)
if(NOT EXISTS "${PAGE}")
  message(FATAL_ERROR "man page: ${PAGE} does not exist (built by the target simile_man_page)")
endif()
file(READ "${PAGE}" page)
execute_process(COMMAND "${SIMILE}" --version OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
foreach(text ".TH SIMILE 1" "\"${version}\"" ".SH NAME" ".SH SYNOPSIS" ".SH DESCRIPTION" ".SH COMMANDS" ".SH EXIT STATUS"
             ".SH EXAMPLES" ".SS \"simile train\"" ".SS \"simile eval\"" ".SS \"simile embed\"")
  string(FIND "${page}" "${text}" at)
  if(at LESS 0)
    message(FATAL_ERROR "man page: '${text}' is missing from ${PAGE}")
  endif()
endforeach()

# The commands of this build (train, eval, embed; plot and report with cairo), as `simile --help` lists them.
execute_process(COMMAND "${SIMILE}" --help OUTPUT_VARIABLE top)
string(REGEX REPLACE ".*\nSubcommands:\n" "" listed "${top}")
string(REGEX MATCHALL "(^|\n)  [a-z]+ " commands "${listed}")
list(TRANSFORM commands STRIP)
set(count 0)
foreach(command ${commands})
  string(FIND "${page}" ".SS \"simile ${command}\"" at)
  if(at LESS 0)
    message(FATAL_ERROR "man page: no subsection for 'simile ${command}' in ${PAGE}")
  endif()
  execute_process(COMMAND "${SIMILE}" ${command} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man page: 'simile ${command} --help' failed (${rc})")
  endif()
  string(REGEX MATCHALL "\n  (-[^ \n]*)" options "${help}")
  foreach(option IN LISTS options)
    string(STRIP "${option}" option)
    string(REPLACE "-" "\\-" bold "\\fB${option}")
    string(FIND "${page}" "${bold}" at)
    if(at LESS 0)
      message(FATAL_ERROR "man page: simile ${command}'s option ${option} is not in ${PAGE}")
    endif()
    math(EXPR count "${count} + 1")
  endforeach()
endforeach()
if(count LESS 50)
  message(FATAL_ERROR "man page: only ${count} options found in the commands' --help")
endif()

find_program(groff groff)
if(groff)
  # Plain ASCII text: no bold, underline or overstrike (grotty -c -b -o -u).
  execute_process(COMMAND "${groff}" -man -ww -Tascii -P-cbou "${PAGE}" RESULT_VARIABLE rc OUTPUT_VARIABLE text
                  ERROR_VARIABLE warnings)
  if(NOT rc EQUAL 0 OR NOT warnings STREQUAL "")
    message(FATAL_ERROR "man page: groff -man -ww failed (${rc}) or warned:\n${warnings}")
  endif()
  foreach(heading "EXIT STATUS" "simile train" "simile eval" "simile embed" "--budget-seconds")
    string(FIND "${text}" "${heading}" at)
    if(at LESS 0)
      message(FATAL_ERROR "man page: the page groff renders lacks '${heading}'")
    endif()
  endforeach()
  message(STATUS "man page: ${count} options, formatted by groff without a warning")
else()
  message(STATUS "man page: ${count} options (groff not installed: formatting not checked)")
endif()
