#!/bin/sh
# Instructions per committed entry, counted by callgrind over the whole
# process (harness included).
#
#   instr.sh BIN OUTDIR N1 N2 [SCENARIO] [VALGRIND]
#
# Runs SCENARIO twice, with N1 and N2 entries, and prints
#   (Ir(N2) - Ir(N1)) / (N2 - N1)
# so that start-up, election and warm-up (the same in both runs) cancel out,
# plus each run's total divided by its entry count.
set -eu

bin=$1
out=$2
n1=$3
n2=$4
sc=${5:-3n-64b-b64}
vg=${6:-valgrind}

[ "$n2" -gt "$n1" ] || { echo "instr.sh: N2 must be larger than N1" >&2; exit 2; }
mkdir -p "$out"

total() {
    # "summary:" (older callgrind) or "totals:" line of a callgrind output file
    awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

for n in "$n1" "$n2"; do
    f="$out/callgrind.$sc.$n.out"
    rm -f "$f"
    echo "== $vg --tool=callgrind $bin --scenario=$sc --entries=$n"
    if ! $vg --tool=callgrind --callgrind-out-file="$f" \
            "$bin" --scenario="$sc" --entries="$n" \
            >"$out/instr.$n.txt" 2>"$out/instr.$n.log"; then
        cat "$out/instr.$n.txt" "$out/instr.$n.log" >&2
        echo "instr.sh: the run with $n entries failed" >&2
        exit 1
    fi
    sed -n '2p' "$out/instr.$n.txt"
done

t1=$(total "$out/callgrind.$sc.$n1.out")
t2=$(total "$out/callgrind.$sc.$n2.out")
awk -v t1="$t1" -v t2="$t2" -v n1="$n1" -v n2="$n2" -v sc="$sc" 'BEGIN {
    printf "%s: %.0f instructions for %d entries, %.0f for %d entries (whole process)\n", sc, t1, n1, t2, n2
    printf "whole run / entries: %.1f (N=%d), %.1f (N=%d)  (start-up, election and warm-up included)\n", t1 / n1, n1, t2 / n2, n2
    printf "instructions per committed entry: %.1f\n", (t2 - t1) / (n2 - n1)
}'
echo "callgrind output: $out/callgrind.$sc.$n1.out $out/callgrind.$sc.$n2.out"
