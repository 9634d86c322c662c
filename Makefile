# libraft: the Raft consensus algorithm as a Rust library with a C ABI.
#
#   make / make lib   build build/libraft.a and build/libraft.so{,.0,.0.1.0}
#   make test         cargo tests, abi-check, $(TEST_EXTRA), then the C suite;
#                     the last line printed is "N passed, N failed"
#   make test-asan    the C suite under valgrind (+ $(TEST_ASAN_EXTRA))
#   make rlib         the protocol as a Rust library (no C layer, no allocator)
#   make examples     build build/examples/*
#   make install      PREFIX=/usr/local DESTDIR= : headers, libs, raft.pc and
#                     raft-static.pc
#   make docs         the HTML API reference with Doxygen (mk/docs.mk)
#   make clean
#
# Other parts of the tree add targets through mk/*.mk, which may use the
# variables below (BUILD, LIBRAFT_A, LIBRAFT_SO, RAFT_CFLAGS, ...) and append
# to TEST_EXTRA, TEST_ASAN_EXTRA and CLEAN_EXTRA.

SHELL := /bin/bash
.DEFAULT_GOAL := lib

VERSION      := 0.1.0
SOMAJOR      := 0
PREFIX       ?= /usr/local
DESTDIR      ?=
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include

CARGO        ?= cargo
CC           ?= cc
BUILD        := build
ABI_CHECK    ?= ../shared/tools/abi-check
VALGRIND     ?= valgrind
VALGRIND_FLAGS ?= --error-exitcode=1 --leak-check=full \
                  --errors-for-leak-kinds=definite --trace-children=yes \
                  --quiet
# Per test binary; a hung binary is killed and counted as a failure.
TEST_TIMEOUT      ?= 600
TEST_ASAN_TIMEOUT ?= 1800

LIBRAFT_A      := $(BUILD)/libraft.a
LIBRAFT_SO     := $(BUILD)/libraft.so
LIBRAFT_SONAME := libraft.so.$(SOMAJOR)
LIBRAFT_SOREAL := $(BUILD)/libraft.so.$(VERSION)
CARGO_A        := target/release/libraft.a
VERSION_SCRIPT := src/libraft.map

# What the Rust staticlib needs from the system when linked into a program
# or a shared object (see `cargo rustc -- --print native-static-libs`).
NATIVE_LIBS  := -lpthread -ldl -lm -lgcc_s -lc

# Flags for C code built against the library (tests, examples, mk/*.mk).
RAFT_CFLAGS  := -std=c99 -Wall -Wextra -Werror -Iinclude -D_DEFAULT_SOURCE -g
CFLAGS       ?= -O1
LINK_SHARED  := -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lraft
LINK_STATIC  := $(LIBRAFT_A) $(NATIVE_LIBS)

# Hooks for mk/*.mk (defined before the include so `+=` appends).
TEST_EXTRA      ?=
TEST_ASAN_EXTRA ?=
CLEAN_EXTRA     ?=

LIB_SOURCES  := Cargo.toml $(wildcard Cargo.lock build.rs cbindgen.toml) \
                $(shell find src -type f ! -name '*.map' 2>/dev/null)

.PHONY: all lib rlib header test test-asan test-cargo lint test-abi test-c test-c-build \
        test-c-asan test-c-run test-c-asan-run examples install uninstall clean FORCE

all: lib

# ---------------------------------------------------------------- library
lib: $(LIBRAFT_A) $(LIBRAFT_SO)

# Cargo is always asked (it is cheap when nothing changed and it is the one
# that knows every input); the archive is copied only when it differs, so
# the .so, the tests and the examples relink only after a real change.
$(LIBRAFT_A): $(LIB_SOURCES) FORCE
	$(CARGO) build --release
	@mkdir -p $(BUILD)
	@cmp -s $(CARGO_A) $@ || { echo "cp $(CARGO_A) $@"; cp $(CARGO_A) $@; }

