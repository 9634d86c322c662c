# Fuzzing the wire format (include/raft_wire.h) with fuzz/fuzz_wire.c:
# arbitrary byte streams are decoded; what decodes must re-encode to the
# same bytes, and nothing may crash or leak.
#
#   make fuzz-wire FUZZ_SECONDS=N    libFuzzer against the coverage build of
#                                    the library (see mk/fuzz.mk)
#   make fuzz-wire-short             the standalone mutation driver (gcc,
#                                    ASan + UBSan) for FUZZ_WIRE_SECONDS
#                                    (default 5); part of make test

FUZZ_WIRE_SECONDS ?= 5
FUZZ_WIRE_BIN     := $(BUILD)/fuzz/fuzz_wire
FUZZ_WIRE_SA_BIN  := $(BUILD)/fuzz/fuzz_wire_standalone

.PHONY: fuzz-wire fuzz-wire-short

$(FUZZ_WIRE_SA_BIN): fuzz/fuzz_wire.c $(LIBRAFT_A) include/raft_wire.h include/raft.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -g -O1 -Wall -Wextra -Werror -DFUZZ_STANDALONE \
	    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	    -Iinclude $< $(LIBRAFT_A) $(NATIVE_LIBS) -lrt -o $@

fuzz-wire-short: lib $(FUZZ_WIRE_SA_BIN)
	@$(FUZZ_WIRE_SA_BIN) --seconds=$(FUZZ_WIRE_SECONDS)

$(FUZZ_WIRE_BIN): fuzz/fuzz_wire.c $(FUZZ_COV_LIB) include/raft_wire.h include/raft.h
	$(FUZZ_CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -Iinclude $< $(FUZZ_COV_LIB) $(FUZZ_LIBS) -o $@

fuzz-wire: fuzz-deps $(FUZZ_WIRE_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus-wire
	ASAN_OPTIONS=detect_leaks=1 $(FUZZ_WIRE_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -max_len=4096 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/wire- \
	    $(BUILD)/fuzz/corpus-wire

TEST_EXTRA += fuzz-wire-short
