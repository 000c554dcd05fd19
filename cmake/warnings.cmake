# Warnings on and fatal for the project's own code only (third-party headers are SYSTEM).
function(sgeventd_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wdouble-promotion -Wformat=2
    -Wimplicit-fallthrough -Wno-missing-field-initializers)
  if(SGEVENTD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# The include root of the layer whose CMakeLists.txt is being read: a folder in the build tree
# holding one link, <layer> -> src/<layer>. A target sees "<layer>/x.h" only when it links one
# of that layer's libraries, so a layer that includes another it does not depend on fails to
# compile instead of growing a hidden dependency (with src/ on every include path, any layer
# could include any other's headers).
function(sgeventd_layer_include_root out)
  get_filename_component(layer ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set(root ${CMAKE_BINARY_DIR}/layer-include/${layer})
  if(NOT IS_SYMLINK ${root}/${layer})
    file(MAKE_DIRECTORY ${root})
    file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${root}/${layer} SYMBOLIC)
  endif()
  set(${out} ${root} PARENT_SCOPE)
endfunction()

# A project library: warnings, include paths (the public headers and its own layer's), C++20.
function(sgeventd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  sgeventd_layer_include_root(layer_root)
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${layer_root})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  sgeventd_warnings(${name})
endfunction()

# A gtest binary registered with ctest. LABEL is "unit" or "integration"; FIXTURES names the
# ctest fixtures its tests need (e.g. "postgres": the tests' PostgreSQL server, tests/CMakeLists).
function(sgeventd_test name)
  cmake_parse_arguments(ARG "" "LABEL;ENVIRONMENT;FIXTURES" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  sgeventd_warnings(${name})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  set(fixture_properties)
  if(ARG_FIXTURES)
    set(fixture_properties FIXTURES_REQUIRED ${ARG_FIXTURES})
  endif()
  gtest_discover_tests(${name} NO_PRETTY_VALUES PROPERTIES LABELS ${ARG_LABEL} TIMEOUT 120
                       ${fixture_properties} ENVIRONMENT "${ARG_ENVIRONMENT}" DISCOVERY_TIMEOUT 30)
endfunction()
