# The two commands of the quick start:
#   make run   install what is missing, build, start the gateway on examples/quickstart.yaml
#   make test  install what is missing, build, run every test tier (what .ci/run calls)
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
CONFIG ?= examples/quickstart.yaml
CMAKE_FLAGS ?=
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: run test deps build build-asan ctest e2e asan bench format check-format clean

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

# Unit (with golden cases), integration and fuzz-corpus tiers on the release build.
ctest: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The official openai npm SDK as the client of the real binary.
e2e: deps build
	AIPROXY_BIN=$(abspath $(BUILD))/apps/aiproxy/aiproxy node --test tests/e2e/

# Unit, integration and fuzz-corpus tiers again under AddressSanitizer + UBSan.
asan: build-asan
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

test: deps check-format
	$(MAKE) ctest
	$(MAKE) e2e
	$(MAKE) asan

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	bench/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

check-format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
