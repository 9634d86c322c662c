#!/usr/bin/env python3
"""Per-entry instruction profile from two callgrind runs.

    profile.py SMALL.out LARGE.out DELTA_ENTRIES [TOP]

Each function's instruction count in the smaller run is subtracted from the
larger one and divided by the difference in entries, so start-up, election
and warm-up cancel out (as in `make bench-instr`). Prints the functions with
the most self cost per entry, then the inclusive cost per entry of the
raft_* entry points the harness calls.
"""
import re
import subprocess
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")


def annotate(path, inclusive):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=" + ("yes" if inclusive else "no"),
         "--threshold=100", "--auto=no", "--tree=none", path],
        check=True, capture_output=True, text=True).stdout
    costs = {}
    started = False
    for line in out.splitlines():
        if "file:function" in line:
            started = True
            continue
        if not started:
            continue
        m = LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if "PROGRAM TOTALS" in name:
            continue
        # "path/file.c:function [object]" -> "function [object basename]"
        obj = ""
        mo = re.search(r"\s\[([^\]]*)\]\s*$", name)
        if mo:
            obj = mo.group(1).rsplit("/", 1)[-1]
            name = name[:mo.start()]
        # Strip the source file prefix (it may itself contain ':').
        func = name
        mf = re.match(r"^(?:\S*?\.(?:c|h|rs|S|s|cpp|cc)|\?\?\?):(.*)$", name)
        if mf:
            func = mf.group(1)
        # Inlined code is listed once per source file, and the object name
        # only on the first line of a run: key by function name alone.
        func = func.strip()
        if obj:
            OBJECTS.setdefault(func, obj)
        if inclusive:
            # A split's inclusive cost covers the calls inlined into it, so
            # splits overlap: the largest is the function's own.
            costs[func] = max(costs.get(func, 0), ir)
        else:
            costs[func] = costs.get(func, 0) + ir
    return costs


OBJECTS = {}


def owner(func, obj):
    if func.startswith(("cb_", "hk_", "q_", "deliver", "run_", "apply_pending",
                        "periodic_all", "settle", "elect", "main", "peer_index",
                        "rng", "all_applied", "check_rc", "propose",
                        "measured_run", "compact_all", "note_reads",
                        "page_faults", "proc_heap")):
        return "harness"
    if obj.startswith(("libc", "ld-linux")) or func in (
            "malloc", "calloc", "realloc", "free", "memset", "memcpy", "memmove"):
        return "libc"
    return "library"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    small, large, delta = sys.argv[1], sys.argv[2], int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 30

    s_self, l_self = annotate(small, False), annotate(large, False)
    rows = []
    for func in set(s_self) | set(l_self):
        d = (l_self.get(func, 0) - s_self.get(func, 0)) / delta
        rows.append((d, (func, OBJECTS.get(func, ""))))
    rows.sort(reverse=True)
    total = sum(d for d, _ in rows)
    by_owner = {}
    for d, (func, obj) in rows:
        o = owner(func, obj)
        by_owner[o] = by_owner.get(o, 0) + d

    print("Self instructions per committed entry (large run minus small run):")
    print("  total %.1f  =  %s" % (total, ",  ".join(
        "%s %.1f" % (k, v) for k, v in sorted(by_owner.items(), key=lambda kv: -kv[1]))))
    print("  (library = everything not in the harness or libc; malloc/free called by")
    print("   the library through the heap hooks count as libc + harness)")
    print()
    print("%10s  %-8s  %s" % ("Ir/entry", "owner", "function"))
    for d, (func, obj) in rows[:top]:
        if abs(d) < 0.05:
            break
        print("%10.1f  %-8s  %s" % (d, owner(func, obj), func[:110]))

    s_inc, l_inc = annotate(small, True), annotate(large, True)
    api = []
    for func in set(s_inc) | set(l_inc):
        if not re.match(r"^raft_[a-z_]+$", func):
            continue
        d = (l_inc.get(func, 0) - s_inc.get(func, 0)) / delta
        if d >= 0.05:
            api.append((d, func))
    api.sort(reverse=True)
    print()
    print("Inclusive instructions per committed entry of raft.h entry points")
    print("(callees included: callbacks into the harness, malloc, ...):")
    for d, func in api[:top]:
        print("%10.1f  %s" % (d, func))


if __name__ == "__main__":
    main()
