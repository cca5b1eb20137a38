# Installation and packaging, included by the top-level CMakeLists.txt once every target exists.
#
#   cmake --install build --prefix P   the node and tools in P/bin, librcbroker with its headers
#                                      and a CMake package (P/lib/cmake/rcbroker), the systemd
#                                      unit, the production configuration and the docs
#   (cd build && cpack -G DEB)         rcbroker_VERSION-1_ARCH.deb (node, tools, unit, conffile)
#                                      and rcbroker-dev_VERSION-1_ARCH.deb (library, headers, CMake)
#
# Components: `runtime` (the programs and what runs them) and `development` (the library).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# -- runtime: programs, the systemd unit, /etc/rcbroker, docs ----------------------------------

install(TARGETS rcbroker rcsubmit rcworker rcbench
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES README.md docs/OPERATIONS.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
# The unit and the configuration name the installation's own paths, known only when it runs
# (cmake --install --prefix, or cpack's /usr): the script is made here and runs then.
configure_file(packaging/install_service.cmake.in packaging/install_service.cmake @ONLY)
install(SCRIPT "${CMAKE_CURRENT_BINARY_DIR}/packaging/install_service.cmake" COMPONENT runtime)

# -- development: the library, its headers, the CMake package ----------------------------------

# Users link rcbroker::client for the client and worker (today all of librcbroker.a).
add_library(rcbroker_client INTERFACE)
target_link_libraries(rcbroker_client INTERFACE rcbroker_lib)
set_target_properties(rcbroker_client PROPERTIES EXPORT_NAME client)
set_target_properties(rcbroker_lib PROPERTIES EXPORT_NAME rcbroker)
set_target_properties(rcbroker_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(rcbroker_testing PROPERTIES EXPORT_NAME testing)
set(RCBROKER_EXPORTED rcbroker_client rcbroker_protocol rcbroker_lib rcbroker_testing)
if(BROKER_GRPC)
  # Linked into rcbroker_lib (privately: a static library's dependencies are still linked).
  set_target_properties(rcbroker_grpc PROPERTIES EXPORT_NAME grpc)
  list(APPEND RCBROKER_EXPORTED rcbroker_grpc)
endif()
# The headers' directory comes with rcbroker_protocol (its INSTALL_INTERFACE), which all link.
install(TARGETS ${RCBROKER_EXPORTED} EXPORT rcbrokerTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(DIRECTORY librcbroker/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT development)

set(RCBROKER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rcbroker)
install(EXPORT rcbrokerTargets NAMESPACE rcbroker:: DESTINATION ${RCBROKER_CMAKE_DIR}
  COMPONENT development)
configure_package_config_file(cmake/rcbrokerConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/rcbrokerConfig.cmake" INSTALL_DESTINATION ${RCBROKER_CMAKE_DIR})
# 0.x: a minor version may change the API.
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/rcbrokerConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/rcbrokerConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/rcbrokerConfigVersion.cmake" cmake/rcbrokerCaf.cmake
  DESTINATION ${RCBROKER_CMAKE_DIR} COMPONENT development)

# -- Debian packages (cpack -G DEB) ------------------------------------------------------------

set(CPACK_PACKAGE_NAME rcbroker)
set(CPACK_PACKAGE_VENDOR "rcbroker maintainers")
set(BROKER_PACKAGE_MAINTAINER "rcbroker maintainers <rcbroker@localhost>" CACHE STRING
  "The Maintainer field of the Debian packages")
set(CPACK_PACKAGE_CONTACT "${BROKER_PACKAGE_MAINTAINER}")
# Per package; the first line is the summary (no CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would
# put it before both).
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "task broker for the ReasonChip wire protocol (C++, CAF)
rcbroker hands clients' tasks (RUN) to workers that registered capacity and carries their
RESULTs back, speaking the ReasonChip broker protocol byte for byte over TCP, TLS, Unix sockets,
HTTP and gRPC. The node (rcbroker, a systemd unit, /etc/rcbroker/caf-application.conf), a
command-line client (rcsubmit), worker (rcworker) and load generator (rcbench).")
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION "rcbroker's C++ library, headers and CMake package
The client and worker library of rcbroker (and the node's actors, transports and test harness)
as static libraries with their headers; find_package(rcbroker) and link rcbroker::client.")
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # NAME_VERSION-REVISION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME rcbroker)
# The Debian runtime libraries (libcaf-core0.17, libspdlog1.10, libsimdjson14, libgrpc++1.51,
# libprotobuf32, libssl3, ...) as dpkg-shlibdeps reads them from the binaries, with versions.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "adduser") # the postinst makes the rcbroker user
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  "${PROJECT_SOURCE_DIR}/packaging/deb/conffiles;${PROJECT_SOURCE_DIR}/packaging/deb/postinst;${PROJECT_SOURCE_DIR}/packaging/deb/prerm")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME rcbroker-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
  "cmake, libcaf-dev, libboost-dev, libspdlog-dev, libsimdjson-dev, libssl-dev")
if(BROKER_GRPC)
  string(APPEND CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS ", libgrpc++-dev, libprotobuf-dev, pkg-config")
endif()
include(CPack)
