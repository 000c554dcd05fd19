# ASan + UBSan for the whole build when SGEVENTD_SANITIZE is on (CI runs the suite this way).
if(SGEVENTD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# ThreadSanitizer (make tsan-test): the unit tests, whose threads (poller, catch-up reader, mail
# queue, the dispatcher's inbox) meet shared state.
if(SGEVENTD_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# Fuzzing builds instrument every project library for coverage, not just the target.
if(SGEVENTD_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
