#!/usr/bin/env python3
"""Linearizability checker for a key-value store of registers.

A history is a list of operations, each a dict with
  key, kind ('w' write, 'r' read), value (None = absent / deleted),
  call, ret (times; ret = None when the outcome is unknown: a write that
  timed out may or may not have taken effect; reads without an answer are
  left out of the history).
Keys are independent registers, so each key is checked alone
(P-compositionality). For one key, a depth-first search in the manner of
Wing & Gong / Lowe linearizes operations one at a time: an operation may go
next if it was called before every remaining completed operation returned;
a write sets the state, a read must see it. Visited (set of linearized
operations, state) pairs are remembered, which keeps the search small.
Writes with unknown outcome may be linearized anywhere after their call, or
never. The history is linearizable when every completed operation fits.

  linearizability.py --self-test       runs the checker's own tests
"""
import sys

INF = float("inf")


def check_key(ops, initial=None):
    """Returns (True, None) or (False, explanation) for one key's ops."""
    # Unknown writes of a value written only once: if no read saw the value,
    # leaving the write out is as good as any placement; if reads saw it, it
    # took effect before the first of them returned. Either way the search
    # no longer has to place an operation that may float forever.
    written = {}
    for o in ops:
        if o["kind"] == "w":
            written[o["value"]] = written.get(o["value"], 0) + 1
    first_seen = {}
    for o in ops:
        if o["kind"] == "r" and o["ret"] is not None:
            v = o["value"]
            first_seen[v] = min(first_seen.get(v, INF), o["ret"])
    fixed = []
    for o in ops:
        if o["kind"] == "w" and o["ret"] is None and o["value"] is not None and written[o["value"]] == 1:
            if o["value"] not in first_seen:
                continue
            o = dict(o, ret=max(o["call"], first_seen[o["value"]]))
        fixed.append(o)
    ops = sorted(fixed, key=lambda o: o["call"])
    n = len(ops)
    calls = [o["call"] for o in ops]
    rets = [INF if o["ret"] is None else o["ret"] for o in ops]
    # A search state: ops[:lo] are linearized, so are the indices in `extra`
    # (all >= lo), and the register holds `state`. An operation with unknown
    # outcome may also be "linearized" as a no-op (it did not take effect).
    seen = set()
    stack = [(0, frozenset(), initial)]
    best = 0
    while stack:
        lo, extra, state = stack.pop()
        while lo in extra:
            extra = extra - {lo}
            lo += 1
        if lo == n:
            return True, None
        key = (lo, extra, state)
        if key in seen:
            continue
        seen.add(key)
        best = max(best, lo)
        # Operations are sorted by call and ret >= call, so both scans stop
        # at the first operation called after the earliest pending return.
        min_ret = INF
        for i in range(lo, n):
            if calls[i] >= min_ret:
                break
            if i not in extra and rets[i] < min_ret:
                min_ret = rets[i]
        for i in range(lo, n):
            if calls[i] >= min_ret:
                break
            if i in extra:
                continue
            o = ops[i]
            nxt = extra | {i}
            if o["kind"] == "w":
                stack.append((lo, nxt, o["value"]))
                if o["ret"] is None:
                    stack.append((lo, nxt, state))
            elif o["value"] == state:
                stack.append((lo, nxt, state))
        if len(seen) > 2_000_000:
            return False, "search too large to decide (%d states)" % len(seen)
    return False, "no linearization: stuck after %d of %d operations (call %.3f)" % (
        best, n, calls[best] if best < n else 0)


def check(history):
    """history: list of ops (see module doc). Returns (ok, {key: message})."""
    by_key = {}
    for o in history:
        by_key.setdefault(o["key"], []).append(o)
    bad = {}
    for k, ops in by_key.items():
        ok, why = check_key(ops)
        if not ok:
            bad[k] = why
    return not bad, bad


def _op(kind, value, call, ret, key="k"):
    return {"key": key, "kind": kind, "value": value, "call": call, "ret": ret}


def self_test():
    cases = [
        ("sequential write then read", [_op("w", 1, 0, 1), _op("r", 1, 2, 3)], True),
        ("stale read after a write returned", [_op("w", 1, 0, 1), _op("r", None, 2, 3)], False),
        ("read concurrent with a write may see either", [_op("w", 1, 0, 5), _op("r", None, 1, 2), _op("r", 1, 3, 4)], True),
        ("reads going back in time", [_op("w", 1, 0, 5), _op("r", 1, 1, 2), _op("r", None, 3, 4)], False),
        ("value never written", [_op("w", 1, 0, 1), _op("r", 2, 2, 3)], False),
        ("unknown write seen later", [_op("w", 1, 0, None), _op("r", 1, 5, 6)], True),
        ("unknown write never seen", [_op("w", 1, 0, None), _op("r", None, 5, 6)], True),
        ("unknown write cannot be seen then unseen",
         [_op("w", 1, 0, None), _op("r", 1, 5, 6), _op("r", None, 7, 8)], False),
        ("lost acknowledged write", [_op("w", 1, 0, 1), _op("w", 2, 2, 3), _op("r", 1, 4, 5)], False),
        ("delete", [_op("w", 1, 0, 1), _op("w", None, 2, 3), _op("r", None, 4, 5)], True),
        ("keys are independent", [_op("w", 1, 0, 1, "a"), _op("r", None, 2, 3, "b"), _op("r", 1, 2, 3, "a")], True),
    ]
    # A larger concurrent history that is linearizable by construction:
    # each op takes effect at a known instant inside its interval.
    import random
    rng = random.Random(5)
    t, state, hist = 0.0, None, []
    for i in range(400):
        t += 1
        call = t - rng.random() * 3
        ret = t + rng.random() * 3
        if rng.random() < 0.5:
            state = i
            hist.append(_op("w", i, call, ret if rng.random() < 0.9 else None))
        else:
            hist.append(_op("r", state, call, ret))
    cases.append(("400 overlapping ops, linearizable by construction", hist, True))
    # The same with one late read answering a value overwritten long before.
    stale = [dict(o) for o in hist]
    reads = [o for o in stale if o["kind"] == "r" and o["call"] > 300]
    reads[0]["value"] = next(o["value"] for o in stale if o["kind"] == "w" and o["ret"] and o["ret"] < 100)
    cases.append(("the same with one read going back in time", stale, False))
    failures = 0
    for name, h, want in cases:
        ok, _ = check(h)
        status = "ok" if ok == want else "WRONG"
        failures += ok != want
        print("checker self-test: %-52s %s" % (name, status))
    print("checker self-test: %d passed, %d failed" % (len(cases) - failures, failures))
    return failures == 0


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        sys.exit(0 if self_test() else 1)
    print(__doc__)
