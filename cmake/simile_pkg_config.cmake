# simile_pkg_config(<library-target>): generates simile.pc in the build tree and installs it into
# <libdir>/pkgconfig, for builds without CMake (`pkg-config --cflags --libs simile`).
#
# It gives what simile::simile gives a CMake user: the include directory, C++20, the definitions (Eigen's
# alignment bound, SIMILE_WITH_ONEDNN / SIMILE_WITH_MPI / SIMILE_HEADER_ONLY), OpenMP's flag, and the
# libraries. A static libsimile (the default) or the header-only mode passes on what it links (zlib,
# libpng, libjpeg, oneDNN, MPI) in Libs and Requires; a shared one keeps them in Libs.private and Requires.private.
# Eigen, zlib, libpng, libjpeg and MPI come through their own .pc files or full paths as CMake found them; oneDNN, which
# has no .pc file, as the full path of its library.
function(simile_pkg_config library)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(SIMILE_PC_TO_PREFIX "(not relocatable: absolute install directories)")
    set(SIMILE_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
    set(SIMILE_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  else()
    file(RELATIVE_PATH SIMILE_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
    string(REGEX REPLACE "/$" "" SIMILE_PC_TO_PREFIX "${SIMILE_PC_TO_PREFIX}")
    set(SIMILE_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
    set(SIMILE_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  endif()

  set(cflags "-DEIGEN_MAX_ALIGN_BYTES=64")
  set(libs "")
  set(deps "")  # what the compiled part links privately
  if(SIMILE_HEADER_ONLY)
    list(APPEND cflags "-DSIMILE_HEADER_ONLY=1")
  else()
    list(APPEND libs "-L\${libdir}" "-lsimile")
  endif()
  if(SIMILE_WITH_OPENMP)
    list(APPEND cflags ${OpenMP_CXX_FLAGS})
    list(APPEND libs ${OpenMP_CXX_FLAGS})
  endif()
  if(SIMILE_HAVE_ONEDNN)
    list(APPEND cflags "-DSIMILE_WITH_ONEDNN=1")
    list(APPEND deps "$<TARGET_LINKER_FILE:DNNL::dnnl>")
  endif()
  if(SIMILE_HAVE_MPI)
    list(APPEND cflags "-DSIMILE_WITH_MPI=1")
    list(APPEND deps ${MPI_CXX_LIBRARIES})
    if(SIMILE_HEADER_ONLY)  # the user's own translation units then include <mpi.h>
      foreach(dir ${MPI_CXX_INCLUDE_DIRS})
        list(APPEND cflags "-I${dir}")
      endforeach()
      list(APPEND cflags "-DOMPI_SKIP_MPICXX" "-DMPICH_SKIP_MPICXX")
    endif()
  endif()

  get_target_property(type ${library} TYPE)
  set(SIMILE_PC_REQUIRES "eigen3 >= 3.3")
  if(type STREQUAL "SHARED_LIBRARY")
    set(SIMILE_PC_REQUIRES_PRIVATE "zlib, libpng, libjpeg")
    set(libs_private ${deps})
  else()
    string(APPEND SIMILE_PC_REQUIRES ", zlib, libpng, libjpeg")
    set(SIMILE_PC_REQUIRES_PRIVATE "")
    list(APPEND libs ${deps})
    set(libs_private "")
  endif()
  list(JOIN cflags " " SIMILE_PC_CFLAGS)
  list(JOIN libs " " SIMILE_PC_LIBS)
  list(JOIN libs_private " " SIMILE_PC_LIBS_PRIVATE)

  configure_file(${PROJECT_SOURCE_DIR}/cmake/simile.pc.in ${PROJECT_BINARY_DIR}/simile.pc.configured @ONLY)
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/simile.pc INPUT ${PROJECT_BINARY_DIR}/simile.pc.configured)
  install(FILES ${PROJECT_BINARY_DIR}/simile.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
