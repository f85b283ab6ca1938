# inlet: the two commands are `make demo` and `make test`; each bootstraps on its own.
.PHONY: all bootstrap configure build test unit pytest python-test sanitize tsan fuzz crash demo bench clean format install

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
PY := .venv/bin/python
JOBS ?= $(shell nproc)

all: build

bootstrap:
	@bash scripts/bootstrap.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | bootstrap
	@launcher=""; command -v ccache >/dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; \
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DINLET_PYTHON=$(CURDIR)/$(PY) $$launcher

configure: bootstrap $(BUILD_DIR)/build.ninja

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure

pytest: build
	@$(PY) -m pytest -q tests

# Everything, the sanitizer builds compiled while pytest runs (scripts/test.sh says how).
test: build
	@BUILD_DIR=$(BUILD_DIR) bash scripts/test.sh

# Reliability (docs/reliability.md): the unit tests, part of the pytest suite and every
# fuzz target's corpus replayed, under AddressSanitizer and UndefinedBehaviorSanitizer
# (build-asan/).
sanitize: bootstrap
	@bash scripts/sanitize_tests.sh
	@bash scripts/tsan_tests.sh

# ThreadSanitizer alone.
tsan: bootstrap
	@bash scripts/tsan_tests.sh

# The long reliability campaign (docs/reliability.md): CRASH_KILLS SIGKILLs at random
# (tests/crash_campaign.py), then 8 writers x STRESS_COMMITS commits on every kind of table.
CRASH_KILLS ?= 1000
STRESS_COMMITS ?= 100
crash: build
	@INLET_CRASH_KILLS=$(CRASH_KILLS) INLET_CRASH_REPORT=$(BUILD_DIR)/crash-report.json \
	  $(PY) -m pytest -q -s tests/test_crash_campaign.py -k test_long_campaign
	@INLET_STRESS_COMMITS=$(STRESS_COMMITS) $(PY) -m pytest -q -s tests/test_concurrency_scale.py

# The long fuzzing campaign: each target for FUZZ_SECONDS (default 600).
FUZZ_SECONDS ?= 600
fuzz: bootstrap
	@ASAN_BUILD_DIR=build-fuzz SANITIZE_OPT=-O1 bash scripts/fuzz.sh --campaign $(FUZZ_SECONDS)

# The Python package: its wheel, installed into a fresh venv, and python/tests there.
python-test: build
	@BUILD_DIR=$(BUILD_DIR) bash scripts/python_tests.sh

# A relocatable install: PREFIX/bin/inlet with the Arrow libraries in PREFIX/lib/inlet.
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD_DIR) --prefix $(PREFIX)

demo: build
	@bash scripts/demo.sh

bench: build
	@$(PY) bench/bench_write.py

# The bootstrap installs clang-format-16 (the version the code is formatted with).
format: bootstrap
	@$$(command -v clang-format-16 || echo clang-format) -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz
