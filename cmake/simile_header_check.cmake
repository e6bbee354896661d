# simile_add_header_check(<target-name> <library-target>)
#
# Adds <target-name>, a target outside ALL that checks every public header include/simile/**/*.hpp (not
# detail/ or *-inl.hpp) on
# its own: for each header a generated one-line-per-include .cpp includes it twice (the second include
# must be a no-op: include guard or #pragma once) and the compiler parses it with -fsyntax-only. A
# header that leans on something its includer happened to include first fails here, by name.
#
# Parsing only, so no object files: each check is a custom command that touches a stamp, and a header
# is rechecked only when it or a header it includes changes (depfile).
#
# Eigen/Core takes 2.2 of the 3.1 s clang spends on a typical header (measured on the 133 headers here), so
# it is parsed once, into a precompiled header, and included first by the check of every header that
# includes it anyway, directly or through simile's headers (a scan of their #include lines at configure
# time). Those headers see nothing more than they would alone: Eigen/Core and what it includes reach them
# either way, and no simile header defines an EIGEN_ macro before it. A header that does not reach Eigen
# is parsed without it, so a standard header it forgets is still missed by name. Include directories, compile
# definitions and compile options are those <library-target> gives its users, transitively (Eigen,
# oneDNN, OpenMP's -fopenmp), read through generator expressions, plus its C++ standard.
#
#   cmake --build <dir> --target simile_header_check
# The compiler that parses the headers: the build's unless SIMILE_HEADER_CHECK_CXX names another (CI uses
# clang++-15 with libomp-15-dev: a second compiler's view of the headers, and a faster parser than g++).
set(SIMILE_HEADER_CHECK_CXX "" CACHE STRING "compiler for simile_header_check (empty: CMAKE_CXX_COMPILER)")

# _simile_header_reaches_eigen(<root> <header> <out>): TRUE when <header> (a path under <root>) includes an
# Eigen header, directly or through the simile headers it includes ("simile/..." under <root>). A scan of
# #include lines that ignores #if around them: it may say TRUE where some configuration skips the include.
function(_simile_header_reaches_eigen root header out)
  get_property(known GLOBAL PROPERTY _simile_reaches_eigen_${header} SET)
  if(known)
    get_property(result GLOBAL PROPERTY _simile_reaches_eigen_${header})
    set(${out} ${result} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY _simile_reaches_eigen_${header} FALSE)  # a cycle ends here
  set(result FALSE)
  file(STRINGS ${root}/${header} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*" "\\1" included "${line}")
    if(included MATCHES "^Eigen/")
      set(result TRUE)
    elseif(included MATCHES "^simile/" AND EXISTS ${root}/${included})
      _simile_header_reaches_eigen(${root} ${included} nested)
      if(nested)
        set(result TRUE)
      endif()
    endif()
    if(result)
      break()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY _simile_reaches_eigen_${header} ${result})
  set(${out} ${result} PARENT_SCOPE)
endfunction()

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

  # Eigen/Core precompiled with the same flags, as the compiler looks for it beside the header it names
  # with -include: <header>.pch for clang, <header>.gch for GCC (which parses the header itself when it
  # finds no usable .gch, so the check stays right, only slower).
  set(eigen_header ${dir}/eigen_core.hpp)
  file(CONFIGURE OUTPUT ${eigen_header} CONTENT "#include <Eigen/Core>\n" @ONLY)
  if(compiler MATCHES "clang")
    set(eigen_pch ${eigen_header}.pch)
  else()
    set(eigen_pch ${eigen_header}.gch)
  endif()
  add_custom_command(
    OUTPUT ${eigen_pch}
    COMMAND ${compiler} @${flags} -x c++-header ${eigen_header} -o ${eigen_pch}
    DEPENDS ${eigen_header} ${flags}
    COMMENT "Header check: precompiling Eigen/Core"
    VERBATIM)

  set(stamps)
  set(with_eigen 0)
  foreach(header ${headers})
    string(REGEX REPLACE "[/.]" "_" stem ${header})
    set(source ${dir}/${stem}.cpp)
    set(stamp ${dir}/${stem}.stamp)
    file(CONFIGURE OUTPUT ${source} CONTENT "#include \"${header}\"\n#include \"${header}\"\n" @ONLY)
    _simile_header_reaches_eigen(${PROJECT_SOURCE_DIR}/include ${header} reaches_eigen)
    set(preinclude)
    set(preinclude_depends)
    if(reaches_eigen)
      set(preinclude -include ${eigen_header})
      set(preinclude_depends ${eigen_pch})
      math(EXPR with_eigen "${with_eigen} + 1")
    endif()
    add_custom_command(
      OUTPUT ${stamp}
      COMMAND ${compiler} @${flags} ${preinclude} -fsyntax-only -MD -MT ${stamp} -MF ${stamp}.d ${source}
      COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
      DEPENDS ${source} ${flags} ${PROJECT_SOURCE_DIR}/include/${header} ${preinclude_depends}
      DEPFILE ${stamp}.d
      COMMENT "Header check: ${header}"
      VERBATIM)
    list(APPEND stamps ${stamp})
  endforeach()
  add_custom_target(${name} DEPENDS ${stamps})
  list(LENGTH headers count)
  message(STATUS "simile: ${name} checks ${count} headers, ${with_eigen} of them after precompiled Eigen/Core (not in ALL)")
endfunction()
