# Deterministic cluster simulator (issue 6): sim/*.c drive many libraft
# servers through the exported raft_* functions, injects faults and checks
# Raft's safety properties on every step. See sim/README.md.
#
#   make sim            one run; options as variables, e.g.
#                       make sim SEED=7 NODES=5 STEPS=20000 DROP=0.1 CRASH=0.01
#                       (or SIM_ARGS="--seed=7 --random-config -v")
#   make sim-smoke      the seed set run by `make test` (every fault kind)
#   make sim-long       thousands of seeds (SIM_LONG_SEEDS, SIM_LONG_STEPS)
#   make sim-asan       the smoke seeds under ASan + UBSan (leaks included)

SIM_BUILD    := $(or $(BUILD),build)/sim
SIM_LIB      := $(or $(LIBRAFT_A),build/libraft.a)
SIM_INCLUDE  ?= include
SIM_CC       ?= $(or $(CC),cc)
SIM_CFLAGS   ?= -std=c11 -O2 -g -Wall -Wextra -Werror
SIM_LIBS     ?= $(or $(NATIVE_LIBS),-lpthread -ldl -lm) -lrt
SIM_BIN      := $(SIM_BUILD)/sim
# The shared cluster harness (harness/: network, log, disk, clock, PRNG).
SIM_HARNESS_SRCS := $(wildcard harness/*.c)
SIM_HARNESS  := $(SIM_HARNESS_SRCS) $(wildcard harness/*.h)
SIM_SRCS     := $(sort $(wildcard sim/*.c))
SIM_DEPS     := $(SIM_SRCS) $(wildcard sim/*.h) $(SIM_HARNESS)
SIM_ASAN_BIN := $(SIM_BUILD)/sim-asan
SIM_JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

SIM_LONG_SEEDS ?= 2000
SIM_LONG_STEPS ?= 3000
SIM_LONG_FIRST ?= 100000

# `make sim` options
sim_opt = $(if $($(1)),--$(2)=$($(1)))
SIM_ARGS ?=
SIM_RUN_ARGS = $(call sim_opt,SEED,seed) $(call sim_opt,SEEDS,seeds) \
    $(call sim_opt,NODES,nodes) $(call sim_opt,STEPS,steps) \
    $(call sim_opt,PROFILE,profile) \
    $(call sim_opt,DROP,drop) $(call sim_opt,DUP,dup) \
    $(call sim_opt,REORDER,reorder) $(call sim_opt,DELAY,delay) \
    $(call sim_opt,PARTITION,partition) $(call sim_opt,ONEWAY,oneway) \
    $(call sim_opt,CRASH,crash) $(call sim_opt,COMPACT,compact) \
    $(call sim_opt,MEMBER,member) $(call sim_opt,READ,read) \
    $(call sim_opt,TRANSFER,transfer) $(call sim_opt,PROPOSE,propose) \
    $(call sim_opt,AUTOFLUSH,autoflush) $(call sim_opt,NONBLOCKING,nonblocking) \
    $(call sim_opt,HEAL_EVERY,heal-every) $(call sim_opt,LIVE_BOUND,live-bound) \
    $(SIM_ARGS)

.PHONY: sim sim-build sim-smoke sim-long sim-asan sim-clean

$(SIM_BIN): $(SIM_DEPS) $(SIM_LIB) $(wildcard $(SIM_INCLUDE)/raft.h)
	@mkdir -p $(@D)
	@rm -f $@
	$(SIM_CC) $(SIM_CFLAGS) -I$(SIM_INCLUDE) -Iharness $(SIM_SRCS) $(SIM_HARNESS_SRCS) $(SIM_LIB) $(SIM_LIBS) -o $@

$(SIM_ASAN_BIN): $(SIM_DEPS) $(SIM_LIB) $(wildcard $(SIM_INCLUDE)/raft.h)
	@mkdir -p $(@D)
	@rm -f $@
	$(SIM_CC) $(SIM_CFLAGS) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all -I$(SIM_INCLUDE) -Iharness $(SIM_SRCS) $(SIM_HARNESS_SRCS) $(SIM_LIB) $(SIM_LIBS) -o $@

sim-build: $(SIM_BIN)

sim: $(SIM_BIN)
	$(SIM_BIN) $(SIM_RUN_ARGS)

# The smoke set: every fault kind (checked by --require-coverage), cluster
# sizes 3..9, auto flush on and off, randomised configurations, a
# determinism check (the same seed twice gives the same event digest), and
# a self-test of the linearizability check (stale reads must be caught).
# $(1) = binary, $(2) = scale divisor for the sanitizer build.
define sim_smoke_runs
set -e; \
$(1) -q --profile=all --seed=1 --seeds=$$((60/$(2))) --steps=5000 --require-coverage; \
$(1) -q --profile=all --nodes=3 --autoflush=0 --seed=101 --seeds=$$((20/$(2))) --steps=4000; \
$(1) -q --profile=all --nodes=9 --autoflush=1 --seed=201 --seeds=$$((10/$(2))) --steps=4000; \
$(1) -q --profile=member --nodes=3 --seed=301 --seeds=$$((20/$(2))) --steps=4000; \
$(1) -q --profile=crash --nodes=5 --seed=401 --seeds=$$((20/$(2))) --steps=4000; \
$(1) -q --profile=partition --nodes=5 --seed=501 --seeds=$$((20/$(2))) --steps=4000; \
$(1) -q --profile=all --nodes=7 --seed=601 --steps=$$((50000/$(2))); \
$(1) -q --random-config --seed=1001 --seeds=$$((500/$(2))) --steps=3000; \
$(1) -q --random-config --seed=5001 --seeds=5 --steps=3000 --replay-check; \
if $(1) -q --random-config --seed=1001 --seeds=5 --steps=3000 --stale-reads >/dev/null 2>&1; then \
    echo "sim: the --stale-reads self-test found no linearizability violation"; exit 1; fi
endef

sim-smoke: $(SIM_BIN)
	@echo "== sim-smoke"
	@$(call sim_smoke_runs,$(SIM_BIN),1)

sim-asan: $(SIM_ASAN_BIN)
	@echo "== sim-asan (ASan + UBSan, leak check on)"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 $(call sim_smoke_runs,$(SIM_ASAN_BIN),3)

# Thousands of seeds with randomised configurations, spread over SIM_JOBS
# processes. A failure prints the seed and the replay command line.
sim-long: $(SIM_BIN)
	@echo "== sim-long: $(SIM_LONG_SEEDS) seeds x $(SIM_LONG_STEPS) steps from $(SIM_LONG_FIRST) on $(SIM_JOBS) jobs"
	@per=$$(( ($(SIM_LONG_SEEDS) + $(SIM_JOBS) - 1) / $(SIM_JOBS) )); pids=; \
	for j in $$(seq 0 $$(( $(SIM_JOBS) - 1 ))); do \
	    first=$$(( $(SIM_LONG_FIRST) + j * per )); \
	    n=$$(( $(SIM_LONG_SEEDS) - j * per )); [ $$n -gt $$per ] && n=$$per; \
	    [ $$n -le 0 ] && continue; \
	    $(SIM_BIN) -q --random-config --seed=$$first --seeds=$$n --steps=$(SIM_LONG_STEPS) \
	        > $(SIM_BUILD)/long.$$j.log 2>&1 & pids="$$pids $$!"; \
	done; \
	status=0; for p in $$pids; do wait $$p || status=1; done; \
	cat $(SIM_BUILD)/long.*.log | grep -v '^sim: ' || true; \
	grep -h '^sim: ' $(SIM_BUILD)/long.*.log || true; \
	rm -f $(SIM_BUILD)/long.*.log; \
	exit $$status

sim-clean:
	rm -rf $(SIM_BUILD)

TEST_EXTRA      += sim-smoke
TEST_ASAN_EXTRA += sim-asan
CLEAN_EXTRA     += sim-clean
