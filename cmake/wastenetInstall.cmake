include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS wastenet EXPORT wastenetTargets)
install(DIRECTORY include/wastenet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT wastenetTargets NAMESPACE wastenet::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/wastenet)

configure_package_config_file(cmake/wastenetConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/wastenetConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/wastenet)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/wastenetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/wastenetConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/wastenetConfigVersion.cmake
  cmake/wastenetDependencies.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/wastenet)
