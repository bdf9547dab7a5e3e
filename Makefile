# ddnn-gst: the commands a person types.  Each one installs the missing
# Debian packages, configures meson in build/, compiles, and runs.
#
#   make demo    run the engine on the shipped model and say what it did
#   make check   every test (unit, valgrind, numpy cross-check, fuzz)
#   make bench   latency and throughput figures (tests/benchmarks/)
#   make fuzz    a longer libFuzzer run (FUZZ_SECONDS, default 300)
#   make deb     the Debian packages, in build/deb/

BUILD ?= build
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
# Warnings are errors in CI (CI=true), and stay warnings on a desk.
WERROR := $(if $(filter true 1,$(CI)),true,false)
MESON_SETUP := meson setup --buildtype=debugoptimized -Dwerror=$(WERROR)

.PHONY: all deps bench-deps build demo check bench fuzz deb clean

all: build

deps:
	@build-aux/install-deps.sh

bench-deps:
	@build-aux/install-deps.sh bench

$(BUILD)/build.ninja: | deps
	$(MESON_SETUP) $(BUILD)

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD)

demo: build
	@build-aux/demo.sh $(BUILD)

check: build
	@rm -f $(BUILD)/meson-logs/testlog.json $(FUZZ_BUILD)/meson-logs/testlog.json \
	  $(FUZZ_BUILD)/build-failed.json
	@meson test -C $(BUILD) --print-errorlogs --num-processes 2 || true
	@if command -v clang >/dev/null; then \
	  if $(MAKE) --no-print-directory fuzz-build; then \
	    meson test -C $(FUZZ_BUILD) --suite fuzz --print-errorlogs || true; \
	  else \
	    echo '{"name": "fuzz-build", "result": "FAIL"}' > $(FUZZ_BUILD)/build-failed.json; \
	  fi; \
	else echo "clang is missing: the libFuzzer runs are skipped"; fi
	@build-aux/test-summary.py $(BUILD)/meson-logs/testlog.json \
	  $(FUZZ_BUILD)/meson-logs/testlog.json $(FUZZ_BUILD)/build-failed.json

.PHONY: fuzz-build
fuzz-build: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang $(MESON_SETUP) -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false $(FUZZ_BUILD)
	@ninja -C $(FUZZ_BUILD)

fuzz: fuzz-build
	@mkdir -p $(FUZZ_BUILD)/corpus/model
	$(FUZZ_BUILD)/tests/fuzz/fuzz-model-loader -max_total_time=$(FUZZ_SECONDS) \
	  $(FUZZ_BUILD)/corpus/model tests/fuzz/corpus/model

bench: bench-deps build
	@build-aux/bench.sh $(BUILD)

# dpkg-buildpackage on a copy of the tracked files, so that the tree stays
# clean; the packages land in $(BUILD)/deb/
deb: deps
	@rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/ddnn-gst
	@git ls-files -z | xargs -0 tar -cf - | tar -xf - -C $(BUILD)/deb/ddnn-gst
	@cd $(BUILD)/deb/ddnn-gst && dpkg-buildpackage -us -uc -b
	@ls $(BUILD)/deb/*.deb

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
