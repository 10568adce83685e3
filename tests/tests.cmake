# One line per test program; test files are named after what they cover.

find_package(OpenCV REQUIRED COMPONENTS core imgproc)  # the augmentation tests' peer

# The torchvision references are generated at test time into the build folder (never committed).
add_test(NAME generate_references
         COMMAND ${WASTENET_PYTHON} ${PROJECT_SOURCE_DIR}/tools/make_reference.py ${WASTENET_TEST_DATA}/ref
                 --shared ${WASTENET_SHARED_DIR})
set_tests_properties(generate_references PROPERTIES FIXTURES_SETUP references TIMEOUT 1800)

wastenet_add_test(tensor_test SOURCES tensor_test.cpp)
wastenet_add_test(models_parity_test SOURCES models_parity_test.cpp REFERENCES)
# The same parity cases once more on the portable kernels (the default is the fastest the CPU has).
gtest_discover_tests(models_parity_test TEST_PREFIX portable. DISCOVERY_TIMEOUT 60
                     PROPERTIES LABELS models_parity_test FIXTURES_REQUIRED references ENVIRONMENT WASTENET_KERNELS=portable)
wastenet_add_test(kernels_test SOURCES kernels_test.cpp)
wastenet_add_test(precision_test SOURCES precision_test.cpp REFERENCES)
wastenet_add_test(bad_input_test SOURCES bad_input_test.cpp REFERENCES)
wastenet_add_test(preprocess_test SOURCES preprocess_test.cpp REFERENCES)
wastenet_add_test(cli_classify_test SOURCES cli_classify_test.cpp REFERENCES)
target_compile_definitions(cli_classify_test PRIVATE WASTENET_CLASSIFY="$<TARGET_FILE:wastenet-classify>")
add_dependencies(cli_classify_test wastenet-classify)

add_test(NAME package_consumer
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${PROJECT_BINARY_DIR} -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
                 -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer -DMODEL=${WASTENET_TEST_DATA}/ref/mobilenet_v3_small_168.safetensors
                 -DIMAGE=${WASTENET_TEST_DATA}/ref/mobilenet_v3_small_168.png "-DEXPECT=^mobilenet_v3_small [0-9]+ 0.1.0"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run.cmake)
set_tests_properties(package_consumer PROPERTIES FIXTURES_REQUIRED references TIMEOUT 600)
wastenet_add_test(vote_test SOURCES vote_test.cpp)
wastenet_add_test(bundled_model_test SOURCES bundled_model_test.cpp)
wastenet_add_test(cli_stream_test SOURCES cli_stream_test.cpp)
target_compile_definitions(cli_stream_test PRIVATE WASTENET_STREAM="$<TARGET_FILE:wastenet-stream>")
add_dependencies(cli_stream_test wastenet-stream)

# Clang 14 with the same warnings (GCC builds everything; Clang checks it compiles cleanly).
find_program(WASTENET_CLANG NAMES clang++-14 clang++)
if(WASTENET_CLANG)
  get_target_property(eigen_inc Eigen3::Eigen INTERFACE_INCLUDE_DIRECTORIES)
  get_target_property(stb_inc PkgConfig::WASTENET_STB INTERFACE_INCLUDE_DIRECTORIES)
  string(REPLACE ";" "|" clang_includes "${eigen_inc};${stb_inc};${OpenCV_INCLUDE_DIRS}")
  add_test(NAME clang_clean
           COMMAND ${CMAKE_COMMAND} -DCLANG=${WASTENET_CLANG} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR} "-DINCLUDES=${clang_includes}"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/clang_check.cmake)
  set_tests_properties(clang_clean PROPERTIES TIMEOUT 1200)
else()
  message(STATUS "clang++ not found: the clang_clean test is not added")
endif()
wastenet_add_test(concurrency_test SOURCES concurrency_test.cpp REFERENCES)
# Fused expansion + depthwise passes against the same steps run one by one.
wastenet_add_test(fusion_test SOURCES fusion_test.cpp REFERENCES)
# Counts every allocation (malloc and friends wrapped at link time, operator new replaced).
wastenet_add_test(allocation_limit_test SOURCES allocation_limit_test.cpp REFERENCES)
target_link_options(allocation_limit_test PRIVATE
  "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=posix_memalign,--wrap=free")
# The augmentation toolkit against OpenCV (a test-only dependency, found at the top).
wastenet_add_test(augment_test SOURCES augment_test.cpp LIBS opencv_core opencv_imgproc)
target_include_directories(augment_test SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
wastenet_add_test(cli_augment_test SOURCES cli_augment_test.cpp)
target_compile_definitions(cli_augment_test PRIVATE WASTENET_ROBUSTNESS="$<TARGET_FILE:wastenet-robustness>"
                                                    WASTENET_AUGMENT_PREVIEW="$<TARGET_FILE:wastenet-augment-preview>")
add_dependencies(cli_augment_test wastenet-robustness wastenet-augment-preview)
# The augmentation tests once more with the vector paths off (they must give the same bits).
gtest_discover_tests(augment_test TEST_PREFIX portable. DISCOVERY_TIMEOUT 60 PROPERTIES LABELS augment_test ENVIRONMENT WASTENET_KERNELS=portable)
# Packed models and the wastenet-pack tool.
wastenet_add_test(pack_test SOURCES pack_test.cpp REFERENCES)
target_compile_definitions(pack_test PRIVATE WASTENET_PACK="$<TARGET_FILE:wastenet-pack>")
add_dependencies(pack_test wastenet-pack)
