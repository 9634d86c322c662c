#!/usr/bin/env python3
"""Run raft_bench's scenarios and print one table, for one library or more.

    bench.py [--bin LABEL=PATH]... [--scenario=A,B] [--repeat=N] [--entries=N]
             [--instr | --no-instr] [--valgrind=CMD] [--outdir=DIR] [--markdown]

Each --bin is a raft_bench binary linked against one library (the first is
"ours" for the ratio columns; default build/bench/raft_bench). For every
scenario, every binary runs --repeat times, interleaved (A B A B ...) so
that load on a shared machine hits both alike, and the run with the least
CPU time is kept.

With --instr (the default when valgrind is found), every binary then runs
each scenario once more under callgrind, collecting only the measured phase
(--toggle-collect=measured_run: no start-up, election, warm-up or
raft_destroy) with the scenario's smaller callgrind entry count, and the
self cost of every function is split by owner:
  library  functions of the library: in its shared object, or, when linked
           statically, in the benchmark binary but not from raft_bench.c;
  harness  functions from raft_bench.c (queues, callbacks, heap hooks);
  libc     everything else (glibc's malloc, free, memcpy, memset, ...).
"Ir/e lib" is the library's self instructions per entry: the work the
library does itself, whichever allocator and harness surround it.
"""
import os
import re
import shutil
import subprocess
import sys

HARNESS_SOURCE = "raft_bench.c"


def parse_args(argv):
    opts = {"bins": [], "scenarios": None, "repeat": 3, "entries": None,
            "instr": None, "valgrind": "valgrind", "outdir": "build/bench",
            "markdown": False, "paired": False}
    for a in argv:
        if a.startswith("--bin="):
            v = a[6:]
            label, _, path = v.partition("=")
            if not path:
                label, path = os.path.basename(v), v
            opts["bins"].append((label, path))
        elif a.startswith("--scenario="):
            opts["scenarios"] = [s for s in a[11:].split(",") if s]
        elif a.startswith("--repeat="):
            opts["repeat"] = int(a[9:])
        elif a.startswith("--entries="):
            opts["entries"] = int(a[10:])
        elif a == "--all":
            opts["scenarios"] = None
        elif a == "--instr":
            opts["instr"] = True
        elif a == "--no-instr":
            opts["instr"] = False
        elif a.startswith("--valgrind="):
            opts["valgrind"] = a[11:]
        elif a.startswith("--outdir="):
            opts["outdir"] = a[9:]
        elif a == "--markdown":
            opts["markdown"] = True
        elif a == "--paired":
            opts["paired"] = True
        elif a in ("-h", "--help"):
            print(__doc__)
            sys.exit(0)
        else:
            sys.exit("bench.py: unknown argument %s (see --help)" % a)
    if not opts["bins"]:
        opts["bins"] = [("libraft", "build/bench/raft_bench")]
    if opts["instr"] is None:
        opts["instr"] = shutil.which(opts["valgrind"].split()[0]) is not None
    return opts


def scenarios_of(path):
    out = subprocess.run([path, "--list-tsv"], check=True, capture_output=True,
                         text=True).stdout
    sc = []
    for line in out.splitlines():
        name, nodes, default, instr = line.split("\t")
        sc.append({"name": name, "nodes": int(nodes), "default": int(default),
                   "instr": int(instr)})
    return sc


FIELDS = ["name", "entries", "eps", "cpu_ns", "heap", "allocs", "msgs", "ae",
          "ae_empty", "reads", "reads_ok", "read_rounds", "snapshots", "faults",
          "status"]


def parse_row(text):
    for line in text.splitlines():
        if line.startswith("row\t"):
            vals = line.split("\t")[1:]
            row = dict(zip(FIELDS, vals))
            for k in FIELDS[1:-1]:
                row[k] = float(row[k])
            return row
    return None


