# Builds and runs tests/consumer, an outside project, against simile (cmake -P script, run by ctest).
#
#   cmake -DMODE=package|subdirectory -DSIMILE_SOURCE_DIR=<src> -DSIMILE_BINARY_DIR=<build>
#         -DWORK_DIR=<scratch> [-DGENERATOR=...] [-DMAKE_PROGRAM=...] [-DCXX_COMPILER=...]
#         [-DBUILD_TYPE=Release] [-DEXPECT_TOOL=ON] [-DHEADER_ONLY_CXX=clang++-15] -P simile_package_test.cmake
#
# package:      `cmake --install` the simile build into <scratch>/prefix, then configure the consumer with
#               CMAKE_PREFIX_PATH=<scratch>/prefix (find_package(simile CONFIG REQUIRED)), build, run.
# subdirectory: configure the consumer with add_subdirectory(<src>) and SIMILE_HEADER_ONLY=ON (so the two
#               modes cover the compiled library and the header-only one), which must define simile::simile and
#               add none of simile's tests, examples or benchmarks; build, run.
cmake_minimum_required(VERSION 3.21)

foreach(var MODE SIMILE_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "simile_package_test: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run_step name)
  string(TIMESTAMP start "%s")
  message(STATUS "[${MODE}] ${name}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  string(TIMESTAMP stop "%s")
  math(EXPR seconds "${stop} - ${start}")
  if(NOT rc EQUAL 0)
    message("${out}")
    message(FATAL_ERROR "[${MODE}] ${name} failed (${rc}) after ${seconds} s")
  endif()
  message(STATUS "[${MODE}] ${name}: ok (${seconds} s)")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(consumer_build "${WORK_DIR}/build")
set(configure_args -S "${SIMILE_SOURCE_DIR}/tests/consumer" -B "${consumer_build}"
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DSIMILE_CONSUMER_MODE=${MODE}
  # Only the prefix given here may satisfy find_package(simile): no user or system package registry.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(GENERATOR)
  list(APPEND configure_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()

if(MODE STREQUAL "package")
  if(NOT DEFINED SIMILE_BINARY_DIR)
    message(FATAL_ERROR "simile_package_test: package mode needs -DSIMILE_BINARY_DIR=<simile build>")
  endif()
  set(prefix "${WORK_DIR}/prefix")
  run_step("install" "${CMAKE_COMMAND}" --install "${SIMILE_BINARY_DIR}" --prefix "${prefix}" --config ${BUILD_TYPE})
  set(expected include/simile/simile.hpp include/simile/version.hpp)
  if(EXPECT_TOOL)  # the tool and its man page, when the build has the tool
    list(APPEND expected bin/simile share/man/man1/simile.1)
  endif()
  foreach(file ${expected})
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "[package] ${file} is missing from the installed tree")
    endif()
  endforeach()
  file(GLOB_RECURSE config_files "${prefix}/*/simileConfig.cmake")
  if(NOT config_files)
    message(FATAL_ERROR "[package] simileConfig.cmake is missing from the installed tree")
  endif()
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}" "-DSIMILE_CONSUMER_EXPECT_TYPE=STATIC_LIBRARY")
elseif(MODE STREQUAL "subdirectory")
  list(APPEND configure_args "-DSIMILE_SOURCE_DIR=${SIMILE_SOURCE_DIR}")
  # The source-tree consumer takes simile header-only, so the two ways of getting it also cover both
  # modes: the installed package is the compiled part, the subdirectory the interface-only target.
  list(APPEND configure_args "-DSIMILE_HEADER_ONLY=ON" "-DSIMILE_CONSUMER_EXPECT_TYPE=INTERFACE_LIBRARY")
  # Header-only, the consumer compiles all of simile twice over; unoptimized and without debug information
  # (-g costs a third more: 37 s against 27 s a unit), since what this mode checks is that it compiles and
  # links (no ODR clash between the two translation units), not its speed or its debugging.
  set(BUILD_TYPE Debug)
  list(TRANSFORM configure_args REPLACE "^-DCMAKE_BUILD_TYPE=.*" "-DCMAKE_BUILD_TYPE=Debug")
  list(APPEND configure_args "-DCMAKE_CXX_FLAGS_DEBUG=-O0")
else()
  message(FATAL_ERROR "simile_package_test: unknown MODE '${MODE}'")
endif()

if(MODE STREQUAL "subdirectory" AND HEADER_ONLY_CXX)
  # Header-only, each unit compiles all of simile: clang++-15 does it in 27 to 31 s where g++ takes 50
  # (`-c tests/consumer/loss.cpp` with the consumer's flags), and it gives the header-only definitions a
  # second compiler's full compile (the header check only parses them). Where clang cannot configure the
  # consumer (no libomp-15-dev for OpenMP), the build's compiler does, and the log says so.
  set(clang_args ${configure_args})
  list(TRANSFORM clang_args REPLACE "^-DCMAKE_CXX_COMPILER=.*" "-DCMAKE_CXX_COMPILER=${HEADER_ONLY_CXX}")
  if(NOT CXX_COMPILER)
    list(APPEND clang_args "-DCMAKE_CXX_COMPILER=${HEADER_ONLY_CXX}")
  endif()
  execute_process(COMMAND "${CMAKE_COMMAND}" ${clang_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    message(STATUS "[${MODE}] configure: ok with ${HEADER_ONLY_CXX}")
  else()
    message(STATUS "[${MODE}] ${HEADER_ONLY_CXX} could not configure the consumer; the build's compiler will:\n${out}")
    file(REMOVE_RECURSE "${consumer_build}")
    run_step("configure" "${CMAKE_COMMAND}" ${configure_args})
  endif()
else()
  run_step("configure" "${CMAKE_COMMAND}" ${configure_args})
endif()
if(MODE STREQUAL "package")
  # The consumer must have found the package we just installed, not another simile on the machine.
  file(STRINGS "${consumer_build}/CMakeCache.txt" simile_dir REGEX "^simile_DIR:")
  string(FIND "${simile_dir}" "${prefix}/" at)
  if(NOT at GREATER 0)
    message(FATAL_ERROR "[package] the consumer found simile elsewhere: ${simile_dir} (expected under ${prefix})")
  endif()
endif()
run_step("build" "${CMAKE_COMMAND}" --build "${consumer_build}" --config ${BUILD_TYPE})
find_program(consumer simile_consumer PATHS "${consumer_build}" "${consumer_build}/${BUILD_TYPE}" NO_DEFAULT_PATH
  NO_CACHE)
if(NOT consumer)
  message(FATAL_ERROR "[${MODE}] the consumer binary was not built")
endif()
run_step("run" "${consumer}")
message(STATUS "[${MODE}] ${step_output}")

if(MODE STREQUAL "package")
  # The same consumer without CMake, as a Makefile user builds it: the compiler, the sources and
  # `pkg-config --cflags --libs simile` from the prefix's simile.pc (relocatable: the prefix here is not the
  # one the build was configured with).
  find_program(pkg_config NAMES pkgconf pkg-config NO_CACHE)
  if(NOT pkg_config)
    message(FATAL_ERROR "[package] pkg-config is needed to test simile.pc (apt-get install pkgconf)")
  endif()
  file(GLOB_RECURSE pc_files "${prefix}/*/simile.pc")
  if(NOT pc_files)
    message(FATAL_ERROR "[package] simile.pc is missing from the installed tree")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
  run_step("pkg-config version" "${pkg_config}" --modversion simile)
  string(STRIP "${step_output}" pc_version)
  file(STRINGS "${prefix}/include/simile/version.hpp" version_lines REGEX "SIMILE_VERSION_(MAJOR|MINOR|PATCH) ")
  string(REGEX MATCHALL "[0-9]+" version_numbers "${version_lines}")
  list(JOIN version_numbers "." header_version)
  if(NOT pc_version STREQUAL header_version)
    message(FATAL_ERROR "[package] simile.pc says version '${pc_version}', version.hpp '${header_version}'")
  endif()
  run_step("pkg-config flags" "${pkg_config}" --cflags --libs simile)
  string(STRIP "${step_output}" pc_flags)
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  file(REAL_PATH "${prefix}/include" want_include)
  set(found_include "")
  foreach(flag ${pc_flags})
    if(flag MATCHES "^-I(.*)$")  # (${CMAKE_MATCH_1} is expanded before an if() runs: a second if)
      if(EXISTS "${CMAKE_MATCH_1}/simile/simile.hpp")
        file(REAL_PATH "${CMAKE_MATCH_1}" found_include)
      endif()
    endif()
  endforeach()
  if(NOT found_include STREQUAL want_include)
    message(FATAL_ERROR "[package] simile.pc's -I is not the prefix's include folder ${want_include}: ${pc_flags}")
  endif()
  set(pc_consumer "${WORK_DIR}/simile_consumer_pkg_config")
  run_step("pkg-config build" "${CXX_COMPILER}" -O0 "${SIMILE_SOURCE_DIR}/tests/consumer/main.cpp"
           "${SIMILE_SOURCE_DIR}/tests/consumer/loss.cpp" ${pc_flags} -o "${pc_consumer}")
  run_step("pkg-config run" "${pc_consumer}")
  message(STATUS "[${MODE}] pkg-config: ${step_output}")
endif()
