# Allocation failure (c_tests/test_oom.c, and the store's in
# c_tests/test_store_oom.c): scripted runs with each of their
# allocation points failing in turn. The C suite runs it (every point while
# a run has at most OOM_SAMPLES = 1000 of them, a spread sample beyond), and
# `make test-asan` runs it under valgrind with the rest of the suite.
#
#   make test-oom-asan   test_oom built with AddressSanitizer (and its
#                        LeakSanitizer) against libraft.a; part of
#                        make test-asan
#   make test-oom-long   every point of every run, each in a process of its
#                        own, listing every point that fails rather than
#                        stopping at the first (OOM_ALL=1 OOM_FORK=1), then
#                        again with runs of OOM_LONG_LENS failures in a row

OOM_ASAN_BIN := $(BUILD)/c_tests/asan/test_oom

.PHONY: test-oom-asan test-oom-long

$(OOM_ASAN_BIN): c_tests/test_oom.c $(SUPPORT_SRCS) $(HARNESS_SRCS) $(SUPPORT_HDRS) $(HEADERS) $(LIBRAFT_A)
	@mkdir -p $(@D)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer -Ic_tests -Iharness c_tests/test_oom.c $(SUPPORT_SRCS) $(HARNESS_SRCS) \
	    $(LINK_STATIC) -o $@

test-oom-asan: lib $(OOM_ASAN_BIN)
	ASAN_OPTIONS=detect_leaks=1 OOM_ALL=1 $(OOM_ASAN_BIN) | tee $(BUILD)/c_tests/asan/test_oom.log
	@grep -q ': [0-9]* passed, 0 failed$$' $(BUILD)/c_tests/asan/test_oom.log

OOM_LONG_LENS ?= 2 3 5 8 32 100

test-oom-long: lib $(BUILD)/c_tests/test_oom
	OOM_ALL=1 OOM_FORK=1 ./$(BUILD)/c_tests/test_oom
	@for n in $(OOM_LONG_LENS); do \
	    echo "== OOM_LEN=$$n"; \
	    OOM_ALL=1 OOM_FORK=1 OOM_LEN=$$n ./$(BUILD)/c_tests/test_oom || exit 1; \
	done

TEST_ASAN_EXTRA += test-oom-asan

# The store session of c_tests/test_store_oom.c, likewise under
# AddressSanitizer and its leak checker (part of make test-asan).
STORE_OOM_ASAN_BIN := $(BUILD)/c_tests/asan/test_store_oom

.PHONY: test-store-oom-asan

$(STORE_OOM_ASAN_BIN): c_tests/test_store_oom.c c_tests/support/failing_heap.c c_tests/support/tmpdir.c $(SUPPORT_HDRS) $(HEADERS) $(LIBRAFT_A)
	@mkdir -p $(@D)
	@rm -f $@
	$(CC) $(RAFT_CFLAGS) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer -Ic_tests c_tests/test_store_oom.c c_tests/support/failing_heap.c c_tests/support/tmpdir.c $(LINK_STATIC) -o $@

test-store-oom-asan: lib $(STORE_OOM_ASAN_BIN)
	ASAN_OPTIONS=detect_leaks=1 $(STORE_OOM_ASAN_BIN) | tee $(BUILD)/c_tests/asan/test_store_oom.log
	@grep -q ': [0-9]* passed, 0 failed$$' $(BUILD)/c_tests/asan/test_store_oom.log

TEST_ASAN_EXTRA += test-store-oom-asan
