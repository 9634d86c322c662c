#!/usr/bin/env python3
"""Fault test of the kvstore example: three kvserver processes on
127.0.0.1, clients writing and reading a few keys while a nemesis kills
nodes with SIGKILL (the leader more often than not) and restarts them from
their stores, now and then kills every node at once, moves the leadership
(TRANSFER), and isolates nodes by closing and refusing their connections
(PARTITION/HEAL). At the end the cluster is healed, every key is read back
through the leader, every node's state is compared once caught up, and the
history of client operations is checked for linearizability per key
(linearizability.py). An acknowledged write that is lost shows up there: a
later read would have to return an older value.

  faulttest.py --bin build/kvstore --seconds 20 [--port BASE] [--seed N]

Prints plain lines and ends with PASS or FAIL (exit status 0 or 1). Every
process it starts is killed when it ends, fails or is interrupted.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linearizability  # noqa: E402
from ports import free_base  # noqa: E402

N = 3
KEYS = ["k%d" % i for i in range(5)]


class Cluster:
    def __init__(self, binpath, port, data):
        self.bin = binpath
        self.port = port
        self.data = data
        self.procs = {}
        self.addr = {i: "127.0.0.1:%d" % (port + i - 1) for i in range(1, N + 1)}
        self.peers = ",".join("%d=%s" % (i, a) for i, a in self.addr.items())

    def start(self, i):
        log = open(os.path.join(self.data, "%d.log" % i), "a")
        self.procs[i] = subprocess.Popen(
            [os.path.join(self.bin, "kvserver"), "--id", str(i), "--dir", os.path.join(self.data, str(i)),
             "--peers", self.peers, "--enable-faults", "--snapshot-entries", "300", "--snapshot-chunk", "64",
             "--election-timeout", "300", "--request-timeout", "60"],
            stdout=log, stderr=log)
        log.close()

    def kill(self, i):
        p = self.procs.pop(i, None)
        if p:
            p.kill()
            p.wait()

    def alive(self):
        return [i for i, p in self.procs.items() if p.poll() is None]

    def stop_all(self):
        for i in list(self.procs):
            self.kill(i)

    def command(self, i, line, timeout=2.0):
        try:
            with socket.create_connection(("127.0.0.1", self.port + i - 1), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall((line + "\n").encode())
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    buf += chunk
                return buf.decode().strip()
        except OSError:
            return None

    def status(self, i):
        r = self.command(i, "STATUS", 1.0)
        if not r or not r.startswith("STATUS"):
            return None
        return dict(kv.split("=", 1) for kv in r.split()[1:])

    def leader(self):
        for i in self.alive():
            st = self.status(i)
            if st and st["state"] == "leader":
                return i
        return None


class Client(threading.Thread):
    """One client: a persistent connection, following redirects."""

    def __init__(self, cid, cluster, history, lock, stop, seed):
        super().__init__(daemon=True)
        self.cid, self.c, self.history, self.lock, self.stop = cid, cluster, history, lock, stop
        self.rng = random.Random(seed)
        self.sock = None
        self.target = self.rng.randint(1, N)
        self.n = 0
        self.counts = {"ok": 0, "fail": 0, "unknown": 0}

    def connect(self):
        self.close()
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.c.port + self.target - 1), timeout=1.0)
            self.sock.settimeout(1.5)
            self.buf = b""
        except OSError:
            self.sock = None
            self.target = self.rng.randint(1, N)
            time.sleep(0.05)

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def request(self, line):
        """Returns the reply line, or None when the outcome is unknown."""
        if not self.sock:
            self.connect()
            if not self.sock:
                return "NOCONN"
        try:
            self.sock.sendall((line + "\n").encode())
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("closed")
                self.buf += chunk
            reply, self.buf = self.buf.split(b"\n", 1)
            return reply.decode()
        except OSError:
            self.close()
            self.target = self.rng.randint(1, N)
            return None

    def run(self):
        while not self.stop.is_set():
            time.sleep(self.rng.uniform(0, 0.004))  # bounds the history's size
            key = self.rng.choice(KEYS)
            r = self.rng.random()
            if r < 0.45:
                kind, value = "w", "c%d-%d" % (self.cid, self.n)
                self.n += 1
                line = "SET %s %s" % (key, value)
            elif r < 0.5:
                kind, value, line = "w", None, "DEL %s" % key
            else:
                kind, value, line = "r", None, "GET %s" % key
            call = time.monotonic()
            reply = self.request(line)
            ret = time.monotonic()
            op = {"key": key, "kind": kind, "value": value, "call": call, "ret": ret, "client": self.cid}
            if reply == "NOCONN":
                continue  # never sent
            if reply is not None and reply.startswith("REDIRECT "):
                self.target = int(reply.split()[1])
                self.close()
                self.counts["fail"] += 1
                continue  # refused: not appended anywhere
            if reply is None or reply == "ERR unknown outcome":
                if kind == "w":  # may or may not have taken effect
                    op["ret"] = None
                    with self.lock:
                        self.history.append(op)
                self.counts["unknown"] += 1
                continue
            if kind == "w" and reply == "OK":
                pass
            elif kind == "r" and reply.startswith("VALUE "):
                op["value"] = reply[6:]
            elif kind == "r" and reply == "NOTFOUND":
                op["value"] = None
            else:  # ERR no leader, not committed, ...: definitely not applied
                self.counts["fail"] += 1
                if reply.startswith("ERR no leader"):
                    time.sleep(0.05)
                continue
            self.counts["ok"] += 1
            with self.lock:
                self.history.append(op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/kvstore")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--port", type=int, default=0, help="base port (0: pick free ports)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    a = ap.parse_args()
    if a.port == 0:
        a.port = free_base(N)
    seed = a.seed if a.seed is not None else int(time.time()) % 100000
    rng = random.Random(seed)
    data = tempfile.mkdtemp(prefix="kvfault.")
    c = Cluster(a.bin, a.port, data)
    stop = threading.Event()
    ok = False

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    print("kv-fault: seed %d, %d s, %d clients, data in %s" % (seed, a.seconds, a.clients, data))
    try:
        for i in range(1, N + 1):
            c.start(i)
        t0 = time.monotonic()
        while c.leader() is None:
            if time.monotonic() - t0 > 20:
                raise RuntimeError("no leader elected")
            time.sleep(0.1)
        history, lock = [], threading.Lock()
        clients = [Client(k, c, history, lock, stop, seed * 100 + k) for k in range(a.clients)]
        for cl in clients:
            cl.start()
        kills = partitions = transfers = wipeouts = 0
        end = time.monotonic() + a.seconds
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.5, 1.5))
            r = rng.random()
            if r < 0.08:
                print("kv-fault: [%5.1fs] SIGKILL every node" % (a.seconds - (end - time.monotonic())))
                for i in range(1, N + 1):
                    c.kill(i)
                kills += N
                wipeouts += 1
                time.sleep(rng.uniform(0.2, 1.0))
                for i in range(1, N + 1):
                    c.start(i)
                print("kv-fault: [%5.1fs] restarted every node" % (a.seconds - (end - time.monotonic())))
            elif r < 0.15:
                lead = c.leader()
                if lead:
                    to = rng.choice([i for i in range(1, N + 1) if i != lead])
                    reply = c.command(lead, "TRANSFER %d" % to, timeout=5.0)
                    print("kv-fault: [%5.1fs] TRANSFER %d -> %d: %s" % (a.seconds - (end - time.monotonic()), lead, to, reply))
                    transfers += 1
            elif r < 0.6:
                victim = c.leader() if rng.random() < 0.7 else None
                victim = victim or rng.randint(1, N)
                print("kv-fault: [%5.1fs] SIGKILL node %d%s" % (a.seconds - (end - time.monotonic()), victim,
                                                             " (leader)" if victim == c.leader() else ""))
                c.kill(victim)
                kills += 1
                time.sleep(rng.uniform(0.3, 2.0))
                c.start(victim)
                print("kv-fault: [%5.1fs] restarted node %d" % (a.seconds - (end - time.monotonic()), victim))
            else:
                victim = c.leader() if rng.random() < 0.5 else None
                victim = victim or rng.randint(1, N)
                others = [i for i in range(1, N + 1) if i != victim]
                print("kv-fault: [%5.1fs] isolating node %d" % (a.seconds - (end - time.monotonic()), victim))
                c.command(victim, "PARTITION " + ",".join(map(str, others)))
                for o in others:
                    c.command(o, "PARTITION %d" % victim)
                partitions += 1
                time.sleep(rng.uniform(0.5, 2.5))
                for i in range(1, N + 1):
                    c.command(i, "HEAL")
                print("kv-fault: [%5.1fs] healed" % (a.seconds - (end - time.monotonic())))
        stop.set()
        for cl in clients:
            cl.join(5)
        # Heal, make sure everyone runs, read every key back via the leader.
        for i in range(1, N + 1):
            if i not in c.alive():
                c.start(i)
            c.command(i, "HEAL")
        final = Client(99, c, history, lock, threading.Event(), seed)
        t0 = time.monotonic()
        for key in KEYS:
            while True:
                call = time.monotonic()
                reply = final.request("GET " + key)
                ret = time.monotonic()
                if reply and (reply.startswith("VALUE ") or reply == "NOTFOUND"):
                    history.append({"key": key, "kind": "r", "value": reply[6:] if reply.startswith("VALUE ") else None,
                                    "call": call, "ret": ret, "client": 99})
                    break
                if reply and reply.startswith("REDIRECT "):
                    final.target = int(reply.split()[1])
                    final.close()
                if time.monotonic() - t0 > 30:
                    raise RuntimeError("final reads: no answer in 30 s")
                time.sleep(0.05)
        # Every node ends with the same state.
        t0 = time.monotonic()
        while True:
            sts = [c.status(i) for i in range(1, N + 1)]
            if all(sts) and len({s["applied"] for s in sts}) == 1 and all(s["applied"] == s["commit"] for s in sts):
                states = [[c.command(i, "GETLOCAL " + k) for k in KEYS] for i in range(1, N + 1)]
                if all(s == states[0] for s in states):
                    break
            if time.monotonic() - t0 > 30:
                raise RuntimeError("nodes did not converge: %s" % sts)
            time.sleep(0.2)
        totals = {k: sum(cl.counts[k] for cl in clients) for k in ("ok", "fail", "unknown")}
        print("kv-fault: %d SIGKILLs (%d times the whole cluster), %d partitions, %d transfers; %d operations acknowledged, "
              "%d refused, %d with unknown outcome"
              % (kills, wipeouts, partitions, transfers, totals["ok"], totals["fail"], totals["unknown"]))
        if totals["ok"] < 50:
            raise RuntimeError("too little progress (%d acknowledged operations)" % totals["ok"])
        t0 = time.monotonic()
        lin, bad = linearizability.check(history)
        print("kv-fault: history of %d operations on %d keys checked in %.1f s: %s"
              % (len(history), len(KEYS), time.monotonic() - t0, "linearizable" if lin else "NOT linearizable"))
        for k, why in bad.items():
            print("kv-fault:   key %s: %s" % (k, why))
        print("kv-fault: all %d nodes agree on every key after healing" % N)
        taken = loaded = restarts = 0
        for i in range(1, N + 1):
            with open(os.path.join(data, "%d.log" % i)) as f:
                for line in f:
                    taken += "; log compacted" in line
                    loaded += "loaded a snapshot" in line
                    restarts += "started:" in line and "snapshot at 0," not in line
        print("kv-fault: %d snapshots taken, %d received in chunks by lagging nodes, %d restarts from a snapshot"
              % (taken, loaded, restarts))
        ok = lin
    except (RuntimeError, KeyboardInterrupt) as e:
        print("kv-fault: error: %s" % (e or "interrupted"))
    finally:
        stop.set()
        c.stop_all()
        if not ok:
            for i in range(1, N + 1):
                p = os.path.join(data, "%d.log" % i)
                if os.path.exists(p):
                    print("--- node %d log (tail)" % i)
                    with open(p) as f:
                        for line in f.readlines()[-12:]:
                            print(line.rstrip())
        if not a.keep:
            shutil.rmtree(data, ignore_errors=True)
    print("kv-fault: %s (seed %d)" % ("PASS" if ok else "FAIL", seed))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