$(LIBRAFT_SOREAL): $(LIBRAFT_A) $(VERSION_SCRIPT)
	$(CC) -shared -Wl,-soname,$(LIBRAFT_SONAME) \
	    -Wl,--version-script=$(VERSION_SCRIPT) \
	    -Wl,--whole-archive $(LIBRAFT_A) -Wl,--no-whole-archive \
	    -Wl,--gc-sections -lpthread -ldl -lm -o $@

$(BUILD)/$(LIBRAFT_SONAME): $(LIBRAFT_SOREAL)
	ln -sf $(notdir $<) $@

$(LIBRAFT_SO): $(BUILD)/$(LIBRAFT_SONAME)
	ln -sf $(notdir $<) $@

FORCE:

# ---------------------------------------------------------------- C suite
TEST_SRCS    := $(sort $(wildcard c_tests/test_*.c))
# The cluster harness (harness/: network, log, disk, clock, PRNG) is shared
# by the C tests, the simulator (mk/sim.mk) and the fuzz target (mk/fuzz.mk).
HARNESS_SRCS := $(sort $(wildcard harness/*.c))
HARNESS_HDRS := $(wildcard harness/*.h)
HARNESS_OBJS := $(patsubst harness/%.c,$(BUILD)/harness/%.o,$(HARNESS_SRCS))
SUPPORT_SRCS := $(sort $(wildcard c_tests/support/*.c))
SUPPORT_HDRS := $(wildcard c_tests/support/*.h) c_tests/test.h $(HARNESS_HDRS)
SUPPORT_OBJS := $(patsubst c_tests/%.c,$(BUILD)/c_tests/%.o,$(SUPPORT_SRCS)) $(HARNESS_OBJS)
TEST_BINS    := $(patsubst c_tests/%.c,$(BUILD)/c_tests/%,$(TEST_SRCS))
# Every test file is also linked against the static archive (proving that
# static linking works and that nothing the suite calls is .so-only); these
# are run as well, under their own name.
STATIC_TESTS ?= test_entry test_server test_log test_abi
STATIC_BINS  := $(patsubst c_tests/%.c,$(BUILD)/c_tests/static/%,$(TEST_SRCS))
STATIC_RUN   := $(addprefix $(BUILD)/c_tests/static/,$(STATIC_TESTS))
HEADERS      := $(wildcard include/*.h)

# Static pattern rules: their targets are explicit, so make never treats the
# support objects as intermediate files (and deletes them).
$(filter $(BUILD)/c_tests/%,$(SUPPORT_OBJS)): $(BUILD)/c_tests/support/%.o: c_tests/support/%.c $(SUPPORT_HDRS) $(HEADERS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) $(CFLAGS) -Ic_tests -Iharness -c $< -o $@

$(HARNESS_OBJS): $(BUILD)/harness/%.o: harness/%.c $(HARNESS_HDRS) $(HEADERS)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) $(CFLAGS) -Iharness -c $< -o $@

# A binary is removed before it is rebuilt, so a compile error never leaves
# a stale binary behind for the runner to pick up.
$(TEST_BINS): $(BUILD)/c_tests/%: c_tests/%.c $(SUPPORT_OBJS) $(SUPPORT_HDRS) $(HEADERS) $(LIBRAFT_SO)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) $(CFLAGS) -Ic_tests -Iharness $< $(SUPPORT_OBJS) $(LINK_SHARED) -o $@

$(STATIC_BINS): $(BUILD)/c_tests/static/%: c_tests/%.c $(SUPPORT_OBJS) $(SUPPORT_HDRS) $(HEADERS) $(LIBRAFT_A)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) $(CFLAGS) -Ic_tests -Iharness $< $(SUPPORT_OBJS) $(LINK_STATIC) -o $@

test-c-build: $(TEST_BINS) $(STATIC_BINS)

# run_suite(binaries, wrapper, timeout, summary file): runs every binary
# even if one fails, a binary that did not build or printed no summary
# counts as one failure, and the sum is written to the summary file.
define run_suite
passed=0; failed=0; \
for bin in $(1); do \
    log=$$bin.log; \
    if [ ! -x $$bin ]; then \
        echo "FAIL $$bin: did not build"; failed=$$((failed+1)); continue; \
    fi; \
    echo "== $$bin"; \
    set -o pipefail; \
    timeout $(3) $(2) ./$$bin 2>&1 | tee $$log; rc=$${PIPESTATUS[0]}; \
    line=$$(grep -E ': [0-9]+ passed, [0-9]+ failed$$' $$log | tail -n 1); \
    if [ -z "$$line" ]; then \
        echo "FAIL $$bin: exited with status $$rc before its summary"; \
        failed=$$((failed+1)); continue; \
    fi; \
    p=$$(echo "$$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$$/\1/'); \
    f=$$(echo "$$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$$/\2/'); \
    passed=$$((passed+p)); failed=$$((failed+f)); \
    if [ $$rc -ne 0 ] && [ $$f -eq 0 ]; then \
        echo "FAIL $$bin: exited with status $$rc after its summary"; \
        failed=$$((failed+1)); \
    fi; \
done; \
mkdir -p $(BUILD)/c_tests; \
echo "$$passed passed, $$failed failed" > $(4)
endef

# Builds with -k so one broken file does not keep the others from running;
# the runner then reports it as a failure. The *-run targets always succeed
# and leave the sum in a summary file; test-c / test-c-asan print it last
# and fail when anything failed.
test-c-run:
	@$(MAKE) --no-print-directory -k test-c-build || true
	@$(call run_suite,$(TEST_BINS) $(STATIC_RUN),,$(TEST_TIMEOUT),$(BUILD)/c_tests/summary)

test-c-asan-run:
	@$(MAKE) --no-print-directory -k test-c-build || true
	@$(call run_suite,$(TEST_BINS),$(VALGRIND) $(VALGRIND_FLAGS),$(TEST_ASAN_TIMEOUT),$(BUILD)/c_tests/summary-asan)

test-c: test-c-run
	@cat $(BUILD)/c_tests/summary
	@grep -q ' 0 failed$$' $(BUILD)/c_tests/summary

test-c-asan: test-c-asan-run
	@cat $(BUILD)/c_tests/summary-asan
	@grep -q ' 0 failed$$' $(BUILD)/c_tests/summary-asan

# ---------------------------------------------------------------- test
# The second run: the core, store and wire codec as a plain Rust library
# (no C layer, no global allocator), in a debug build so that every
# debug_assert! on the protocol's invariants is checked.
test-cargo: rlib
	$(CARGO) test --release
	$(CARGO) test --no-default-features --lib

# The protocol as a Rust library: core, store and wire codec without the C
# layer (no extern "C" exports, no global allocator).
rlib:
	$(CARGO) rustc --no-default-features --lib --crate-type rlib

# Lints (Cargo.toml's [lints] deny undocumented unsafe blocks and unsafe
# operations outside an unsafe block inside an unsafe fn); any warning fails.
lint:
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release --no-default-features --lib --tests -- -D warnings

# abi-check prints one PASS/FAIL line per check; any FAIL fails the target.
# It needs the contract's checker, which lives outside the repository (CI
# has it); without it the stage says it was skipped, and the project's own
# ABI tests (c_tests/test_abi.c, c_tests/test_header.c) still hold the
# layout in the C suite.
test-abi: lib
	@if [ ! -x "$(ABI_CHECK)" ]; then \
	    if [ -n "$(ABI_CHECK_REQUIRED)" ]; then \
	        echo "FAIL abi-check: $(ABI_CHECK) not found"; exit 1; \
	    fi; \
	    echo "SKIP abi-check: $(ABI_CHECK) not found (set ABI_CHECK=path to run it)"; \
	    exit 0; \
	fi; \
	set -o pipefail; for lib in $(LIBRAFT_SO) $(LIBRAFT_A); do \
	    echo "== abi-check --include include --lib $$lib"; \
	    $(ABI_CHECK) --include include --lib $$lib 2>&1 | tee $(BUILD)/abi-check.log || exit 1; \
	    ! grep -q '^FAIL' $(BUILD)/abi-check.log || exit 1; \
	done

# Every stage runs even when an earlier one failed (so one broken stage does
# not hide the others); the C suite runs last and its summed
# "N passed, N failed" is the last line printed. Any failed stage fails the
# target.
test:
	@status=0; \
	$(MAKE) --no-print-directory lib || status=1; \
	$(MAKE) --no-print-directory test-cargo || { status=1; echo "FAIL: cargo test"; }; \
	$(MAKE) --no-print-directory lint || { status=1; echo "FAIL: lint (cargo clippy)"; }; \
	$(MAKE) --no-print-directory test-abi || { status=1; echo "FAIL: abi-check"; }; \
	for t in $(TEST_EXTRA); do \
	    $(MAKE) --no-print-directory $$t || { status=1; echo "FAIL: $$t"; }; \
	done; \
	rm -f $(BUILD)/c_tests/summary; \
	$(MAKE) --no-print-directory test-c-run 2>&1; \
	[ -f $(BUILD)/c_tests/summary ] || echo "0 passed, 1 failed" > $(BUILD)/c_tests/summary; \
	grep -q ' 0 failed$$' $(BUILD)/c_tests/summary || status=1; \
	[ $$status -eq 0 ] || echo "make test: some stage failed (see FAIL lines above)"; \
	cat $(BUILD)/c_tests/summary; \
	exit $$status

test-asan:
	@status=0; \
	$(MAKE) --no-print-directory lib || status=1; \
	for t in $(TEST_ASAN_EXTRA); do \
	    $(MAKE) --no-print-directory $$t || { status=1; echo "FAIL: $$t"; }; \
	done; \
	rm -f $(BUILD)/c_tests/summary-asan; \
	$(MAKE) --no-print-directory test-c-asan-run 2>&1; \
	[ -f $(BUILD)/c_tests/summary-asan ] || echo "0 passed, 1 failed" > $(BUILD)/c_tests/summary-asan; \
	grep -q ' 0 failed$$' $(BUILD)/c_tests/summary-asan || status=1; \
	[ $$status -eq 0 ] || echo "make test-asan: some stage failed (see FAIL lines above)"; \
	cat $(BUILD)/c_tests/summary-asan; \
	exit $$status

# ---------------------------------------------------------------- examples
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))

examples: $(EXAMPLE_BINS)

$(EXAMPLE_BINS): $(BUILD)/examples/%: examples/%.c $(HEADERS) $(LIBRAFT_SO)
	@mkdir -p $(dir $@)
	$(CC) $(RAFT_CFLAGS) $(CFLAGS) $< $(LINK_SHARED) -o $@

# ---------------------------------------------------------------- install
# raft.pc links the shared library; raft-static.pc names libraft.a itself,
# since -lraft resolves to libraft.so wherever both are installed.
PC_FILES := $(BUILD)/raft.pc $(BUILD)/raft-static.pc

# They depend on PREFIX, LIBDIR and INCLUDEDIR, so they are always rewritten.
$(PC_FILES): $(BUILD)/%.pc: %.pc.in Makefile FORCE
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    $< > $@

install: lib $(PC_FILES)
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIBRAFT_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIBRAFT_SOREAL) $(DESTDIR)$(LIBDIR)/
	ln -sf libraft.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIBRAFT_SONAME)
	ln -sf $(LIBRAFT_SONAME) $(DESTDIR)$(LIBDIR)/libraft.so
	install -m 644 $(PC_FILES) $(DESTDIR)$(LIBDIR)/pkgconfig/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS))) \
	      $(DESTDIR)$(LIBDIR)/libraft.a \
	      $(DESTDIR)$(LIBDIR)/libraft.so $(DESTDIR)$(LIBDIR)/$(LIBRAFT_SONAME) \
	      $(DESTDIR)$(LIBDIR)/libraft.so.$(VERSION) \
	      $(addprefix $(DESTDIR)$(LIBDIR)/pkgconfig/,$(notdir $(PC_FILES)))

# ---------------------------------------------------------------- clean
# Regenerate the committed include/raft.h from src/ffi (a cargo test fails
# while it is stale).
header:
	LIBRAFT_WRITE_HEADER=1 $(CARGO) build --release

clean:
	rm -rf $(BUILD)
	$(CARGO) clean
	$(if $(strip $(CLEAN_EXTRA)),$(MAKE) --no-print-directory $(CLEAN_EXTRA))

-include mk/*.mk
