# Dependencies of the headers. Shared by the build tree and the installed config
# (wastenetConfig.cmake includes this file with WASTENET_FIND_DEP set to find_dependency).
if(NOT DEFINED WASTENET_FIND_DEP)
  set(WASTENET_FIND_DEP find_package)
endif()
include(CMakeFindDependencyMacro)
cmake_language(CALL ${WASTENET_FIND_DEP} Eigen3 3.3 NO_MODULE)
cmake_language(CALL ${WASTENET_FIND_DEP} xtensor)
cmake_language(CALL ${WASTENET_FIND_DEP} fmt)
cmake_language(CALL ${WASTENET_FIND_DEP} nlohmann_json 3)
cmake_language(CALL ${WASTENET_FIND_DEP} Threads)
cmake_language(CALL ${WASTENET_FIND_DEP} PkgConfig)
cmake_language(CALL ${WASTENET_FIND_DEP} ZLIB)  # bounds PNG decompression before stb decodes

# stb ships a pkg-config file and a compiled library (libstb) holding the implementations,
# so the headers never define STB_IMAGE_IMPLEMENTATION themselves.
if(NOT TARGET wastenet::stb)
  pkg_check_modules(WASTENET_STB QUIET IMPORTED_TARGET stb)
  if(NOT WASTENET_STB_FOUND)
    message(FATAL_ERROR "wastenet: stb not found (Debian: apt-get install libstb-dev)")
  endif()
  add_library(wastenet::stb INTERFACE IMPORTED)
  set_target_properties(wastenet::stb PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::WASTENET_STB)
endif()
