# Run at every build (cmake -P): writes OUT from cmake/build_info.cpp.in with the checkout's
# commit (with "-dirty" when files differ from it) and the build's day (SOURCE_DATE_EPOCH's
# when set, for reproducible packages). configure_file rewrites OUT only when that changed, so
# an unchanged checkout rebuilds nothing.
set(SGEVENTD_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                  WORKING_DIRECTORY "${SOURCE_DIR}" OUTPUT_VARIABLE commit
                  OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND commit)
    set(SGEVENTD_COMMIT "${commit}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" diff-index --quiet HEAD --
                    WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND SGEVENTD_COMMIT "-dirty")
    endif()
  endif()
endif()
string(TIMESTAMP SGEVENTD_BUILD_DATE "%Y-%m-%d" UTC)  # honours SOURCE_DATE_EPOCH
configure_file("${SOURCE_DIR}/cmake/build_info.cpp.in" "${OUT}" @ONLY)
