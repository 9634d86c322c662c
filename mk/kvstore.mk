# The replicated key-value store example (examples/kvstore/): separate
# server processes on 127.0.0.1, raft over TCP in the wire format
# (raft_wire.h), the durable store (raft_store.h), a client and a load tool.
#
#   make kvstore         build build/kvstore/{kvserver,kvcli,kvload}
#   make demo            a 3-node cluster: write, SIGKILL the leader, restart
#                        it, read back everywhere, add and remove a 4th node
#   make kv-fault        short fault test (in make test): leader kills and
#                        restarts, partitions, while clients write and read;
#                        the history is checked for linearizability
#   make kv-fault-long   the same for KV_FAULT_LONG_SECONDS (default 300)
#   make kv-bench        kvload against 3 kvservers (fsync on) and, when
#                        installed, etcd with 3 members, same load
#
# Everything listens on 127.0.0.1 only; every script kills what it started
# when it ends, fails or is interrupted.

KV_DIR    := examples/kvstore
KV_BUILD  := $(BUILD)/kvstore
KV_BINS   := $(KV_BUILD)/kvserver $(KV_BUILD)/kvcli $(KV_BUILD)/kvload
KV_CFLAGS := -std=c99 -Wall -Wextra -Werror -Iinclude -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O2
KV_FAULT_SECONDS      ?= 20
KV_FAULT_LONG_SECONDS ?= 300
PYTHON ?= python3

.PHONY: kvstore demo kv-fault kv-fault-long kv-bench kv-checker-test

kvstore: $(KV_BINS)

$(KV_BUILD)/kvserver: $(KV_DIR)/kvserver.c $(KV_DIR)/kv.h $(HEADERS) $(LIBRAFT_SO)
	@mkdir -p $(@D)
	$(CC) $(KV_CFLAGS) $< $(LINK_SHARED) -o $@

$(KV_BUILD)/kvcli $(KV_BUILD)/kvload: $(KV_BUILD)/%: $(KV_DIR)/%.c $(KV_DIR)/kv.h
	@mkdir -p $(@D)
	$(CC) $(KV_CFLAGS) $< -o $@

demo: lib kvstore
	@$(KV_DIR)/demo.sh $(KV_BUILD)

# The checker's own tests (known linearizable and non-linearizable
# histories), then the cluster run.
kv-checker-test:
	@$(PYTHON) $(KV_DIR)/linearizability.py --self-test

kv-fault: lib kvstore kv-checker-test
	@$(PYTHON) $(KV_DIR)/faulttest.py --bin $(KV_BUILD) --seconds $(KV_FAULT_SECONDS)

kv-fault-long: lib kvstore kv-checker-test
	@$(PYTHON) $(KV_DIR)/faulttest.py --bin $(KV_BUILD) --seconds $(KV_FAULT_LONG_SECONDS)

kv-bench: lib kvstore
	@$(KV_DIR)/bench.sh $(KV_BUILD)

TEST_EXTRA += kv-fault

.PHONY: kv-badinput
kv-badinput: lib kvstore
	@$(PYTHON) $(KV_DIR)/badinput.py --bin $(KV_BUILD)

TEST_EXTRA += kv-badinput
