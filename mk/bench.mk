# Benchmark (issue 7): bench/raft_bench.c, an in-process cluster driven
# through the public raft.h only. See bench/README.md.
#
#   make bench           build and run every scenario, print the table: time
#                        (best of 3) and, under callgrind, instructions per
#                        entry of the whole process and of the library alone
#   make bench-compare BENCH_OTHER_LIB=... BENCH_OTHER_INCLUDE=...
#                        the same for our library and another one side by side
#   make bench-build     only build $(BENCH_BIN)
#   make bench-instr     instructions per committed entry (callgrind, 3n-64b-b64)
#   make bench-profile   bench-instr, then the top functions per entry
#   make bench-malloc-floor  glibc's malloc + free per entry-sized block alone
#
# Variables:
#   RAFT_LIB=path/to/libraft.a|.so   library to link (default build/libraft.a,
#                                    built by `make lib`)
#   RAFT_INCLUDE=dir                 where raft.h is (default include/)
#   BENCH_ARGS="--scenario=3n-64b-b1 --entries=100000 --repeat=1 --no-instr"
#                                    arguments for bench/bench.py (`make bench`)
#   BENCH_OTHER_LIB, BENCH_OTHER_INCLUDE, BENCH_OTHER_LABEL   the library to
#                                    compare with (`make bench-compare`)
#   BENCH_INSTR_N1 / BENCH_INSTR_N2  entry counts of the two callgrind runs

BENCH_BUILD     ?= $(or $(BUILD),build)/bench
RAFT_LIB        ?= $(or $(LIBRAFT_A),build/libraft.a)
RAFT_INCLUDE    ?= include
BENCH_BIN       ?= $(BENCH_BUILD)/raft_bench
BENCH_CC        ?= $(or $(CC),cc)
BENCH_CFLAGS    ?= -std=c99 -O2 -g -Wall -Wextra -Werror
BENCH_ARGS      ?= --repeat=5
BENCH_INSTR_N1  ?= 20000
BENCH_INSTR_N2  ?= 40000
BENCH_VALGRIND  ?= valgrind

# A Rust staticlib needs these from the system; harmless for a C library.
BENCH_ARCHIVE_LIBS ?= -lpthread -ldl -lm -lrt
BENCH_LINK = $(if $(filter %.a,$(RAFT_LIB)),$(RAFT_LIB) $(BENCH_ARCHIVE_LIBS),\
             $(RAFT_LIB) -Wl,-rpath,$(abspath $(dir $(RAFT_LIB))) -lm)

.PHONY: bench bench-build bench-instr bench-profile bench-valgrind bench-force

bench-force:

# Relink when RAFT_LIB or RAFT_INCLUDE change between invocations.
$(BENCH_BUILD)/raft-lib.txt: bench-force
	@mkdir -p $(@D)
	@echo '$(RAFT_LIB) $(RAFT_INCLUDE) $(BENCH_CFLAGS)' | cmp -s - $@ || \
	    echo '$(RAFT_LIB) $(RAFT_INCLUDE) $(BENCH_CFLAGS)' > $@

$(BENCH_BIN): bench/raft_bench.c $(RAFT_LIB) $(BENCH_BUILD)/raft-lib.txt \
              $(wildcard $(RAFT_INCLUDE)/raft.h $(RAFT_INCLUDE)/raft_types.h)
	@mkdir -p $(@D)
	@rm -f $@
	$(BENCH_CC) $(BENCH_CFLAGS) -I$(RAFT_INCLUDE) $< $(BENCH_LINK) -o $@

bench-build: $(BENCH_BIN)

bench: $(BENCH_BIN) bench-valgrind
	@echo "== bench/bench.py $(BENCH_ARGS)   (library: $(RAFT_LIB))"
	@python3 bench/bench.py --bin=libraft=$(BENCH_BIN) --outdir=$(BENCH_BUILD) \
	    --valgrind="$(BENCH_VALGRIND)" $(BENCH_ARGS)

