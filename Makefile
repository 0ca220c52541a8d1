# ferry's user interface. Every target installs and builds what it needs.
#   make          Release build: build/bin/ferryd, build/bin/ferryctl
#   make test     install deps, build, run every test through ctest (unit + integration)
#   make demo     three sites in network namespaces with traffic and failover (KEEP=1 keeps it)
#   make bench    benchmarks, ferry side by side with the reference implementations
#   make asan     unit tests and the two-site system test under ASan+UBSan
#   make tsan     data-plane tests under TSan
#   make fuzz     every fuzz target for FUZZ_SECONDS (default 60) each
#   make deb      Debian package build/ferry_<version>_<arch>.deb (binaries, unit, man pages)
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all build deps test unit integration demo bench asan tsan fuzz fuzz-smoke format clean deb

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests run in parallel; integration tests (root, network namespaces,
# real peer daemons) run one at a time so they don't compete for 2 cores.
test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j $(JOBS) -L unit
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -L integration

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -L integration

# Only what the package holds is built (not every test), then CPack's DEB generator.
deb: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target ferryd ferryctl man
	cd $(BUILD) && cpack -G DEB
	@ls -1 $(BUILD)/ferry_*.deb

demo: build
	@scripts/demo.sh

bench: build
	@scripts/bench.sh

asan: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=ON -DFERRY_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit
	@# The two-site system test with sanitized ferryd/ferryctl: any report from
	@# any process (written to log_path) fails the target, even if the test passed.
	rm -rf build-asan/asan-reports && mkdir -p build-asan/asan-reports
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/build-asan/asan-reports/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/build-asan/asan-reports/ubsan \
	  ctest --output-on-failure -R '^system_two_site$$'
	@if ls build-asan/asan-reports/* >/dev/null 2>&1; then \
	  echo "sanitizer reports from the two-site test:"; cat build-asan/asan-reports/*; exit 1; fi

tsan: deps
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_TSAN=ON -DFERRY_BENCH=OFF
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure --timeout 600 -L tsan

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target fuzz_all
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build-fuzz

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-30}

format:
	find src tests tools bench -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz
