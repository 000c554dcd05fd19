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

# A project library: warnings, include paths, C++20.
function(sgeventd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  sgeventd_warnings(${name})
endfunction()

# A gtest binary registered with ctest. LABEL is "unit" or "integration".
function(sgeventd_test name)
  cmake_parse_arguments(ARG "" "LABEL;ENVIRONMENT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  sgeventd_warnings(${name})
  if(NOT ARG_LABEL)
    set(ARG_LABEL unit)
  endif()
  gtest_discover_tests(${name} NO_PRETTY_VALUES PROPERTIES LABELS ${ARG_LABEL} TIMEOUT 120
                       ENVIRONMENT "${ARG_ENVIRONMENT}" DISCOVERY_TIMEOUT 30)
endfunction()
