# simile_add_header_check(<target-name> <library-target>)
#
# Adds <target-name>, a target outside ALL that checks every public header include/simile/**/*.hpp (not
# detail/ or *-inl.hpp) on
# its own: for each header a generated one-line-per-include .cpp includes it twice (the second include
# must be a no-op: include guard or #pragma once) and the compiler parses it with -fsyntax-only. A
# header that leans on something its includer happened to include first fails here, by name.
#
# Parsing only, so no object files: each check is a custom command that touches a stamp, and a header
# is rechecked only when it or a header it includes changes (depfile). Include directories, compile
# definitions and compile options are those <library-target> gives its users, transitively (Eigen,
# oneDNN, OpenMP's -fopenmp), read through generator expressions, plus its C++ standard.
#
#   cmake --build <dir> --target simile_header_check
# The compiler that parses the headers: the build's unless SIMILE_HEADER_CHECK_CXX names another (CI uses
# clang++-15 with libomp-15-dev: a second compiler's view of the headers, and a faster parser than g++).
set(SIMILE_HEADER_CHECK_CXX "" CACHE STRING "compiler for simile_header_check (empty: CMAKE_CXX_COMPILER)")

function(simile_add_header_check name library)
  set(compiler ${CMAKE_CXX_COMPILER})
  if(SIMILE_HEADER_CHECK_CXX)
    set(compiler ${SIMILE_HEADER_CHECK_CXX})
  endif()
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/include
       ${PROJECT_SOURCE_DIR}/include/simile/*.hpp)
  # The headers users include: not detail/ nor the *-inl.hpp definitions, which only simile's own headers
  # and src/ include (the compiled part's build covers those).
  list(FILTER headers EXCLUDE REGEX "(/detail/|-inl\\.hpp$)")
  list(SORT headers)

  # The flags go through a response file: file(GENERATE) may evaluate $<COMPILE_LANGUAGE:CXX>, which
  # OpenMP::OpenMP_CXX puts around -fopenmp, where add_custom_command may not.
  set(includes "$<TARGET_PROPERTY:${library},INTERFACE_INCLUDE_DIRECTORIES>")
  set(definitions "$<TARGET_PROPERTY:${library},INTERFACE_COMPILE_DEFINITIONS>")
  set(options "$<TARGET_PROPERTY:${library},INTERFACE_COMPILE_OPTIONS>")
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  set(flags ${dir}/flags-$<CONFIG>.rsp)
  file(GENERATE OUTPUT ${flags} CONTENT "${CMAKE_CXX20_STANDARD_COMPILE_OPTION}
$<$<BOOL:${includes}>:\"-I$<JOIN:${includes},\"\n\"-I>\">
$<$<BOOL:${definitions}>:\"-D$<JOIN:${definitions},\"\n\"-D>\">
$<$<BOOL:${options}>:\"$<JOIN:${options},\"\n\">\">
")

  set(stamps)
  foreach(header ${headers})
    string(REGEX REPLACE "[/.]" "_" stem ${header})
    set(source ${dir}/${stem}.cpp)
    set(stamp ${dir}/${stem}.stamp)
    file(CONFIGURE OUTPUT ${source} CONTENT "#include \"${header}\"\n#include \"${header}\"\n" @ONLY)
    add_custom_command(
      OUTPUT ${stamp}
      COMMAND ${compiler} @${flags} -fsyntax-only -MD -MT ${stamp} -MF ${stamp}.d ${source}
      COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
      DEPENDS ${source} ${flags} ${PROJECT_SOURCE_DIR}/include/${header}
      DEPFILE ${stamp}.d
      COMMENT "Header check: ${header}"
      VERBATIM)
    list(APPEND stamps ${stamp})
  endforeach()
  add_custom_target(${name} DEPENDS ${stamps})
  list(LENGTH headers count)
  message(STATUS "simile: ${name} checks ${count} headers (not in ALL)")
endfunction()
