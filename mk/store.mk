# Durable store (include/raft_store.h, src/store/): crash test and benchmark.
#
#   make crash-test        the long crash test: CRASH_KILLS (1000) SIGKILLs of a
#                          writer under a real server, some runs with injected
#                          EIO/ENOSPC/short writes; CRASH_SEED to repeat a run
#   make crash-test-short  the same, CRASH_SHORT_KILLS (40) kills; part of make test
#   make bench-store       synced entries/s and fsyncs per entry (see bench/store_bench.c)
#                          and peak RSS; `make bench` runs its table part
#                          (STORE_BENCH_QUICK_ARGS, about 25 s) first
#   make sim-store         the simulator with every node on a store (in make test);
#                          sim-store-long: SIM_STORE_LONG_SEEDS random configurations

STORE_BUILD       := $(or $(BUILD),build)/store_tests
STORE_CRASH_BIN   := $(STORE_BUILD)/store_crash
CRASH_KILLS       ?= 1000
CRASH_SHORT_KILLS ?= 40
CRASH_SEED        ?=
CRASH_DIR         ?=
crash_args = $(if $(CRASH_SEED),-s $(CRASH_SEED)) $(if $(CRASH_DIR),-d $(CRASH_DIR))

.PHONY: crash-test crash-test-short

$(STORE_CRASH_BIN): store_tests/store_crash.c $(LIBRAFT_A) $(wildcard include/*.h)
	@mkdir -p $(@D)
	@rm -f $@
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude $< $(LIBRAFT_A) $(NATIVE_LIBS) -o $@

crash-test: $(STORE_CRASH_BIN)
	$(STORE_CRASH_BIN) -n $(CRASH_KILLS) $(crash_args)

crash-test-short: $(STORE_CRASH_BIN)
	$(STORE_CRASH_BIN) -n $(CRASH_SHORT_KILLS) $(crash_args)

TEST_EXTRA += crash-test-short

STORE_BENCH_BIN  := $(STORE_BUILD)/store_bench
STORE_BENCH_ARGS ?= --seconds=0.1 --repeat=21 --rss

.PHONY: bench-store

$(STORE_BENCH_BIN): bench/store_bench.c $(LIBRAFT_A) $(wildcard include/*.h)
	@mkdir -p $(@D)
	@rm -f $@
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude $< $(LIBRAFT_A) $(NATIVE_LIBS) -o $@

# Runs in the build directory's file system unless STORE_BENCH_DIR is set
# (the disk to measure).
STORE_BENCH_DIR ?= $(or $(BUILD),build)/store_bench_dir
bench-store: $(STORE_BENCH_BIN)
	@rm -rf $(STORE_BENCH_DIR) && mkdir -p $(STORE_BENCH_DIR)
	$(STORE_BENCH_BIN) --dir=$(abspath $(STORE_BENCH_DIR)) $(STORE_BENCH_ARGS)
	@rm -rf $(STORE_BENCH_DIR)

# The table only (no RSS runs), shorter rounds: part of `make bench`.
STORE_BENCH_QUICK_ARGS ?= --seconds=0.05 --repeat=21
.PHONY: bench-store-quick
bench-store-quick: $(STORE_BENCH_BIN)
	@rm -rf $(STORE_BENCH_DIR) && mkdir -p $(STORE_BENCH_DIR)
	@echo "== $(STORE_BENCH_BIN) $(STORE_BENCH_QUICK_ARGS)   (the durable store; make bench-store for the RSS figures)"
	@$(STORE_BENCH_BIN) --dir=$(abspath $(STORE_BENCH_DIR)) $(STORE_BENCH_QUICK_ARGS)
	@rm -rf $(STORE_BENCH_DIR)

bench: bench-store-quick

# The cluster simulator with every node on a raft_store (sim --store=1):
# crashes are power failures of the store's directory, restarts reopen it.
SIM_STORE_SEEDS      ?= 4
SIM_STORE_LONG_SEEDS ?= 300

.PHONY: sim-store sim-store-long

sim-store: $(SIM_BIN)
	@echo "== sim-store"
	$(SIM_BIN) --store=1 --seed=1 --seeds=$(SIM_STORE_SEEDS) -q

sim-store-long: $(SIM_BIN)
	$(SIM_BIN) --store=1 --random-config --seed=1000 --seeds=$(SIM_STORE_LONG_SEEDS) -q

TEST_EXTRA += sim-store
