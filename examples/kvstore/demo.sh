#!/usr/bin/env bash
# make demo: a three-node kvstore cluster on 127.0.0.1, narrated.
#   demo.sh BIN_DIR   (BIN_DIR holds kvserver and kvcli)
# Ports KV_DEMO_PORT..+3 (default 7001..7004). Bounded in time: every wait
# gives up after 30 s; every server started is killed on exit.
set -u
BIN=${1:-build/kvstore}
BASE=${KV_DEMO_PORT:-7001}
DATA=$(mktemp -d "${TMPDIR:-/tmp}/kvdemo.XXXXXX")
declare -A PID
ADDR() { echo "127.0.0.1:$((BASE + $1 - 1))"; }
PEERS3="1=$(ADDR 1),2=$(ADDR 2),3=$(ADDR 3)"
PEERS4="$PEERS3,4=$(ADDR 4)"
ALL="$(ADDR 1),$(ADDR 2),$(ADDR 3)"

cleanup() {
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$DATA"
}
trap cleanup EXIT
trap 'echo "demo: interrupted"; exit 130' INT TERM

say() { echo "demo: $*"; }
fail() { echo "demo: FAILED: $*"; for i in 1 2 3 4; do [ -f "$DATA/$i.log" ] && { echo "--- node $i log (tail)"; tail -n 15 "$DATA/$i.log"; }; done; exit 1; }
cli() { "$BIN/kvcli" -t 15 -s "$ALL" "$@"; }
status() { "$BIN/kvcli" -t 2 --direct -s "$(ADDR "$1")" STATUS 2>/dev/null; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

start() { # start ID [extra args]
    local id=$1; shift
    "$BIN/kvserver" --id "$id" --dir "$DATA/$id" "$@" >>"$DATA/$id.log" 2>&1 &
    PID[$id]=$!
}

leader_of() { # prints the leader id that the given nodes agree on
    for i in "$@"; do
        local s; s=$(status "$i") || continue
        if [ "$(field "$s" state)" = leader ]; then echo "$i"; return 0; fi
    done
    return 1
}

wait_for() { # wait_for "description" command...
    local what=$1; shift
    local t=0
    until "$@"; do
        sleep 0.2; t=$((t + 1))
        [ $t -ge 150 ] && fail "timed out waiting for $what"
    done
}

caught_up() { # caught_up ID: applied index equals the leader's commit index
    local l s; l=$(leader_of 1 2 3 4) || return 1
    s=$(status "$l") || return 1
    local c; c=$(field "$s" commit)
    s=$(status "$1") || return 1
    [ "$(field "$s" applied)" -ge "$c" ]
}

say "starting 3 servers on $(ADDR 1), $(ADDR 2), $(ADDR 3) (data in $DATA)"
for i in 1 2 3; do start "$i" --peers "$PEERS3"; done
wait_for "a leader" leader_of 1 2 3 >/dev/null
L=$(leader_of 1 2 3)
say "node $L was elected leader"

say "writing 20 keys through the leader"
for k in $(seq 1 20); do
    [ "$(cli SET "key$k" "value-$k")" = OK ] || fail "SET key$k"
done
say "read back key7 (linearizable GET): $(cli GET key7)"

say "killing the leader, node $L, with SIGKILL"
kill -9 "${PID[$L]}"; wait "${PID[$L]}" 2>/dev/null; unset "PID[$L]"
OTHERS=$(for i in 1 2 3; do [ "$i" != "$L" ] && echo -n "$i "; done)
wait_for "a new leader" leader_of $OTHERS >/dev/null
L2=$(leader_of $OTHERS)
say "node $L2 is the new leader"

say "writing 10 more keys while node $L is down"
for k in $(seq 21 30); do
    [ "$(cli SET "key$k" "value-$k")" = OK ] || fail "SET key$k"
done
[ "$(cli DEL key30)" = OK ] || fail "DEL key30"
say "deleted key30"

say "restarting node $L from its store"
start "$L" --peers "$PEERS3"
wait_for "node $L to catch up" caught_up "$L"
say "node $L reloaded its store: $(grep 'started:' "$DATA/$L.log" | tail -1 | sed 's/.*started: listening on [^,]*, //')"
say "node $L is back: $(status "$L")"

say "reading every key back on every node"
for i in 1 2 3; do
    wait_for "node $i to catch up" caught_up "$i"
    bad=0
    for k in $(seq 1 29); do
        v=$("$BIN/kvcli" -t 5 --direct -s "$(ADDR "$i")" GETLOCAL "key$k")
        [ "$v" = "VALUE value-$k" ] || { bad=1; echo "demo: node $i key$k: '$v'"; }
    done
    v=$("$BIN/kvcli" -t 5 --direct -s "$(ADDR "$i")" GETLOCAL key30)
    [ "$v" = NOTFOUND ] || bad=1
    [ $bad = 0 ] || fail "node $i does not hold every key"
    say "node $i holds key1..key29 with their values, and key30 is gone"
done

L3=$(leader_of 1 2 3)
T=$(( L3 % 3 + 1 ))
say "asking node $L3 to hand leadership to node $T (TRANSFER): $(cli TRANSFER "$T")"
wait_for "node $T to lead" leader_of "$T" >/dev/null
say "node $T is the leader now"

say "starting node 4 on $(ADDR 4) outside the cluster, and adding it"
start 4 --peers "$PEERS4" --join
[ "$(cli ADD-NODE 4 "$(ADDR 4)")" = OK ] || fail "ADD-NODE 4"
is_voter4() { local s; s=$(status 4) && grep -q "4:voter" <<<"$s"; }
wait_for "node 4 to become a voter" is_voter4
wait_for "node 4 to catch up" caught_up 4
say "node 4 caught up and was promoted to voter: $(status 4)"
say "node 4 reads key7 locally: $("$BIN/kvcli" -t 5 --direct -s "$(ADDR 4)" GETLOCAL key7)"

say "removing node 4"
[ "$(cli REMOVE-NODE 4)" = OK ] || fail "REMOVE-NODE 4"
no4() { local l s; l=$(leader_of 1 2 3) && s=$(status "$l") && ! grep -q "4:" <<<"$s"; }
wait_for "the leader to drop node 4" no4
L3=$(leader_of 1 2 3)
say "node 4 is out of the configuration: $(status "$L3")"
say "stopping node 4's process (a removed node gets no more messages)"
kill "${PID[4]}" 2>/dev/null; wait "${PID[4]}" 2>/dev/null; unset "PID[4]"
say "done: elected a leader, survived SIGKILL of the leader, restarted it from disk,"
say "      read every key back on every node, moved the leadership, added and removed a fourth node"
