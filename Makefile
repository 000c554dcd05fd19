# The one entry point. `make test` and `make run` work on a fresh Debian machine: they install
# what is missing (scripts/install-deps.sh), configure, build and go.

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
TSAN_DIR  ?= build-tsan
FUZZ_DIR  ?= build-fuzz
JOBS      ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 60
PREFIX    ?= /usr/local
PKG_DIR   ?= build-pkg

.PHONY: all deps build test test-unit test-integration asan-test tsan-test run format format-check \
        fuzz bench clean install package

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD_DIR)/build.ninja
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit (injected transport and clock) and integration (real binaries, loopback).
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

test-integration: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L integration

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer. A unity build (a few
# sources compiled as one): a third of the compile time, which CI's budget needs; the normal
# build above still compiles each file alone, so a missing include cannot hide.
asan-test: deps
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSGEVENTD_SANITIZE=ON \
	  -DSGEVENTD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The unit tests under ThreadSanitizer (scripts/tsan-test.sh: which, and why only those).
tsan-test: deps
	@scripts/tsan-test.sh $(TSAN_DIR) $(JOBS)

run: build
	@scripts/run-demo.sh $(BUILD_DIR)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

format-check:
	@scripts/check-format.sh

# libFuzzer on every parser of untrusted bytes, FUZZ_SECONDS in all (clang; docs/development.md).
fuzz: deps
	@scripts/run-fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

bench: build
	@$(BUILD_DIR)/bin/bench_decode_event_page

# Installs the daemon, its Python worker, the example config, docs, man page and headers
# (docs/deploy.md). PREFIX and DESTDIR are honoured: make install PREFIX=/opt/sgeventd.
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The .deb (CPack, from the same install rules), built for the prefix /usr without tests or
# benchmarks; written to $(PKG_DIR)/sgeventd_<version>_<arch>.deb.
package: deps
	@cmake -S . -B $(PKG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	  -DSGEVENTD_TESTS=OFF -DSGEVENTD_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(PKG_DIR) -j $(JOBS)
	@cd $(PKG_DIR) && cpack -G DEB >/dev/null && ls $(CURDIR)/$(PKG_DIR)/*.deb

clean:
	@rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(FUZZ_DIR) $(PKG_DIR)
