# polychan — the two entry points: `make test` (CI) and `make report` (the main job).
JOBS ?= $(shell nproc)
TEST_BUILD ?= build/test
REPORT_BUILD ?= build/release
QUICK ?= 0

.PHONY: all test report deps-test deps-report format clean

all: test

deps-test:
	@scripts/install-deps test

deps-report:
	@scripts/install-deps report

# Builds everything with -Werror (plain, TSan and ASan+UBSan executables) and runs every test.
test: deps-test
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

# The main job: Release build, full verification, benchmarks, report in build/report/.
report: deps-report
	QUICK=$(QUICK) JOBS=$(JOBS) scripts/report

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf build