def run_once(path, name, entries, prefix=()):
    cmd = list(prefix) + [path, "--scenario=" + name, "--tsv"]
    if entries:
        cmd.append("--entries=%d" % entries)
    p = subprocess.run(cmd, capture_output=True, text=True)
    row = parse_row(p.stdout)
    if row is None or p.returncode != 0:
        sys.stderr.write("bench.py: %s failed (exit %d)\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return row


# ------------------------------------------------------------ callgrind

def callgrind_split(path, binary):
    """Self cost (Ir) per owner from a callgrind output file."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    kind_of = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl",
               "cfi": "fl", "cfl": "fl", "fn": "fn", "cfn": "fn"}
    comp = re.compile(r"^\((\d+)\)(?:\s(.*))?$")

    def name(kind, v):
        m = comp.match(v)
        if not m:
            return v
        i, n = m.group(1), m.group(2)
        if n is not None:
            names[kind][i] = n
            return n
        return names[kind].get(i, "?")

    binary = os.path.realpath(binary)
    npos = 1
    ob = fl = fn = ""
    owner = "libc"
    skip_next = False
    split = {"library": 0, "harness": 0, "libc": 0}
    with open(path) as f:
        for line in f:
            if not line or line == "\n":
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:       # inclusive cost of a call: not self cost
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) > npos:
                    split[owner] += int(parts[npos])
                continue
            key, eq, val = line.rstrip("\n").partition("=")
            if not eq:
                if line.startswith("positions:"):
                    npos = len(line.split()) - 1
                continue
            if key in kind_of:
                v = name(kind_of[key], val)
                if key == "ob":
                    ob = v
                elif key == "fl":
                    fl = v
                elif key == "fn":
                    fn = v
                    owner = classify(ob, fl, binary)
            elif key == "calls":
                skip_next = True
    return split


def classify(ob, fl, binary):
    base = os.path.basename(ob)
    if base.startswith("libraft") and ".so" in base:
        return "library"
    if ob and os.path.realpath(ob) == binary:
        return "harness" if fl.endswith(HARNESS_SOURCE) else "library"
    return "libc"


def run_callgrind(opts, label, path, sc):
    n = opts["entries"] and min(opts["entries"], sc["instr"]) or sc["instr"]
    os.makedirs(opts["outdir"], exist_ok=True)
    out = os.path.join(opts["outdir"], "callgrind.%s.%s.out" % (label, sc["name"]))
    prefix = opts["valgrind"].split() + [
        "--tool=callgrind", "--collect-atstart=no",
        "--toggle-collect=measured_run", "--callgrind-out-file=" + out]
    row = run_once(path, sc["name"], n, prefix)
    if row is None or not row["entries"]:
        return None
    split = callgrind_split(out, path)
    e = row["entries"]
    return {"total": sum(split.values()) / e, "lib": split["library"] / e,
            "harness": split["harness"] / e, "libc": split["libc"] / e,
            "entries": int(e)}


# ------------------------------------------------------------ output

def fmt_eps(v):
    return "%.2f M" % (v / 1e6) if v >= 1e6 else "%.0f k" % (v / 1e3)


def msgs_note(r):
    if r["reads"]:
        return "%d AE (%d empty), %d read rounds" % (r["ae"], r["ae_empty"], r["read_rounds"])
    return "%d AE (%d empty)" % (r["ae"], r["ae_empty"])


def target(name, cpu_x, lib_x, msgs_x):
    # cpu_x, lib_x: the other library's figure / ours; msgs_x: ours / the other's
    """Issue 18's targets for libraft against the C library it replaces:
    2x less CPU per entry (for 1 KiB and 16 KiB entries, where copying and
    allocating the payload dominate: half the library's own instructions,
    and not slower), never slower; with reads every tick, at most 1.2x the
    messages."""
    miss = []
    if re.search(r"-(1k|16k)-", name):
        if lib_x is None or lib_x < 2.0:
            miss.append("Ir lib < 2x")
        if cpu_x < 1.0:
            miss.append("slower")
    elif cpu_x < 2.0:
        miss.append("CPU < 2x" if cpu_x >= 1.0 else "slower")
    if "-read-" in name and msgs_x > 1.2:
        miss.append("msgs > 1.2x")
    return "met" if not miss else "no: " + ", ".join(miss)


def paired(all_sc, results, bins):
    """One row per scenario for two libraries: A's figure, B's, B/A."""
    a, b = bins[0][0], bins[1][0]
    hdr = ["scenario", "entries/s %s" % a, "entries/s %s" % b,
           "ns CPU/e %s" % a, "ns CPU/e %s" % b, "CPU %s/%s" % (b, a),
           "Ir/e lib %s" % a, "Ir/e lib %s" % b, "Ir lib %s/%s" % (b, a),
           "messages %s" % a, "messages %s" % b, "target"]
    rows = []
    for sc in all_sc:
        ra, rb = results[(sc["name"], a)], results[(sc["name"], b)]
        xa, xb = ra["row"], rb["row"]
        if xa is None or xb is None:
            rows.append([sc["name"], "FAILED"] + [""] * (len(hdr) - 2))
            continue
        ia, ib = ra.get("instr"), rb.get("instr")
        cpu_x = xb["cpu_ns"] / xa["cpu_ns"]
        lib_x = ib["lib"] / ia["lib"] if ia and ib else None

        def msgs(r):
            m = "%.2f/e" % (r["msgs"] / r["entries"])
            if r["reads"] or r["ae_empty"] > r["entries"] / 100:
                m += ", %d AE, %d empty" % (r["ae"], r["ae_empty"])
            return m
        rows.append([sc["name"], fmt_eps(xa["eps"]), fmt_eps(xb["eps"]),
                     "%.0f" % xa["cpu_ns"], "%.0f" % xb["cpu_ns"], "%.2f" % cpu_x,
                     "%.0f" % ia["lib"] if ia else "-", "%.0f" % ib["lib"] if ib else "-",
                     "%.2f" % lib_x if lib_x else "-", msgs(xa), msgs(xb),
                     target(sc["name"], cpu_x, lib_x, xa["msgs"] / xb["msgs"])])
    return hdr, rows


def main():
    opts = parse_args(sys.argv[1:])
    bins = opts["bins"]
    all_sc = scenarios_of(bins[0][1])
    if opts["scenarios"]:
        known = {s["name"]: s for s in all_sc}
        for s in opts["scenarios"]:
            if s not in known:
                sys.exit("bench.py: unknown scenario %s" % s)
        all_sc = [known[s] for s in opts["scenarios"]]

    results = {}
    failed = 0
    for sc in all_sc:
        best = {}
        for _ in range(opts["repeat"]):
            for label, path in bins:
                row = run_once(path, sc["name"], opts["entries"])
                if row is None or row["status"] != "ok":
                    failed += 1
                    continue
                if label not in best or row["cpu_ns"] < best[label]["cpu_ns"]:
                    best[label] = row
        for label, _ in bins:
            results[(sc["name"], label)] = {"row": best.get(label)}
        line = "  ".join("%s %s %.0f ns/e" % (label, sc["name"], best[label]["cpu_ns"])
                         for label, _ in bins if label in best)
        sys.stderr.write("timed: %s\n" % line)

    if opts["instr"]:
        for sc in all_sc:
            for label, path in bins:
                ins = run_callgrind(opts, label, path, sc)
                if ins is None:
                    failed += 1
                results[(sc["name"], label)]["instr"] = ins
                if ins:
                    sys.stderr.write("callgrind: %s %s %.0f Ir/e (library %.0f)\n" % (
                        label, sc["name"], ins["total"], ins["lib"]))

    ours = bins[0][0]
    hdr = ["scenario", "library", "entries/s", "ns CPU/e", "Ir/e all", "Ir/e lib",
           "msgs/e", "messages"]
    if len(bins) > 1:
        hdr += ["CPU x/this", "Ir lib x/this", "target"]
    rows = []
    for sc in all_sc:
        base = results[(sc["name"], ours)]
        for label, _ in bins:
            r = results[(sc["name"], label)]
            row, ins = r["row"], r.get("instr")
            if row is None:
                rows.append([sc["name"], label, "FAILED"] + [""] * (len(hdr) - 3))
                continue
            cells = [sc["name"], label, fmt_eps(row["eps"]), "%.0f" % row["cpu_ns"],
                     "%.0f" % ins["total"] if ins else "-",
                     "%.0f" % ins["lib"] if ins else "-",
                     "%.2f" % (row["msgs"] / row["entries"]), msgs_note(row)]
            if len(bins) > 1:
                if label == ours or base["row"] is None:
                    cells += ["", "", ""]
                else:
                    cpu_x = row["cpu_ns"] / base["row"]["cpu_ns"]
                    bi = base.get("instr")
                    lib_x = ins["lib"] / bi["lib"] if ins and bi else None
                    cells.append("%.2f" % cpu_x)
                    cells.append("%.2f" % lib_x if lib_x else "-")
                    cells.append(target(sc["name"], cpu_x, lib_x,
                                        base["row"]["msgs"] / row["msgs"]))
                    if row["reads"]:
                        cells[7] += "; %s/this %.2f" % (ours, base["row"]["msgs"] / row["msgs"])
            rows.append(cells)

    if opts["paired"] and len(bins) == 2:
        hdr, rows = paired(all_sc, results, bins)
    if opts["markdown"]:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        w = [max(len(hdr[i]), *(len(r[i]) for r in rows)) for i in range(len(hdr))]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
        for r in rows:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
    if len(bins) > 1 and not opts["paired"]:
        print("ratio columns: the other library's figure divided by %s's "
              "(above 1: %s is cheaper)" % (ours, ours))
    if opts["instr"]:
        print("Ir/e: instructions per entry under callgrind, measured phase only "
              "(all: whole process; lib: the library's own functions)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