# The same benchmark source linked against another library with this ABI.
BENCH_OTHER_LIB     ?=
BENCH_OTHER_INCLUDE ?= $(dir $(BENCH_OTHER_LIB))include
BENCH_OTHER_LABEL   ?= other
BENCH_OTHER_BIN     ?= $(BENCH_BUILD)/raft_bench.$(BENCH_OTHER_LABEL)
BENCH_OTHER_LINK = $(if $(filter %.a,$(BENCH_OTHER_LIB)),$(BENCH_OTHER_LIB) $(BENCH_ARCHIVE_LIBS),\
             $(BENCH_OTHER_LIB) -Wl,-rpath,$(abspath $(dir $(BENCH_OTHER_LIB))) -lm)

bench-compare: $(BENCH_BIN) bench-valgrind
	@test -n "$(BENCH_OTHER_LIB)" || { echo "set BENCH_OTHER_LIB=path/to/libraft.a (and BENCH_OTHER_INCLUDE)"; exit 2; }
	@mkdir -p $(BENCH_BUILD)
	$(BENCH_CC) $(BENCH_CFLAGS) -I$(BENCH_OTHER_INCLUDE) bench/raft_bench.c $(BENCH_OTHER_LINK) \
	    -o $(BENCH_OTHER_BIN)
	@echo "== bench/bench.py $(BENCH_ARGS)   (libraft: $(RAFT_LIB), $(BENCH_OTHER_LABEL): $(BENCH_OTHER_LIB))"
	@python3 bench/bench.py --bin=libraft=$(BENCH_BIN) \
	    --bin=$(BENCH_OTHER_LABEL)=$(BENCH_OTHER_BIN) --outdir=$(BENCH_BUILD) \
	    --valgrind="$(BENCH_VALGRIND)" $(BENCH_ARGS)

.PHONY: bench-compare

bench-valgrind:
	@command -v $(BENCH_VALGRIND) >/dev/null 2>&1 || { \
	    echo "valgrind not found: installing it"; \
	    sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq valgrind >/dev/null; \
	    command -v $(BENCH_VALGRIND) >/dev/null 2>&1 || { echo "cannot install valgrind"; exit 1; }; }

bench-instr: $(BENCH_BIN) bench-valgrind
	@sh bench/instr.sh $(BENCH_BIN) $(BENCH_BUILD) $(BENCH_INSTR_N1) $(BENCH_INSTR_N2) \
	    3n-64b-b64 "$(BENCH_VALGRIND)"

bench-profile: bench-instr
	@python3 bench/profile.py $(BENCH_BUILD)/callgrind.3n-64b-b64.$(BENCH_INSTR_N1).out \
	    $(BENCH_BUILD)/callgrind.3n-64b-b64.$(BENCH_INSTR_N2).out \
	    $$(( $(BENCH_INSTR_N2) - $(BENCH_INSTR_N1) ))

# glibc's own cost per entry-sized malloc + free (bench/malloc_floor.c),
# counted the same way as bench-instr.
BENCH_FLOOR_BIN ?= $(BENCH_BUILD)/malloc_floor

$(BENCH_FLOOR_BIN): bench/malloc_floor.c
	@mkdir -p $(@D)
	$(BENCH_CC) $(BENCH_CFLAGS) $< -o $@

bench-malloc-floor: $(BENCH_FLOOR_BIN) bench-valgrind
	@sh bench/instr.sh $(BENCH_FLOOR_BIN) $(BENCH_BUILD)/floor $(BENCH_INSTR_N1) $(BENCH_INSTR_N2) \
	    malloc-floor "$(BENCH_VALGRIND)"

.PHONY: bench-malloc-floor

# A quick run of every scenario (a few thousand entries each) as part of
# `make test`: replication, commit and apply through the public API only;
# then the compaction scenarios with enough entries for a few snapshots.
bench-smoke: $(BENCH_BIN)
	@echo "== $(BENCH_BIN) --all --entries=3000"
	@$(BENCH_BIN) --all --entries=3000
	@echo "== $(BENCH_BIN) --scenario=3n-64b-b64-snap10k,3n-64b-b1-snap10k --entries=20000"
	@$(BENCH_BIN) --scenario=3n-64b-b64-snap10k,3n-64b-b1-snap10k --entries=20000

TEST_EXTRA += bench-smoke
.PHONY: bench-smoke
