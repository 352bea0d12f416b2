# The two commands of the quick start:
#   make run   install what is missing, build, start the gateway on examples/quickstart.yaml
#   make test  install what is missing, build, run every test tier (what .ci/run calls)
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
CONFIG ?= examples/quickstart.yaml
CMAKE_FLAGS ?=

.PHONY: run test deps build build-asan unit integration e2e asan fuzz-corpus bench format check-format clean

deps:
	@scripts/install-deps.sh test

build:
	@scripts/install-deps.sh build
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/apps/aiproxy/aiproxy run -c $(CONFIG)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAIPROXY_SANITIZE=ON \
	  -DAIPROXY_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Unit, golden, integration and fuzz-corpus tiers on the release build.
unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The same tiers under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The official SDK clients (npm) through the real binary.
e2e: build
	AIPROXY_BIN=$(abspath $(BUILD))/apps/aiproxy/aiproxy node --test tests/e2e/

test: deps
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) asan

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

check-format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
