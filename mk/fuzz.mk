# Fuzzing (issue 6): fuzz/fuzz_raft.c feeds arbitrary appendentries,
# requestvote, snapshot and response messages, in arbitrary order, to a server
# in every role, and checks that it never crashes, hangs or breaks a
# single-server invariant.
#
#   make fuzz FUZZ_SECONDS=N   libFuzzer (clang) against a coverage-instrumented
#                              build of the library (panics abort, debug
#                              assertions on); installs clang and libFuzzer
#                              from apt when missing, and falls back to the
#                              standalone driver when that is impossible
#   make fuzz-standalone       self-contained PRNG driver (gcc, ASan + UBSan),
#                              against a copy of the library built with
#                              overflow checks and debug assertions on and
#                              panics aborting (a wrapped term or index, or
#                              any panic, is a crash)
#   make fuzz-replay FUZZ_INPUT=file   replay one saved input
#   make fuzz-short            the standalone driver for 5 s on each of a few
#                              fixed seeds (part of `make test`)
#
# Crashes are saved by libFuzzer as build/fuzz/crash-* (standalone driver:
# ./fuzz-*.bin); replay them with `make fuzz-replay FUZZ_INPUT=...`.

FUZZ_SECONDS   ?= 60
FUZZ_BUILD     := $(or $(BUILD),build)/fuzz
FUZZ_CLANG     ?= clang
FUZZ_INCLUDE   ?= include
FUZZ_LIBS      ?= $(or $(NATIVE_LIBS),-lpthread -ldl -lm) -lrt
FUZZ_LIB       := $(or $(LIBRAFT_A),build/libraft.a)
# The shared cluster harness (harness/: log, disk, PRNG).
FUZZ_HARNESS_SRCS := $(wildcard harness/*.c)
FUZZ_HARNESS   := $(FUZZ_HARNESS_SRCS) $(wildcard harness/*.h)
FUZZ_TRIPLE    := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
FUZZ_COV_LIB   := $(FUZZ_BUILD)/libraft-cov.a
FUZZ_BIN       := $(FUZZ_BUILD)/fuzz_raft
FUZZ_SA_BIN    := $(FUZZ_BUILD)/fuzz_raft_standalone
FUZZ_CHECKED_LIB := $(FUZZ_BUILD)/libraft-checked.a
FUZZ_CHECKED_RUSTFLAGS ?= -Cpanic=abort -Cdebug-assertions=on -Coverflow-checks=on
FUZZ_ARGS      ?=
# Coverage instrumentation for the Rust library, as cargo-fuzz does it. The
# explicit --target keeps RUSTFLAGS away from build scripts.
FUZZ_RUSTFLAGS ?= -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cpanic=abort -Cdebug-assertions=on --cfg fuzzing

.PHONY: fuzz fuzz-deps fuzz-standalone fuzz-replay fuzz-libfuzzer

# Succeeds when clang can build a libFuzzer target; installs it otherwise.
fuzz-deps:
	@mkdir -p $(FUZZ_BUILD)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}\n' \
	    > $(FUZZ_BUILD)/probe.c
	@$(FUZZ_CLANG) -fsanitize=fuzzer $(FUZZ_BUILD)/probe.c -o $(FUZZ_BUILD)/probe 2>/dev/null || { \
	    echo "clang with libFuzzer not found: installing clang and libclang-rt-14-dev"; \
	    sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; \
	    $(FUZZ_CLANG) -fsanitize=fuzzer $(FUZZ_BUILD)/probe.c -o $(FUZZ_BUILD)/probe; }

$(FUZZ_COV_LIB): $(wildcard Cargo.toml Cargo.lock build.rs) $(shell find src -type f 2>/dev/null)
	@mkdir -p $(@D)
	RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --release --target $(FUZZ_TRIPLE) \
	    --target-dir $(FUZZ_BUILD)/target
	cp $(FUZZ_BUILD)/target/$(FUZZ_TRIPLE)/release/libraft.a $@

$(FUZZ_BIN): fuzz/fuzz_raft.c $(FUZZ_HARNESS) $(FUZZ_COV_LIB) $(wildcard $(FUZZ_INCLUDE)/raft.h)
	$(FUZZ_CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -I$(FUZZ_INCLUDE) -Iharness $< $(FUZZ_HARNESS_SRCS) $(FUZZ_COV_LIB) $(FUZZ_LIBS) -o $@

# The library with overflow checks and debug assertions, panics aborting.
$(FUZZ_CHECKED_LIB): $(wildcard Cargo.toml Cargo.lock build.rs) $(shell find src -type f 2>/dev/null)
	@mkdir -p $(@D)
	RUSTFLAGS="$(FUZZ_CHECKED_RUSTFLAGS)" cargo build --release --target $(FUZZ_TRIPLE) \
	    --target-dir $(FUZZ_BUILD)/target-checked
	cp $(FUZZ_BUILD)/target-checked/$(FUZZ_TRIPLE)/release/libraft.a $@

$(FUZZ_SA_BIN): fuzz/fuzz_raft.c $(FUZZ_HARNESS) $(FUZZ_CHECKED_LIB) $(wildcard $(FUZZ_INCLUDE)/raft.h)
	@mkdir -p $(@D)
	$(or $(CC),cc) -std=c11 -g -O1 -Wall -Wextra -DFUZZ_STANDALONE \
	    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    -I$(FUZZ_INCLUDE) -Iharness $< $(FUZZ_HARNESS_SRCS) $(FUZZ_CHECKED_LIB) $(FUZZ_LIBS) -o $@

fuzz-libfuzzer: fuzz-deps $(FUZZ_BIN)
	@mkdir -p $(FUZZ_BUILD)/corpus
	@echo "== libFuzzer for $(FUZZ_SECONDS) s (corpus $(FUZZ_BUILD)/corpus)"
	ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_ARGS) $(FUZZ_BUILD)/corpus

fuzz-standalone: $(FUZZ_SA_BIN)
	@echo "== standalone fuzz driver for $(FUZZ_SECONDS) s"
	$(FUZZ_SA_BIN) --seconds=$(FUZZ_SECONDS) $(FUZZ_ARGS)

fuzz:
	@if $(MAKE) --no-print-directory fuzz-deps $(FUZZ_BIN); then \
	    $(MAKE) --no-print-directory fuzz-libfuzzer; \
	else \
	    echo "libFuzzer unusable here: using the standalone driver"; \
	    $(MAKE) --no-print-directory fuzz-standalone; \
	fi

fuzz-replay: $(FUZZ_SA_BIN)
	$(FUZZ_SA_BIN) $(FUZZ_INPUT)

# Short run inside `make test`: fixed seeds, so a failure repeats with the
# same command (`build/fuzz/fuzz_raft_standalone --seconds=5 --seed=N`).
FUZZ_SHORT_SEEDS ?= 1 2 42
fuzz-short: $(FUZZ_SA_BIN)
	@for s in $(FUZZ_SHORT_SEEDS); do \
	    $(FUZZ_SA_BIN) --seconds=5 --seed=$$s || exit 1; \
	done
.PHONY: fuzz-short
TEST_EXTRA += fuzz-short
