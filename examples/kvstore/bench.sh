#!/usr/bin/env bash
# make kv-bench: kvload against 3 kvservers on 127.0.0.1 (fsync on), then,
# when etcd is installed (Debian: apt-get install etcd-server etcd-client),
# against 3 etcd members on 127.0.0.1 (default fsync), with the same load.
#   bench.sh BIN_DIR
# KV_BENCH_CONNS (64), KV_BENCH_SECONDS (10), KV_BENCH_VALUE (256 bytes),
# KV_BENCH_READS (0 = writes only). Each run is bounded; every process
# started is killed on exit.
set -u
BIN=${1:-build/kvstore}
CONNS=${KV_BENCH_CONNS:-64}
SECS=${KV_BENCH_SECONDS:-10}
VAL=${KV_BENCH_VALUE:-256}
READS=${KV_BENCH_READS:-0}
DATA=$(mktemp -d "${TMPDIR:-/tmp}/kvbench.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "kv-bench: $CONNS connections, $VAL-byte values, reads ratio $READS, $SECS s per run, $(nproc) cores"

# ---------------------------------------------------------------- kvstore
P=17201
PEERS="1=127.0.0.1:$P,2=127.0.0.1:$((P + 1)),3=127.0.0.1:$((P + 2))"
for i in 1 2 3; do
    "$BIN/kvserver" --id "$i" --dir "$DATA/kv$i" --peers "$PEERS" >"$DATA/kv$i.log" 2>&1 &
    PIDS+=($!)
done
sleep 1
timeout $((SECS + 60)) "$BIN/kvload" -s "127.0.0.1:$P,127.0.0.1:$((P + 1)),127.0.0.1:$((P + 2))" \
    -c "$CONNS" -d "$SECS" -v "$VAL" -r "$READS" || echo "kv-bench: kvload against kvstore failed"
for i in 1 2 3; do
    "$BIN/kvcli" -t 2 --direct -s "127.0.0.1:$((P + i - 1))" STATUS |
        sed -n 's/.* id=\([0-9]*\) state=\([a-z]*\).* last=\([0-9]*\).* fsyncs=\([0-9]*\).*/kv-bench: node \1 (\2): \3 entries, \4 fdatasync calls/p'
done
for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
PIDS=()

# ---------------------------------------------------------------- etcd
if ! command -v etcd >/dev/null; then
    echo "kv-bench: etcd not installed (apt-get install etcd-server etcd-client): skipped"
    exit 0
fi
echo "kv-bench: $(etcd --version | head -1)"
E=23791
EP=23801
CLUSTER="e1=http://127.0.0.1:$EP,e2=http://127.0.0.1:$((EP + 1)),e3=http://127.0.0.1:$((EP + 2))"
for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$DATA/etcd$i" \
        --listen-client-urls "http://127.0.0.1:$((E + i - 1))" \
        --advertise-client-urls "http://127.0.0.1:$((E + i - 1))" \
        --listen-peer-urls "http://127.0.0.1:$((EP + i - 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((EP + i - 1))" \
        --initial-cluster "$CLUSTER" --initial-cluster-state new \
        --initial-cluster-token kvbench --logger zap --log-level error \
        >"$DATA/etcd$i.log" 2>&1 &
    PIDS+=($!)
done
ENDPOINTS="127.0.0.1:$E,127.0.0.1:$((E + 1)),127.0.0.1:$((E + 2))"
LEADER=""
for _ in $(seq 1 100); do
    LEADER=$(ETCDCTL_API=3 etcdctl --endpoints="$ENDPOINTS" endpoint status 2>/dev/null |
             awk -F', ' '$5 == "true" { print $1 }' | head -1)
    [ -n "$LEADER" ] && break
    sleep 0.2
done
[ -n "$LEADER" ] || { echo "kv-bench: etcd elected no leader"; exit 1; }
LEADER=${LEADER#http://}
echo "kv-bench: etcd leader at $LEADER"
timeout $((SECS + 60)) "$BIN/kvload" --etcd "$LEADER" -c "$CONNS" -d "$SECS" -v "$VAL" -r "$READS" ||
    echo "kv-bench: kvload against etcd failed"
