# The CAF targets (caf::core, caf::io and, when the library is there, caf::openssl) for a project
# that links rcbroker: Debian ships CAF 0.17 without a CMake config or pkg-config file, so the
# headers and libraries are looked up by name. Installed with rcbrokerConfig.cmake, which
# includes it; sets rcbroker_CAF_FOUND.

find_path(RCBROKER_CAF_INCLUDE_DIR caf/all.hpp)
set(rcbroker_CAF_FOUND TRUE)
if(NOT RCBROKER_CAF_INCLUDE_DIR)
  set(rcbroker_CAF_FOUND FALSE)
endif()
foreach(component IN ITEMS core io openssl)
  find_library(RCBROKER_CAF_${component}_LIBRARY caf_${component})
  if(NOT RCBROKER_CAF_${component}_LIBRARY)
    # caf_openssl is optional: only a library that links it needs it.
    if(NOT component STREQUAL "openssl")
      set(rcbroker_CAF_FOUND FALSE)
    endif()
    continue()
  endif()
  if(TARGET caf::${component})
    continue()
  endif()
  add_library(caf::${component} UNKNOWN IMPORTED)
  set_target_properties(caf::${component} PROPERTIES
    IMPORTED_LOCATION "${RCBROKER_CAF_${component}_LIBRARY}")
  if(component STREQUAL "core")
    set_target_properties(caf::core PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${RCBROKER_CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  else()
    set_target_properties(caf::${component} PROPERTIES INTERFACE_LINK_LIBRARIES caf::core)
  endif()
endforeach()
