# Install rules: the library, its headers, a CMake package (find_package(memo CONFIG),
# target memo::memo) and a pkg-config file (memo.pc). The tests in tests/consumer.cmake
# build a small program against each.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MEMO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/memo
    CACHE STRING "Where memoConfig.cmake goes, relative to the install prefix")

install(TARGETS memo EXPORT memoTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/memo DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT memoTargets NAMESPACE memo:: DESTINATION ${MEMO_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/memoConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/memoConfig.cmake
                              INSTALL_DESTINATION ${MEMO_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/memoConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/memoConfig.cmake ${PROJECT_BINARY_DIR}/memoConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/memoImportLibrary.cmake
        DESTINATION ${MEMO_INSTALL_CMAKEDIR})

# memo.pc. memo is a static library, so its dependencies go in Libs and Requires, not
# the .private fields (those reach the link line only with pkg-config --static).
# ${pcfiledir} keeps the installed tree relocatable (cmake --install --prefix anywhere).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MEMO_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(MEMO_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MEMO_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(MEMO_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
file(RELATIVE_PATH MEMO_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" MEMO_PC_TO_PREFIX "${MEMO_PC_TO_PREFIX}")
# Requires: dependencies with a .pc file; Cflags: memo's compile definitions (MEMO_HAVE_*).
set(MEMO_PC_REQUIRES libxxhash)
set(MEMO_PC_LIBS "")
get_target_property(memo_definitions memo INTERFACE_COMPILE_DEFINITIONS)
list(TRANSFORM memo_definitions PREPEND "-D")
list(JOIN memo_definitions " " MEMO_PC_CFLAGS)
if(MEMO_HAVE_TBB)
  string(APPEND MEMO_PC_REQUIRES ", tbb")
endif()
if(MEMO_HAVE_HIREDIS)
  string(APPEND MEMO_PC_REQUIRES ", hiredis")
endif()
if(MEMO_HAVE_CDS)
  # libcds ships no .pc file: name the library found at configure time.
  get_filename_component(memo_cds_dir "${CDS_LIBRARY}" DIRECTORY)
  if(NOT memo_cds_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
    string(APPEND MEMO_PC_LIBS " -L${memo_cds_dir}")
  endif()
  string(APPEND MEMO_PC_LIBS " -lcds")
endif()
# cereal is header-only and ships no .pc file either.
get_target_property(memo_cereal_includes cereal::cereal INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS memo_cereal_includes)
  if(dir AND NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND MEMO_PC_CFLAGS " -I${dir}")
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/memo.pc.in ${PROJECT_BINARY_DIR}/memo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/memo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
