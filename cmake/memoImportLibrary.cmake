# memo_import_library(): an IMPORTED target for a library that has no usable CMake
# package on Debian, found by its file name (and, when sources need it, a header).
#
#   memo_import_library(TARGET <name> LIBRARY <file name> LIBRARY_VAR <cache var>
#                       [HEADER <header> HEADER_VAR <cache var>] [LINK <targets>...] [REQUIRED])
#
# libxxhash-dev ships no CMake package, and libcds-dev's LibCDSConfig.cmake names
# ${prefix}/lib64/libcds.so, a path that does not exist on Debian, so find_package(LibCDS)
# fails. memo's own build and the memoConfig.cmake it installs both use this function,
# so the targets an installed memo links to are the same ones it was built against.
# The target is created only when everything was found: test with if(TARGET <name>).
function(memo_import_library)
  cmake_parse_arguments(PARSE_ARGV 0 arg "REQUIRED" "TARGET;LIBRARY;LIBRARY_VAR;HEADER;HEADER_VAR"
                        "LINK")
  if(TARGET ${arg_TARGET})
    return()
  endif()
  find_library(${arg_LIBRARY_VAR} ${arg_LIBRARY})
  set(found_all "${${arg_LIBRARY_VAR}}")
  if(arg_HEADER)
    find_path(${arg_HEADER_VAR} ${arg_HEADER})
    if(NOT ${arg_HEADER_VAR})
      set(found_all FALSE)
    endif()
  endif()
  if(NOT found_all)
    if(arg_REQUIRED)
      set(where "${arg_LIBRARY_VAR}")
      if(arg_HEADER)
        string(APPEND where " and ${arg_HEADER_VAR}")
      endif()
      message(FATAL_ERROR "memo: lib${arg_LIBRARY} not found; on Debian run scripts/setup, "
                          "or set ${where} to where it is installed")
    endif()
    return()
  endif()
  add_library(${arg_TARGET} UNKNOWN IMPORTED)
  set_target_properties(${arg_TARGET} PROPERTIES IMPORTED_LOCATION "${${arg_LIBRARY_VAR}}")
  if(arg_HEADER)
    set_target_properties(${arg_TARGET} PROPERTIES
                          INTERFACE_INCLUDE_DIRECTORIES "${${arg_HEADER_VAR}}")
  endif()
  if(arg_LINK)
    set_target_properties(${arg_TARGET} PROPERTIES INTERFACE_LINK_LIBRARIES "${arg_LINK}")
  endif()
endfunction()
